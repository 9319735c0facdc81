"""The one translation from the database to the solver's problem, and back to rows by id."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select

import scheduler
from app.accounts.models import Project
from app.billing import budgets
from app.billing.budgets import ProjectBudget
from app.booking.models import (
    Booking,
    BookingRequest,
    BookingStatus,
    Proposal,
    RequestStep,
)
from app.booking.requests import OPEN_STATUSES, allowed_units
from app.catalog.models import NO_SHOW_WEIGHT_DAYS, Equipment, Facility, MaintenanceWindow
from app.extensions import db
from app.intervals import Interval, clip

GRANULARITY_MINUTES = 15
# How far ahead a facility's solve plans.
HORIZON_DAYS = 28
# The no-show setting never lowers a weight below this share of it.
NO_SHOW_WEIGHT_FLOOR = 0.1


class Excluded(NamedTuple):
    """A request the solver never sees, with its reason as text and as a code with arguments."""

    request: BookingRequest
    reason: str
    code: str
    args: dict[str, Any]


@dataclass
class ProblemIndex:
    """Maps the solver's ids back to rows: `r<id>` requests, `b<id>` pinned bookings, `u<slug>`
    units; `steps` gives the RequestStep behind each (solver request id, step index)."""

    horizon_start: datetime
    problem: scheduler.Problem | None = None
    requests: dict[str, BookingRequest] = field(default_factory=dict)
    bookings: dict[str, Booking] = field(default_factory=dict)
    units: dict[str, Equipment] = field(default_factory=dict)
    steps: dict[tuple[str, int], RequestStep] = field(default_factory=dict)
    # Active bookings behind (solver request id, step index), for pinned and released steps.
    step_bookings: dict[tuple[str, int], Booking] = field(default_factory=dict)
    # Requests the solver never saw because a step has no usable unit left, with the reason.
    excluded: dict[int, Excluded] = field(default_factory=dict)
    # The budget of each project with a spending cap over the horizon, by project id.
    budgets: dict[int, ProjectBudget] = field(default_factory=dict)
    # Projects whose request weights the no-show setting lowered: project id → no-shows.
    no_shows: dict[int, int] = field(default_factory=dict)
    # The factor their weights were multiplied by, by project id, and the setting behind it.
    weight_factors: dict[int, float] = field(default_factory=dict)
    no_show_percent: int | None = None

    def at(self, minutes: int) -> datetime:
        """Return the moment `minutes` after the horizon start."""
        return self.horizon_start + timedelta(minutes=minutes)


def unit_id(unit: Equipment) -> str:
    """Return the solver id of a unit."""
    return f"u{unit.slug}"


def project_key(project_id: int) -> str:
    """Return the solver's project id (no names: problem files leave the app)."""
    return f"p{project_id}"


