"""The reports JSON API under /api/v1/reports: the tables of the report pages, as data.

Managers read their facilities, administrators all; everyone else gets 404. The figures come
from the same `queries.load()` and `report.compute()` as the pages and the exports."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from pydantic import Field

from app import dates, openapi
from app.accounts import security
from app.apitypes import Answer, Day, Query
from app.errors import NotFound
from app.reports import queries
from app.reports import report as computed
from app.reports.report import TABLE_KEYS, Table, compute

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")


def _report() -> computed.Report:
    """Compute the report the query string asks for; 400 names a bad parameter."""
    timezone = current_app.config["DEFAULT_TIMEZONE"]
    scope = queries.read_scope(
        security.user(),
        request.args.to_dict(),
        today=dates.today_in(timezone),
        default_timezone=timezone,
    )
    return compute(scope, queries.load(scope))


class Column(Answer):
    key: str
    title: str
    kind: Literal["text", "int", "hours", "percent", "number", "money"] = Field(
        description="percent cells are fractions (0.4 is 40 %); money cells are integer fen"
    )


class ReportTableData(Answer):
    """One table: its columns, and each row as an object keyed by the column keys."""

    key: Literal[tuple(TABLE_KEYS)]  # type: ignore[valid-type]
    title: str
    columns: list[Column]
    rows: list[dict[str, str | int | float | None]] = Field(
        description="one cell per column, keyed by the column's key"
    )

    @classmethod
    def of(cls, table: Table) -> ReportTableData:
        keys = [c.key for c in table.columns]
        return cls(
            key=table.key,
            title=table.title,
            columns=[Column(key=c.key, title=c.title, kind=c.kind) for c in table.columns],
            rows=[dict(zip(keys, row, strict=True)) for row in table.rows],
        )


class Period(Answer):
    start: Day
    end: Day
    timezone: str


class Envelope(Answer):
    period: Period
    facility: str | None
    facilities: list[str]

    @staticmethod
    def fields(report: computed.Report) -> dict[str, object]:
        scope = report.scope
        return {
            "period": Period(
                start=scope.period.first_day,
                end=scope.period.last_day,
                timezone=scope.period.timezone,
            ),
            "facility": scope.facility.slug if scope.facility else None,
            "facilities": [f.slug for f in scope.facilities],
        }


class Report(Envelope):
    """Every report table over a period."""

    tables: list[ReportTableData]


class ReportTable(Envelope):
    """One report table over a period."""

    table: ReportTableData


class ReportQuery(Query):
    start: Day | None = Field(
        None, description="first day, YYYY-MM-DD (default: three weeks before this Monday)"
    )
    end: Day | None = Field(
        None,
        description="last day, YYYY-MM-DD, inclusive (default: this Sunday); at most 366 days",
    )
    facility: str | None = Field(
        None, description="one facility's slug (default: every facility you may report on)"
    )


def _route(rule: str, summary: str, answer: type[Answer], **declared: Any) -> Any:
    return openapi.route(
        bp,
        rule,
        "GET",
        summary=summary,
        answer=answer,
        answer_description="The report",
        query=ReportQuery,
        errors=(400, 404),
        tags=("reports",),
        **declared,
    )


@_route(
    "",
    "Every report table over a period: utilisation per facility, unit, capability and week; "
    "demand; solver vs first come first served; waiting time; no-shows and cancellations; "
    "revenue, voucher use and no-show rate per month "
    "(managers: their facilities; administrators: all)",
    Report,
)
def whole(query: ReportQuery) -> Report:
    report = _report()
    return Report(**Envelope.fields(report), tables=[ReportTableData.of(t) for t in report.tables])


@_route(
    "/<key>",
    "One report table over a period",
    ReportTable,
    path_parameters={"key": {"type": "string", "enum": list(TABLE_KEYS)}},
)
def one_table(key: str, query: ReportQuery) -> ReportTable:
    if key not in TABLE_KEYS:
        raise NotFound(_("No such report table."))
    report = _report()
    if not report.has(key):
        raise NotFound(_("No such report table."))
    return ReportTable(**Envelope.fields(report), table=ReportTableData.of(report.table(key)))
