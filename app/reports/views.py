"""Report pages, their pictures and their exports: managers see their facilities, admins all."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _

from app import access, dates
from app.accounts import security
from app.errors import BadRequest, NotFound
from app.reports import exports, plots, queries
from app.reports.queries import Period, Scope
from app.reports.report import TABLE_KEYS, Report, Series, compute

bp = Blueprint("reports", __name__, url_prefix="/reports")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An SVG made by matplotlib styles itself inline and carries no script.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"

PICTURES: dict[str, tuple[Callable[[Series], bytes], Callable[[Report], Series]]] = {
    "heatmap": (plots.heatmap_svg, lambda r: r.heatmap),
    "facilities": (plots.bars_svg, lambda r: r.facility_bars),
    "trend": (plots.trend_svg, lambda r: r.weekly_trend),
    "revenue": (plots.revenue_svg, lambda r: r.revenue_bars),
}


def _scope() -> Scope:
    timezone = current_app.config["DEFAULT_TIMEZONE"]
    return queries.read_scope(
        security.user(),
        request.args.to_dict(),
        today=dates.today_in(timezone),
        default_timezone=timezone,
    )


def _report() -> Report:
    scope = _scope()
    return compute(scope, queries.load(scope))


def _query(scope: Scope, period: Period | None = None) -> dict[str, str]:
    period = period or scope.period
    query = {"start": period.first_day.isoformat(), "end": period.last_day.isoformat()}
    if scope.facility:
        query["facility"] = scope.facility.slug
    return query


def _download(body: bytes, mimetype: str, name: str, scope: Scope) -> Response:
    """Return a file download named after the report, its facility and its period."""
    which = scope.facility.slug if scope.facility else "all"
    stem, _dot, extension = name.rpartition(".")
    period = f"{scope.period.first_day}-{scope.period.last_day}"
    filename = f"pilotslot-{stem}-{which}-{period}.{extension}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/")
def index() -> str:
    report = _report()
    return render_template(
        "reports/index.html",
        report=report,
        query=_query(report.scope),
        earlier=_query(report.scope, report.scope.period.shifted(-1)),
        later=_query(report.scope, report.scope.period.shifted(+1)),
        facilities=access.reportable_facilities(security.user()),
        alt={
            **plots.alt_texts(report.heatmap, report.facility_bars, report.weekly_trend),
            "revenue": plots.revenue_alt(report.revenue_bars),
        },
    )


@bp.get("/plots/<name>.svg")
def picture(name: str) -> Response:
    if name not in PICTURES:
        raise NotFound(_("No such picture."))
    report = _report()
    draw, series = PICTURES[name]
    response = Response(draw(series(report)), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/export/<key>.csv")
def table_csv(key: str) -> Response:
    if key not in TABLE_KEYS:
        raise NotFound(_("No such report table."))
    report = _report()
    if not report.has(key):
        raise NotFound(_("No such report table."))
    return _download(exports.table_csv(report.table(key)), "text/csv", f"{key}.csv", report.scope)


@bp.get("/export/report.xlsx")
def workbook() -> Response:
    report = _report()
    return _download(
        exports.tables_xlsx(report.tables), XLSX_MIMETYPE, "report.xlsx", report.scope
    )


@bp.get("/export/schedule.csv")
def schedule_csv() -> Response:
    scope = _scope()
    if scope.facility is None:
        raise BadRequest(_("Choose a facility for its schedule."), field="facility")
    rows = queries.schedule(scope.facility, scope.period.interval)
    body = exports.schedule_csv(rows, scope.facility.timezone)
    return _download(body, "text/csv", "schedule.csv", scope)