def _ceil(moment: datetime, minutes: int) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    step = timedelta(minutes=minutes)
    return epoch + -((epoch - moment) // step) * step


def _resource(unit: Equipment, start: datetime, end: datetime) -> scheduler.Resource:
    from app.catalog.hours import staffed_windows

    maintenance = db.session.scalars(
        select(MaintenanceWindow).where(
            MaintenanceWindow.equipment_id == unit.id,
            MaintenanceWindow.cancelled_at.is_(None),
            MaintenanceWindow.start < end,
            MaintenanceWindow.end > start,
        )
    )
    return scheduler.Resource(
        id=unit_id(unit),
        capacity=unit.capacity,
        open=tuple(clip(staffed_windows(unit, start, end), start, end)),
        blackouts=tuple(clip([(m.start, m.end) for m in maintenance], start, end)),
        changeover_minutes=unit.changeover_minutes,
    )


def _on_grid(moment: datetime, start: datetime) -> bool:
    return (moment - start) % timedelta(minutes=GRANULARITY_MINUTES) == timedelta(0)


@dataclass
class _Draft:
    """The parts of a facility's problem, gathered step by step by ``build_problem``."""

    start: datetime
    end: datetime
    resources: dict[int, scheduler.Resource]
    index: ProblemIndex
    requests: list[scheduler.Request] = field(default_factory=list)
    pinned: list[scheduler.Pinned] = field(default_factory=list)
    previous: list[scheduler.PreviousPlacement] = field(default_factory=list)
    # Published bookings the solver must work around, per unit id.
    blackouts: dict[int, list[Interval]] = field(default_factory=dict)


def build_problem(
    facility: Facility,
    *,
    now: datetime,
    horizon_days: int = HORIZON_DAYS,
    previous: Proposal | None = None,
) -> tuple[scheduler.Problem, ProblemIndex]:
    """Translate a facility's open requests and published bookings into a solver problem.

    Pinned bookings become one-step pinned requests `b<id>`; a booked request with a released
    booking is offered again as `r<id>` with its pinned steps pinned and its released ones free.
    Published bookings that started before the horizon, or are off the 15-minute grid, become
    blackouts of their unit so nothing is placed over them. The facility's fair share, if set,
    goes to the solver as its ``fair_share`` option."""
    start = _ceil(now, GRANULARITY_MINUTES)
    end = start + timedelta(days=horizon_days)
    units = [u for u in facility.equipment if u.is_active]
    draft = _Draft(
        start, end, {u.id: _resource(u, start, end) for u in units}, ProblemIndex(start)
    )
    draft.index.units = {unit_id(u): u for u in units}
    released = _add_published(draft, _published_bookings(facility, start, end))
    places = _previous_places(previous)
    for req in _open_requests(facility, end):
        _add_open_request(draft, req, places)
    for booked in released.values():
        _add_released_request(draft, booked)
    _lower_weights_for_no_shows(draft, facility, now)
    budgets = _add_costs(draft, facility)
    problem = scheduler.Problem(
        horizon=scheduler.Horizon(start, end),
        resources=tuple(
            _with_blackouts(draft.resources[u.id], draft.blackouts.get(u.id, [])) for u in units
        ),
        requests=tuple(draft.requests),
        granularity_minutes=GRANULARITY_MINUTES,
        timezone=facility.timezone,
        pinned=tuple(draft.pinned),
        previous=tuple(draft.previous),
        fair_share=fair_share(facility),
        budgets=budgets,
    )
    draft.index.problem = problem
    return problem, draft.index


def _project_id(key: str) -> int:
    return int(key.removeprefix("p"))


def _projects(draft: _Draft) -> dict[int, Project]:
    ids = sorted({_project_id(r.project) for r in draft.requests})
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Project).where(Project.id.in_(ids)))}


def _add_costs(draft: _Draft, facility: Facility) -> tuple[scheduler.Budget, ...]:
    """Give each step of a project with a spending cap its estimated cost and the project its
    budget (app.billing.budgets states the rules). Pinned steps cost 0 here: their bookings
    are already in what the project has committed."""
    projects = _projects(draft)
    pinned = {(p.request, p.step) for p in draft.pinned}
    moving = {
        b.id for key, b in draft.index.step_bookings.items() if key not in pinned and not b.pinned
    }
    found = budgets.project_budgets(
        facility, list(projects.values()), draft.start, draft.end, moving
    )
    draft.index.budgets = found
    if not found:
        return ()
    costed = []
    for req in draft.requests:
        pid = _project_id(req.project)
        if pid not in found:
            costed.append(req)
            continue
        steps = []
        for k, step in enumerate(req.steps):
            cost = 0
            if (req.id, k) not in pinned:
                row = draft.index.steps[(req.id, k)]
                cost = budgets.step_cost_fen(
                    [draft.index.units[u] for u in step.resources],
                    projects[pid],
                    step.duration_minutes,
                    attended=row.attended,
                    slot_minutes=GRANULARITY_MINUTES,
                )
            steps.append(replace(step, cost_fen=cost))
        costed.append(replace(req, steps=tuple(steps)))
    draft.requests = costed
    return tuple(
        scheduler.Budget(project_key(pid), b.remaining_fen) for pid, b in sorted(found.items())
    )


def no_show_factor(percent: int, no_shows: int) -> float:
    """Return what a project's request weights are multiplied by: each no-show lowers them by
    `percent` of their weight, but never below a tenth of it (a project with many no-shows
    still gets time nobody else wants)."""
    return round(max(NO_SHOW_WEIGHT_FLOOR, 1 - percent * no_shows / 100), 3)


