"""What the booking pages show: reads shaped for templates (choices, summaries, timelines).

Only reads and formatting live here; every rule and every write is a booking service's.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel.lists import format_list
from flask import current_app, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from app import access, dates
from app.accounts.models import Project, Training, User
from app.booking import bookings as booking_service
from app.booking import proposals as proposal_service
from app.booking import requests as request_service
from app.booking import timeline
from app.booking.models import (
    AuditEvent,
    BookingRequest,
    Proposal,
    ProposalItem,
    ProposalStatus,
    RequestStatus,
    SolveRun,
)
from app.catalog.hours import open_windows
from app.catalog.labels import capability_name
from app.catalog.models import (
    Equipment,
    Facility,
    MaintenanceWindow,
)
from app.dbtypes import utcnow
from app.extensions import db
from app.i18n import current_language, localised

if TYPE_CHECKING:
    from wtforms import SelectField

    from app.booking.forms import RequestForm

OPEN_STATES = (RequestStatus.PENDING, RequestStatus.PROPOSED, RequestStatus.UNPLACED)


def _locale() -> str:
    return str(get_locale() or "en")


def timezone_of(facility_id: int | None) -> str:
    """Return the time zone in which a request's times are entered."""
    facility = db.session.get(Facility, facility_id) if facility_id else None
    return facility.timezone if facility else str(current_app.config["DEFAULT_TIMEZONE"])


def fill_request_choices(form: RequestForm, user: User, *, facility_required: bool) -> None:
    """Fill the project, facility, capability and unit choices of a request form."""
    projects = access.project_choices(user)
    form.project_id.choices = [(p.id, p.name) for p in projects]
    facilities = db.session.scalars(
        select(Facility).where(Facility.active.is_(True)).order_by(Facility.slug)
    ).all()
    facility_choices = [(f.id, localised(f)) for f in facilities]
    if facility_required:
        form.facility_id.choices = [(0, _("Choose a facility"))] + facility_choices
    else:
        form.facility_id.choices = [(0, _("Any facility"))] + facility_choices
    # What the project may use comes first: units needing no training or on which a member
    # is trained, and the capabilities such a unit offers. The rest stays offered (training
    # may come before the solve) and says that it needs training; the service judges.
    project_ids = [p.id for p in projects]
    chosen = form.project_id.data
    project_id = chosen if chosen in project_ids else next(iter(project_ids), None)
    trained = request_service.trained_unit_ids(project_id) if project_id else set()
    units: dict[str, list[tuple[int, str, dict[str, str]]]] = {}
    offered: dict[str, set[int]] = {}
    usable_capabilities: set[str] = set()
    for facility in facilities:
        active = [u for u in facility.equipment if u.is_active]
        usable = {u.id for u in active if not u.training_required or u.id in trained}
        for unit in active:
            for name in unit.capability_names:
                offered.setdefault(name, set()).add(facility.id)
                if unit.id in usable:
                    usable_capabilities.add(name)
        if active:
            units[localised(facility)] = [
                (u.id, localised(u), _unit_attributes(u))
                if u.id in usable
                else (
                    u.id,
                    _("%(unit)s (training needed)", unit=localised(u)),
                    {**_unit_attributes(u), "data-needs-training": "true"},
                )
                for u in sorted(active, key=lambda u: u.id not in usable)
            ]
    capability_choices: list[tuple[str, str] | tuple[str, str, dict[str, str]]] = [
        ("", _("— by unit —"))
    ]
    for name in sorted(offered, key=lambda c: (c not in usable_capabilities, capability_name(c))):
        where = {"data-facilities": " ".join(str(i) for i in sorted(offered[name]))}
        if name in usable_capabilities:
            capability_choices.append((name, capability_name(name), where))
        else:
            label = _("%(capability)s (training needed)", capability=capability_name(name))
            capability_choices.append((name, label, {**where, "data-needs-training": "true"}))
    for entry in form.steps:
        entry.form.capability.choices = capability_choices
        entry.form.unit_ids.choices = units


def _unit_attributes(unit: Equipment) -> dict[str, str]:
    """Say on a unit's option where it is and what it offers, for the form's script."""
    return {
        "data-facility": str(unit.facility_id),
        "data-capabilities": " ".join(sorted(unit.capability_names)),
    }


