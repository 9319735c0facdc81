"""The public catalogue pages: facilities with filters, one facility, one equipment unit, and
the capabilities and units that fit a need described in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

from app import access, dataversion
from app.accounts import security
from app.catalog import labels, matching, queries
from app.catalog.hours import weekly_table
from app.catalog.models import Direction, FacilityKind
from app.dbtypes import utcnow
from app.i18n import localised

bp = Blueprint("catalog", __name__)


@bp.context_processor
def _labels() -> dict[str, object]:
    return {
        "KIND_LABELS": labels.KINDS,
        "DIRECTION_LABELS": labels.DIRECTIONS,
        "DAY_LABELS": labels.DAYS,
    }


bp.add_app_template_global(labels.capability_name, "capability_name")


@bp.get("/facilities")
def facility_list() -> str:
    wanted = queries.CatalogueFilter.from_args(request.args)
    return render_template(
        "catalog/facility_list.html",
        facilities=queries.search_facilities(wanted),
        wanted=wanted,
        kinds=list(FacilityKind),
        directions=list(Direction),
        cities=queries.cities(),
        capabilities_of=queries.capabilities_of,
        active_unit_count=queries.active_unit_count,
    )


@dataclass(frozen=True)
class FacilityPage:
    """A facility page's title and content, as every visitor in one language sees them."""

    title: str
    body: Markup
    timezone: str
    # The facility's local day the closures were picked for: a closure that has ended must
    # leave the page the next day, whether or not anything was written meanwhile.
    day: date


def _local_day(timezone: str) -> date:
    return utcnow().astimezone(ZoneInfo(timezone)).date()


def _render_facility(slug: str, show_retired: bool) -> FacilityPage:
    facility = queries.get_facility(slug)
    now = utcnow()
    units = [u for u in facility.equipment if show_retired or u.is_active]
    body = render_template(
        "catalog/_facility_detail.html",
        facility=facility,
        units=units,
        show_retired=show_retired,
        retired_count=sum(1 for u in facility.equipment if not u.is_active),
        hours=weekly_table(facility.opening_hours),
        closures=queries.upcoming_closures(facility, now),
    )
    return FacilityPage(
        title=localised(facility),
        body=Markup(body),
        timezone=facility.timezone,
        day=_local_day(facility.timezone),
    )


@bp.get("/facilities/<slug>")
def facility_detail(slug: str) -> str:
    show_retired = request.args.get("retired") == "1"
    # The content depends only on the catalogue, the language and the link prefix; the page
    # around it (the user's menu, the CSRF token, flashed messages) is rendered every time.
    key = (slug, show_retired, str(get_locale()), request.script_root)
    pages = dataversion.cache("facility-pages")
    token = dataversion.current(dataversion.CATALOGUE)
    page: FacilityPage | None = pages.get(token, key)
    if page is None or page.day != _local_day(page.timezone):
        page = _render_facility(slug, show_retired)
        pages.put(token, key, page)
    return render_template("catalog/facility_detail.html", page=page)


@bp.get("/equipment/<slug>")
def equipment_detail(slug: str) -> str:
    unit = queries.get_equipment(slug)
    return render_template(
        "catalog/equipment_detail.html",
        unit=unit,
        facility=unit.facility,
        hours=weekly_table(unit.opening_hours) if isinstance(unit.opening_hours, dict) else None,
        maintenance=queries.upcoming_maintenance(unit, utcnow()),
        maintenance_reasons=access.can_see_maintenance_reasons(security.request_user()),
        closures=queries.upcoming_closures(unit.facility, utcnow()),
    )


@bp.get("/match")
def need_match() -> str:
    text = request.args.get("q", "")
    matches: list[matching.Match] = []
    if text.strip():
        matches = matching.current_matcher().match(matching.read_need(text))
    return render_template(
        "catalog/match.html",
        need=text.strip(),
        max_need=matching.MAX_NEED,
        matches=matches,
        units=matching.units_of(matches),
    )