def recent_no_shows(facility: Facility, now: datetime) -> dict[int, int]:
    """Return each project's no-shows at the facility in the last NO_SHOW_WEIGHT_DAYS."""
    from app.usage.models import Usage, UsageState

    rows = db.session.execute(
        select(BookingRequest.project_id, func.count(Booking.id))
        .join(Booking, Booking.request_id == BookingRequest.id)
        .join(Equipment, Booking.equipment_id == Equipment.id)
        .join(Usage, Usage.booking_id == Booking.id)
        .where(
            Equipment.facility_id == facility.id,
            Usage.state == UsageState.NO_SHOW.value,
            Booking.start >= now - timedelta(days=NO_SHOW_WEIGHT_DAYS),
            Booking.start <= now,
        )
        .group_by(BookingRequest.project_id)
    )
    return {pid: int(count) for pid, count in rows}


def _lower_weights_for_no_shows(draft: _Draft, facility: Facility, now: datetime) -> None:
    """With the facility's no-show setting on, multiply the weights of each project's requests
    by its ``no_show_factor`` (rounded to the solver's precision)."""
    percent = facility.no_show_penalty_percent
    if percent is None:
        return
    counts = recent_no_shows(facility, now)
    present = {_project_id(r.project) for r in draft.requests}
    counts = {pid: n for pid, n in counts.items() if pid in present and n > 0}
    if not counts:
        return
    factors = {pid: no_show_factor(percent, n) for pid, n in counts.items()}
    draft.index.no_shows = counts
    draft.index.no_show_percent = percent
    draft.index.weight_factors = factors
    draft.requests = [
        replace(r, weight=round(r.weight * factors[pid], 3))
        if (pid := _project_id(r.project)) in factors
        else r
        for r in draft.requests
    ]


def fair_share(facility: Facility) -> scheduler.FairShare | None:
    """Return the solver's fair-share option for the facility's setting (None: no limit)."""
    if facility.fair_share_percent is None:
        return None
    return scheduler.FairShare(facility.fair_share_percent / 100)


def _published_bookings(facility: Facility, start: datetime, end: datetime) -> list[Booking]:
    return list(
        db.session.scalars(
            select(Booking)
            .join(Equipment)
            .where(
                Equipment.facility_id == facility.id,
                Booking.status == BookingStatus.ACTIVE.value,
                Booking.end > start,
                Booking.start < end,
            )
            .order_by(Booking.start, Booking.id)
        )
    )


def _open_requests(facility: Facility, end: datetime) -> list[BookingRequest]:
    return list(
        db.session.scalars(
            select(BookingRequest)
            .where(
                BookingRequest.status.in_([s.value for s in OPEN_STATUSES]),
                BookingRequest.earliest_start < end,
                BookingRequest.id.in_(
                    select(RequestStep.request_id).where(RequestStep.facility_id == facility.id)
                ),
            )
            .order_by(BookingRequest.created_at, BookingRequest.id)
        )
    )


def _add_published(draft: _Draft, bookings: list[Booking]) -> dict[int, list[Booking]]:
    """Add the published bookings: fixed ones as blackouts, pinned ones as pinned one-step
    requests; return the bookings of requests with a released booking, by request id."""
    released_requests = {b.request_id for b in bookings if not b.pinned}
    by_request: dict[int, list[Booking]] = {}
    for booking in bookings:
        fixed = (
            booking.equipment_id not in draft.resources
            or booking.start < draft.start
            or booking.end > draft.end
            or not _on_grid(booking.start, draft.start)
        )
        if fixed:
            draft.blackouts.setdefault(booking.equipment_id, []).extend(
                clip([(booking.start, booking.end)], draft.start, draft.end)
            )
        elif booking.request_id in released_requests:
            by_request.setdefault(booking.request_id, []).append(booking)
        else:
            _add_pinned_booking(draft, booking)
    return by_request


