"""The public catalogue pages: facilities with filters, one facility, one equipment unit, and
the capabilities and units that fit a need described in words."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from app import access
from app.accounts import security
from app.catalog import labels, matching, queries
from app.catalog.hours import weekly_table
from app.catalog.models import Direction, FacilityKind
from app.dbtypes import utcnow

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


@bp.get("/facilities/<slug>")
def facility_detail(slug: str) -> str:
    facility = queries.get_facility(slug)
    now = utcnow()
    show_retired = request.args.get("retired") == "1"
    units = [u for u in facility.equipment if show_retired or u.is_active]
    return render_template(
        "catalog/facility_detail.html",
        facility=facility,
        units=units,
        show_retired=show_retired,
        retired_count=sum(1 for u in facility.equipment if not u.is_active),
        hours=weekly_table(facility.opening_hours),
        closures=queries.upcoming_closures(facility, now),
    )


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