def prefill_unit(form: RequestForm, slug: str, week: str | None) -> None:
    """Start a request for one unit ("request this unit"), in the week looked at if given."""
    unit = db.session.scalar(select(Equipment).where(Equipment.slug == slug))
    if unit is None or not unit.is_active or not unit.facility.active:
        return
    form.facility_id.data = unit.facility_id
    form.steps[0].form.unit_ids.data = [unit.id]
    if not week:
        return
    zone = ZoneInfo(unit.facility.timezone)
    monday = datetime.combine(week_start(week, unit.facility.timezone), time(0), zone)
    next_hour = (
        (utcnow() + timedelta(hours=1)).astimezone(zone).replace(minute=0, second=0, microsecond=0)
    )
    start = max(monday, next_hour)
    if start < monday + timedelta(days=7):
        form.earliest_start.data = start.replace(tzinfo=None)
        form.deadline.data = (monday + timedelta(days=7)).replace(tzinfo=None)


def share_step_choices(form: RequestForm) -> None:
    """Give step rows added after the choices were filled the first row's choices."""
    first = form.steps[0].form
    for entry in form.steps[1:]:
        entry.form.capability.choices = first.capability.choices
        entry.form.unit_ids.choices = first.unit_ids.choices


def form_data(req: BookingRequest) -> dict[str, Any]:
    """Return a request as the initial data of its edit form (times in its facility's zone)."""
    facility = request_service.request_facility(req)
    zone = ZoneInfo(facility.timezone)
    return {
        "project_id": req.project_id,
        "title": req.title,
        "facility_id": facility.id,
        "earliest_start": req.earliest_start.astimezone(zone).replace(tzinfo=None),
        "deadline": req.deadline.astimezone(zone).replace(tzinfo=None),
        "priority_reason": req.priority_reason,
        "steps": [
            {
                "capability": step.capability or "",
                "unit_ids": [u.id for u in step.units],
                "duration_hours": _hours(step.duration_minutes),
                "min_gap_hours": _hours(step.min_lag_minutes),
                "max_gap_hours": _hours(step.max_lag_minutes),
                "attended": step.attended,
                "note": step.note,
            }
            for step in req.steps
        ],
    }


def _hours(minutes: int | None) -> Any:
    from decimal import Decimal

    return None if minutes is None else Decimal(minutes) / 60


def fill_unit_choices(
    field: SelectField, facility: Facility, *, only_training: bool = False
) -> None:
    """Offer the facility's active units (only those that need training, when asked)."""
    field.choices = [
        (u.id, localised(u))
        for u in facility.equipment
        if u.is_active and (u.training_required or not only_training)
    ]


def all_project_choices() -> list[tuple[int, str]]:
    """Return every project, for a manager booking on a project's behalf."""
    return [(p.id, p.name) for p in db.session.scalars(select(Project).order_by(Project.name))]


def proposed_items(req: BookingRequest) -> list[ProposalItem]:
    """Return where the current draft proposal would place the request's steps."""
    return list(
        db.session.scalars(
            select(ProposalItem)
            .join(Proposal)
            .where(
                ProposalItem.request_id == req.id,
                Proposal.status == ProposalStatus.DRAFT.value,
            )
            .order_by(ProposalItem.start)
        )
    )


# ---------------------------------------------------------------- dashboard


def dashboard(user: User) -> dict[str, Any]:
    """Return the member's requests grouped by state and their upcoming bookings."""
    member = access.has_projects(user)
    requests = request_service.list_requests(user) if member else []
    mine = [r for r in requests if access.is_member(user, r.project_id)]
    by_state: dict[str, list[BookingRequest]] = {}
    for req in sorted(mine, key=lambda r: r.created_at, reverse=True):
        by_state.setdefault(req.status, []).append(req)
    upcoming = (
        booking_service.list_bookings(user, start=utcnow(), end=utcnow() + timedelta(days=60))
        if member
        else []
    )
    upcoming = [b for b in upcoming if access.is_member(user, b.request.project_id)]
    order = [s.value for s in RequestStatus]
    return {
        "by_state": sorted(by_state.items(), key=lambda item: order.index(item[0])),
        "upcoming": sorted(upcoming, key=lambda b: b.start)[:10],
    }


# ---------------------------------------------------------------- availability


def week_start(value: str | None, tz: str) -> date:
    """Return the Monday of the asked week (default: this week in the zone); BadRequest naming
    `week` when it is not a supported date."""
    day = dates.parse_day(value, "week") if value else dates.today_in(tz)
    return day - timedelta(days=day.weekday())