def _add_pinned_booking(draft: _Draft, booking: Booking) -> None:
    rid = f"b{booking.id}"
    minutes = int((booking.end - booking.start).total_seconds() // 60)
    draft.requests.append(
        scheduler.Request(
            id=rid,
            project=project_key(booking.request.project_id),
            steps=(
                scheduler.Step(
                    resources=(unit_id(booking.equipment),),
                    duration_minutes=max(1, minutes),
                    attended=False,
                ),
            ),
            weight=booking.request.weight,
        )
    )
    draft.pinned.append(scheduler.Pinned(rid, 0, unit_id(booking.equipment), booking.start))
    draft.index.bookings[rid] = booking
    draft.index.steps[(rid, 0)] = booking.step
    draft.index.step_bookings[(rid, 0)] = booking


def _add_open_request(
    draft: _Draft, req: BookingRequest, places: dict[int, tuple[str, datetime]]
) -> None:
    """Add an open request, or record it as excluded when a step has no usable unit left."""
    rid = f"r{req.id}"
    steps: list[scheduler.Step] = []
    previous: list[scheduler.PreviousPlacement] = []
    for k, step in enumerate(req.steps):
        choices = [unit_id(u) for u in allowed_units(step) if u.id in draft.resources]
        if not choices:
            draft.index.excluded[req.id] = _excluded(req, k, step, draft.resources)
            for done in range(k):
                draft.index.steps.pop((rid, done), None)
            return
        steps.append(_step(step, tuple(choices)))
        draft.index.steps[(rid, k)] = step
        place = places.get(step.id)
        if place is not None and place[0] in choices:
            previous.append(scheduler.PreviousPlacement(rid, k, place[0], place[1]))
    draft.previous.extend(previous)
    draft.requests.append(
        scheduler.Request(
            id=rid,
            project=project_key(req.project_id),
            steps=tuple(steps),
            weight=req.weight,
            release=max(req.earliest_start, draft.start),
            deadline=req.deadline,
        )
    )
    draft.index.requests[rid] = req


def _add_released_request(draft: _Draft, booked: list[Booking]) -> None:
    """Add a booked request with a released booking: pinned steps stay, released ones may move
    (their published place is the previous placement to keep if it can)."""
    req = booked[0].request
    rid = f"r{req.id}"
    booked.sort(key=lambda b: b.step.position)
    steps = []
    for k, booking in enumerate(booked):
        choices = [unit_id(u) for u in allowed_units(booking.step) if u.id in draft.resources]
        if booking.pinned or not choices:
            choices = [unit_id(booking.equipment)]
        minutes = int((booking.end - booking.start).total_seconds() // 60)
        steps.append(_step(booking.step, tuple(choices), minutes, first=k == 0))
        draft.index.steps[(rid, k)] = booking.step
        draft.index.step_bookings[(rid, k)] = booking
        place = (rid, k, unit_id(booking.equipment), booking.start)
        if booking.pinned:
            draft.pinned.append(scheduler.Pinned(*place))
        else:
            draft.previous.append(scheduler.PreviousPlacement(*place))
    draft.requests.append(
        scheduler.Request(
            id=rid,
            project=project_key(req.project_id),
            steps=tuple(steps),
            weight=req.weight,
            release=min(max(req.earliest_start, draft.start), min(b.start for b in booked)),
            deadline=max(req.deadline, max(b.end for b in booked)),
        )
    )
    draft.index.requests[rid] = req


def build_request_problem(
    req: BookingRequest, *, now: datetime
) -> tuple[scheduler.Problem, dict[str, Equipment]] | None:
    """Translate one request alone onto an empty calendar: its window, steps and lags, its
    units' staffed hours, closures and maintenance, and no other booking (the problem of the
    submission check). Return None when a step has no usable unit (``_excluded`` says why)."""
    start = _ceil(max(now, req.earliest_start), GRANULARITY_MINUTES)
    end = _ceil(max(req.deadline, start), GRANULARITY_MINUTES) + timedelta(days=1)
    units: dict[str, Equipment] = {}
    steps: list[scheduler.Step] = []
    for step in req.steps:
        choices = [u for u in allowed_units(step) if u.facility_id == step.facility_id]
        if not choices:
            return None
        units |= {unit_id(u): u for u in choices}
        steps.append(_step(step, tuple(unit_id(u) for u in choices)))
    problem = scheduler.Problem(
        horizon=scheduler.Horizon(start, end),
        resources=tuple(_resource(u, start, end) for u in units.values()),
        requests=(
            scheduler.Request(
                id=f"r{req.id}",
                project=project_key(req.project_id),
                steps=tuple(steps),
                weight=req.weight,
                release=start,
                deadline=req.deadline,
            ),
        ),
        granularity_minutes=GRANULARITY_MINUTES,
        timezone=req.steps[0].facility.timezone if req.steps[0].facility else None,
    )
    return problem, units


class MoveCheck(NamedTuple):
    """A booking's move as a problem and its one-line result, for the solver's own checker."""

    problem: scheduler.Problem
    result: dict[str, Any]
    request: str
    step: int
    steps: dict[int, RequestStep]


@dataclass
class _MoveDraft:
    """The parts of a move's problem and result, gathered by ``build_move_problem``."""

    rid: str
    involved: dict[int, Equipment]
    requests: list[scheduler.Request] = field(default_factory=list)
    pinned: list[scheduler.Pinned] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    by_index: dict[int, RequestStep] = field(default_factory=dict)
    moved: int = 0


def build_move_problem(
    booking: Booking, unit: Equipment, start: datetime, end: datetime
) -> MoveCheck:
    """Translate a booking moved to (unit, start, end) into a problem and its result.

    The booking's request keeps its window, each step its allowed units (capability and
    training), attendance and lags; its other published steps and every other active booking
    on the units involved stay where they are (pinned). A manual booking has no window or
    capability of its own: only the units' rules apply to it. One-minute granularity: the
    quarter-hour grid is the booking services' own rule."""
    req = booking.request
    siblings = sorted(
        (b for b in req.bookings if b.status == BookingStatus.ACTIVE.value),
        key=lambda b: (b.step.position, b.start),
    )
    places = {
        b.id: (unit, start, end) if b.id == booking.id else (b.equipment, b.start, b.end)
        for b in siblings
    }
    margin = timedelta(days=1)
    h_start = min(s for _u, s, _e in places.values()) - margin
    h_end = max(e for _u, _s, e in places.values()) + margin
    draft = _MoveDraft(f"r{req.id}", {u.id: u for u, _s, _e in places.values()})
    draft.involved.setdefault(booking.equipment_id, booking.equipment)
    _add_moved_request(draft, booking, siblings, places)
    _add_other_bookings(draft, req, {u.id for u, _s, _e in places.values()}, h_start, h_end)
    problem = scheduler.Problem(
        horizon=scheduler.Horizon(h_start, h_end),
        resources=tuple(_resource(u, h_start, h_end) for u in draft.involved.values()),
        requests=tuple(draft.requests),
        granularity_minutes=1,
        timezone=unit.facility.timezone,
        pinned=tuple(draft.pinned),
    )
    result = {
        "format": "pilotslot-result/1",
        "status": "FEASIBLE",
        "objective": sum(r.weight for r in draft.requests),
        "assignments": draft.assignments,
        "unscheduled": [],
    }
    return MoveCheck(problem, result, draft.rid, draft.moved, draft.by_index)


def _add_moved_request(
    draft: _MoveDraft,
    booking: Booking,
    siblings: list[Booking],
    places: dict[int, tuple[Equipment, datetime, datetime]],
) -> None:
    """Add the moved booking's request: each active booking a step at its (new) place, the
    moved one free to be checked, the others pinned."""
    req = booking.request
    manual = booking.source == "manual"
    steps: list[scheduler.Step] = []
    previous_position: int | None = None
    for k, b in enumerate(siblings):
        where, s, e = places[b.id]
        if manual:
            choices = [where, b.equipment]
        else:
            choices = [u for u in allowed_units(b.step) if u.facility_id == where.facility_id]
            if b.id != booking.id:
                choices.append(b.equipment)
        for u in choices:
            draft.involved.setdefault(u.id, u)
        follows = previous_position is not None and b.step.position == previous_position + 1
        steps.append(
            scheduler.Step(
                resources=tuple(dict.fromkeys(unit_id(u) for u in choices))
                or (unit_id(b.equipment),),
                duration_minutes=max(1, int((e - s).total_seconds() // 60)),
                attended=b.step.attended,
                min_lag_minutes=b.step.min_lag_minutes if follows else 0,
                max_lag_minutes=b.step.max_lag_minutes if follows else None,
            )
        )
        previous_position = b.step.position
        draft.by_index[k] = b.step
        draft.assignments.append(_assignment(draft.rid, k, where, s, e))
        if b.id == booking.id:
            draft.moved = k
        else:
            draft.pinned.append(scheduler.Pinned(draft.rid, k, unit_id(where), s))
    draft.requests.append(
        scheduler.Request(
            id=draft.rid,
            project=project_key(req.project_id),
            steps=tuple(steps),
            weight=req.weight,
            release=None if manual else req.earliest_start,
            deadline=None if manual else req.deadline,
        )
    )


def _add_other_bookings(
    draft: _MoveDraft, req: BookingRequest, target: set[int], h_start: datetime, h_end: datetime
) -> None:
    """Add every other active booking on the target units in the horizon, pinned in place."""
    others = db.session.scalars(
        select(Booking).where(
            Booking.equipment_id.in_(target),
            Booking.status == BookingStatus.ACTIVE.value,
            Booking.request_id != req.id,
            Booking.start < h_end,
            Booking.end > h_start,
        )
    )
    for other in others:
        oid = f"b{other.id}"
        s, e = max(other.start, h_start), min(other.end, h_end)
        draft.requests.append(
            scheduler.Request(
                id=oid,
                project=project_key(other.request.project_id),
                steps=(
                    scheduler.Step(
                        resources=(unit_id(other.equipment),),
                        duration_minutes=max(1, int((e - s).total_seconds() // 60)),
                        attended=False,
                    ),
                ),
                weight=other.request.weight,
            )
        )
        draft.pinned.append(scheduler.Pinned(oid, 0, unit_id(other.equipment), s))
        draft.assignments.append(_assignment(oid, 0, other.equipment, s, e))


def _assignment(
    rid: str, k: int, unit: Equipment, start: datetime, end: datetime
) -> dict[str, Any]:
    return {
        "request": rid,
        "step": k,
        "resource": unit_id(unit),
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def _excluded(
    req: BookingRequest, k: int, step: RequestStep, resources: dict[int, scheduler.Resource]
) -> Excluded:
    """Say why step ``k`` has no unit: its project lacks a training, or no unit is left."""
    args: dict[str, Any] = {"step": k + 1, "steps": len(req.steps)}
    untrained = [unit_id(u) for u in allowed_units(step, need_training=False) if u.id in resources]
    if untrained:
        return Excluded(
            req,
            f"Step {k + 1} may only use units that need a training no member of the project "
            f"has ({', '.join(untrained)}); complete the training or change the request.",
            "training-missing",
            {**args, "units": untrained},
        )
    return Excluded(
        req,
        f"Step {k + 1} has no unit it may use any more (retired, or out of service); change "
        "the request.",
        "no-unit-left",
        {**args, "capability": step.capability},
    )


def _step(
    step: RequestStep,
    choices: tuple[str, ...],
    minutes: int | None = None,
    *,
    first: bool = False,
) -> scheduler.Step:
    # A released campaign's published steps keep their order but drop the lag bounds of
    # steps that are no longer beside each other.
    return scheduler.Step(
        resources=choices,
        duration_minutes=max(1, minutes if minutes is not None else step.duration_minutes),
        attended=step.attended,
        min_lag_minutes=0 if first else step.min_lag_minutes,
        max_lag_minutes=None if first or minutes is not None else step.max_lag_minutes,
    )


def _with_blackouts(
    resource: scheduler.Resource, extra: list[tuple[datetime, datetime]]
) -> scheduler.Resource:
    if not extra:
        return resource
    return scheduler.Resource(
        id=resource.id,
        capacity=resource.capacity,
        open=resource.open,
        blackouts=tuple(sorted([*resource.blackouts, *extra])),
        changeover_minutes=resource.changeover_minutes,
    )


def _previous_places(previous: Proposal | None) -> dict[int, tuple[str, datetime]]:
    """Return step id → (unit id, start) of the previous proposal's free placements."""
    if previous is None:
        return {}
    return {
        item.step_id: (unit_id(item.equipment), item.start)
        for item in previous.items
        if not item.pinned
    }


def latest_proposal(facility: Facility) -> Proposal | None:
    """Return the facility's newest draft or approved proposal (the placements to keep)."""
    return db.session.scalar(
        select(Proposal)
        .where(Proposal.facility_id == facility.id, Proposal.status.in_(["draft", "approved"]))
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
        .limit(1)
    )