def availability_view(unit: Equipment, monday: date, viewer: User) -> dict[str, Any]:
    """Return the week's busy blocks of a unit as a day-by-day SVG and a list."""
    tz = unit.facility.timezone
    zone = ZoneInfo(tz)
    start = datetime.combine(monday, time(0), zone)
    end = start + timedelta(days=7)
    blocks = booking_service.availability(unit, start, end, viewer)
    drawn: list[timeline.Bar | timeline.Shade] = []
    for block in blocks:
        kind = block.get("kind", "booking")
        if kind in ("maintenance", "closure"):
            shade_kind = timeline.MAINTENANCE if kind == "maintenance" else timeline.CLOSED
            drawn.append(
                timeline.Shade(
                    None, block["start"], block["end"], shade_kind, block.get("title", "")
                )
            )
        else:
            state = timeline.OWN if block.get("own") else timeline.BUSY
            drawn.append(
                timeline.Bar("", block["start"], block["end"], block.get("title", ""), state)
            )
    drawn.extend(_closed_hours(unit, start, end))
    lanes, bars, shades, axis_start, axis_end = timeline.week_view(
        drawn, monday=monday, tz=tz, locale=_locale()
    )
    svg = timeline.render_timeline(
        lanes,
        bars,
        shades,
        start=axis_start,
        end=axis_end,
        tz=tz,
        locale=_locale(),
        ticks="hours",
        caption=_("Availability of %(unit)s", unit=localised(unit)),
        legend=[
            (timeline.OWN, _("Your booking")),
            (timeline.BUSY, _("Booked")),
            (timeline.MAINTENANCE, _("Maintenance")),
            (timeline.CLOSED, _("Closed")),
        ],
        id_prefix="week",
    )
    return {"svg": svg, "blocks": blocks, "tz": tz}


def approval_question(proposal: Proposal) -> str:
    """Say what approving the proposal does: how many bookings, for whom, what moves."""
    placed = [item for item in proposal.items if not item.pinned]
    projects = sorted({item.request.project.name for item in placed})
    question = ngettext(
        "Publish %(num)d booking for %(projects)s? The project sees it at once and its "
        "calendar feeds show it.",
        "Publish %(num)d bookings for %(projects)s? The projects see them at once and their "
        "calendar feeds show them.",
        len(placed),
        projects=format_list(projects, locale=current_language()) if projects else "—",
    )
    diff = proposal_service.diff_against_published(proposal)
    if diff["moved"] or diff["dropped"]:
        question += " " + _(
            "Published bookings moved: %(moved)d; dropped: %(dropped)d.",
            moved=len(diff["moved"]),
            dropped=len(diff["dropped"]),
        )
    return question


def _closed_hours(unit: Equipment, start: datetime, end: datetime) -> list[timeline.Shade]:
    return timeline.closed_shades("", open_windows(unit, start, end), start, end)


# ---------------------------------------------------------------- managers


def _last_run(facility: Facility) -> SolveRun | None:
    return db.session.scalar(
        select(SolveRun)
        .where(SolveRun.facility_id == facility.id)
        .order_by(SolveRun.created_at.desc(), SolveRun.id.desc())
        .limit(1)
    )


def _draft(facility: Facility) -> Proposal | None:
    return db.session.scalar(
        select(Proposal)
        .where(Proposal.facility_id == facility.id, Proposal.status == ProposalStatus.DRAFT.value)
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
        .limit(1)
    )


def facility_summary(user: User, facility: Facility) -> dict[str, Any]:
    """Return a facility's line on the manage home: counts by state, last run, draft."""
    counts = Counter(
        r.status for r in request_service.list_requests(user, facility_id=facility.id)
    )
    return {
        "facility": facility,
        "counts": counts,
        "last_run": _last_run(facility),
        "draft": _draft(facility),
    }


def manage_view(user: User, facility: Facility) -> dict[str, Any]:
    """Return what the facility manage page lists."""
    requests = request_service.list_requests(user, facility_id=facility.id)
    now = utcnow()
    runs = db.session.scalars(
        select(SolveRun)
        .where(SolveRun.facility_id == facility.id)
        .order_by(SolveRun.created_at.desc(), SolveRun.id.desc())
        .limit(5)
    ).all()
    maintenance = db.session.scalars(
        select(MaintenanceWindow)
        .join(Equipment)
        .where(
            Equipment.facility_id == facility.id,
            MaintenanceWindow.end > now,
            MaintenanceWindow.cancelled_at.is_(None),
        )
        .order_by(MaintenanceWindow.start)
    ).all()
    return {
        "open_requests": [r for r in requests if r.status in OPEN_STATES],
        "runs": runs,
        "draft": _draft(facility),
        "bookings": booking_service.list_bookings(
            user, facility_id=facility.id, start=now, end=now + timedelta(days=60)
        ),
        "maintenance": maintenance,
        "max_weight": request_service.MAX_WEIGHT,
    }


def trainings_of(facility: Facility) -> list[Training]:
    """Return the trainings recorded on the facility's units."""
    return list(
        db.session.scalars(
            select(Training)
            .join(Equipment, Training.equipment_id == Equipment.id)
            .where(Equipment.facility_id == facility.id)
            .order_by(Training.trained_on.desc())
        )
    )


def audit_events(facility: Facility, limit: int = 200) -> list[AuditEvent]:
    """Return the facility's latest audit events."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.facility_id == facility.id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )


# ---------------------------------------------------------------- proposals


def proposal_view(
    proposal: Proposal, viewer: User, zoom: str | None = None, day: str | None = None
) -> dict[str, Any]:
    """Return a proposal's timeline, diff against the published schedule and unplaced list.

    The timeline shows the whole plan, or with `zoom` "week" or "day" the week or day from
    `day` (an ISO date; out of the plan or unreadable, its first day)."""
    diff = proposal_service.diff_against_published(proposal)
    problem = json.loads(proposal.run.problem_json or "{}")
    facility = proposal.facility
    solved = {r.get("id") for r in problem.get("resources", [])}
    units = [u for u in facility.equipment if u.is_active and f"u{u.slug}" in solved] or [
        u for u in facility.equipment if u.is_active
    ]
    bars = _proposal_bars(proposal, diff)
    start, end = _timeline_window(problem, bars, facility.timezone)
    view = timeline_zoom(zoom, day, start, end, facility.timezone)
    svg = _proposal_timeline(proposal, units, bars, problem, view)
    published = booking_service.list_bookings(
        viewer, facility_id=facility.id, start=start, end=end
    )
    metrics = proposal.metrics or {}
    mine, fcfs = metrics.get("units") or {}, (metrics.get("fcfs") or {}).get("units") or {}
    utilisation = [
        (localised(u), mine.get(u.slug, 0.0), fcfs.get(u.slug, 0.0))
        for u in units
        if mine.get(u.slug) or fcfs.get(u.slug)
    ]
    return {
        "svg": svg,
        "zoom": view,
        "diff": diff,
        "metrics": metrics,
        "utilisation": utilisation,
        "items": proposal.items,
        "unplaced": proposal.unplaced,
        "published": published,
        "budgets": [
            {
                **row,
                "start": date.fromisoformat(row["period_start"]),
                "end": date.fromisoformat(row["period_end"]),
            }
            for row in _with_projects(metrics.get("budgets") or [])
        ],
        "no_show_weights": _with_projects(metrics.get("no_show_weights") or []),
    }


def _with_projects(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the rows, each with its project (rows whose project is gone are left out)."""
    found = []
    for row in rows:
        project = db.session.get(Project, row.get("project_id"))
        if project is not None:
            found.append({**row, "project": project})
    return found


def _proposal_bars(
    proposal: Proposal, diff: dict[str, list[dict[str, Any]]]
) -> list[timeline.Bar]:
    """Return the timeline bars of a proposal: its steps by state, and the bookings it drops."""
    moved_steps = {entry["step_id"] for entry in diff["moved"]}
    bars: list[timeline.Bar] = []
    for item in proposal.items:
        if item.pinned:
            state = timeline.PINNED
        elif item.step_id in moved_steps:
            state = timeline.MOVED
        else:
            state = timeline.PROPOSED
        # A manager's view of their own facility: its projects' names and titles are theirs
        # to see (the members' week view, availability_view, shows others only as "Booked").
        bars.append(
            timeline.Bar(
                str(item.equipment_id),
                item.start,
                item.end,
                f"{item.request.project.name} · {item.request.title}",
                state,
                f"#{item.request_id} {item.request.title} · {item.request.project.name}",
            )
        )
    for entry in diff["dropped"]:
        booking = entry["booking"]
        bars.append(
            timeline.Bar(
                str(booking.equipment_id),
                booking.start,
                booking.end,
                _("dropped #%(id)d", id=booking.request_id),
                timeline.DROPPED,
            )
        )
    return bars


def _proposal_timeline(
    proposal: Proposal,
    units: list[Equipment],
    bars: list[timeline.Bar],
    problem: dict[str, Any],
    view: dict[str, Any],
) -> str:
    """Draw the proposal's timeline over the zoomed window `view`."""
    tz = proposal.facility.timezone
    return timeline.render_timeline(
        [
            timeline.Lane(
                str(u.id), localised(u), ", ".join(map(capability_name, u.capability_names))
            )
            for u in units
        ],
        bars,
        _problem_shades(problem, units, view["start"], view["end"]),
        start=view["start"],
        end=view["end"],
        tz=tz,
        locale=_locale(),
        caption=_("Proposal %(id)d", id=proposal.id),
        day_link=lambda d: url_for(
            "booking.proposal_detail",
            proposal_id=proposal.id,
            zoom="day",
            day=d.isoformat(),
            _anchor="timeline",
        ),
        legend=[
            (timeline.PROPOSED, _("Proposed")),
            (timeline.MOVED, _("Moved")),
            (timeline.PINNED, _("Pinned (published)")),
            (timeline.DROPPED, _("Dropped")),
            (timeline.MAINTENANCE, _("Maintenance")),
            (timeline.CLOSED, _("Closed")),
        ],
        id_prefix=f"p{proposal.id}",
    )


MIN_TIMELINE_DAYS = 7
ZOOM_DAYS = {"week": 7, "day": 1}


def timeline_zoom(
    mode: str | None, day: str | None, start: datetime, end: datetime, tz: str
) -> dict[str, Any]:
    """Return the window a proposal's timeline shows: the whole [start, end), or a week or a
    day of it, with the days before and after to page to (None at the plan's ends)."""
    zone = ZoneInfo(tz)
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    if mode not in ZOOM_DAYS:
        return {
            "mode": "all",
            "start": start,
            "end": end,
            "day": first,
            "prev": None,
            "next": None,
        }
    try:
        chosen = date.fromisoformat(day) if day else first
    except ValueError:
        chosen = first
    chosen = min(max(chosen, first), last)
    length = timedelta(days=ZOOM_DAYS[mode])
    shown_start = datetime.combine(chosen, time(0), zone)
    return {
        "mode": mode,
        "start": shown_start,
        "end": shown_start + length,
        "day": chosen,
        "prev": max(chosen - length, first) if chosen > first else None,
        "next": chosen + length if chosen + length <= last else None,
    }


def _timeline_window(
    problem: dict[str, Any], bars: list[timeline.Bar], tz: str
) -> tuple[datetime, datetime]:
    """Return whole local days around the bars (at least a week), inside the solve's horizon."""
    zone = ZoneInfo(tz)
    horizon = problem.get("horizon") or {}
    now = utcnow()
    lo = datetime.fromisoformat(horizon["start"]) if "start" in horizon else now
    hi = datetime.fromisoformat(horizon["end"]) if "end" in horizon else now + timedelta(days=28)
    first = min((b.start for b in bars), default=lo)
    last = max((b.end for b in bars), default=lo)
    start = datetime.combine(first.astimezone(zone).date(), time(0), zone)
    end = datetime.combine(last.astimezone(zone).date() + timedelta(days=1), time(0), zone)
    if end - start < timedelta(days=MIN_TIMELINE_DAYS):
        end = start + timedelta(days=MIN_TIMELINE_DAYS)
    start, end = max(start, lo), min(end, hi)
    return start, end if end > start else start + timedelta(days=MIN_TIMELINE_DAYS)


def _problem_shades(
    problem: dict[str, Any], units: list[Equipment], start: datetime, end: datetime
) -> list[timeline.Shade]:
    """Shade what the solver saw: closed hours and blackouts of each unit's resource."""
    by_resource = {r.get("id"): r for r in problem.get("resources", [])}
    shades: list[timeline.Shade] = []
    for unit in units:
        resource = by_resource.get(f"u{unit.slug}") or by_resource.get(unit.slug)
        if resource is None:
            continue
        lane = str(unit.id)
        if resource.get("open") is not None:
            windows = [(_parse(a), _parse(b)) for a, b in resource["open"]]
            shades.extend(timeline.closed_shades(lane, windows, start, end))
        for a, b in resource.get("blackouts", []):
            shades.append(
                timeline.Shade(lane, _parse(a), _parse(b), timeline.MAINTENANCE, _("Unavailable"))
            )
    return shades


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def fair_share(proposal: Proposal) -> float | None:
    """Return the fair share its solve was given (the most one project may hold of a unit, as
    a fraction), or None when it had no limit."""
    problem = json.loads(proposal.run.problem_json or "{}")
    share = problem.get("fair_share") or {}
    return share.get("max_fraction")
