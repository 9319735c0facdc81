"""Requests and campaigns: what projects ask for, validated once, seen only by those allowed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, select

from app import access, dates
from app.accounts.models import Project, Training
from app.booking import audit
from app.booking.models import BookingRequest, ProposalItem, RequestStatus, RequestStep
from app.catalog.models import Equipment, EquipmentCapability, Facility
from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationError
from app.extensions import db
from app.i18n import localised

if TYPE_CHECKING:
    from app.accounts.models import User

# The limits of a request's steps, stated here only: form, API, OpenAPI document, services and
# messages all use these names.
# Steps per request (a campaign).
MAX_STEPS = 20
# The shortest and longest a step (and so a booking) may last; a quarter hour is the solve's
# grid (problems.GRANULARITY_MINUTES).
MIN_STEP_MINUTES = 15
MAX_STEP_DAYS = 14
MAX_STEP_MINUTES = MAX_STEP_DAYS * 24 * 60
# How far ahead a request may start; a gap between two steps longer than that is no plan.
MAX_START_AHEAD_DAYS = 366
MAX_LAG_DAYS = MAX_START_AHEAD_DAYS
MAX_LAG_MINUTES = MAX_LAG_DAYS * 24 * 60
STEP_DURATION_MESSAGE = _l(
    "A step lasts from %(minutes)d minutes to %(days)d days.",
    minutes=MIN_STEP_MINUTES,
    days=MAX_STEP_DAYS,
)
STEP_COUNT_MESSAGE = _l("A request has at most %(n)d steps.", n=MAX_STEPS)
LONG_GAP_MESSAGE = _l("A gap between steps may last at most %(days)d days.", days=MAX_LAG_DAYS)
MAX_WEIGHT = 10
# Requests the solver may still place; the others are settled.
OPEN_STATUSES = (RequestStatus.PENDING, RequestStatus.UNPLACED, RequestStatus.PROPOSED)
EDITABLE_STATUSES = (RequestStatus.PENDING, RequestStatus.UNPLACED)
# A booked request's weight still counts when one of its bookings is released and re-placed.
WEIGHABLE_STATUSES = (*OPEN_STATUSES, RequestStatus.BOOKED)


@dataclass
class StepInput:
    """One step as a project describes it: a capability or a list of units, and its timing."""

    duration_minutes: int
    capability: str | None = None
    unit_ids: list[int] = field(default_factory=list)
    facility_id: int | None = None
    attended: bool = True
    min_lag_minutes: int = 0
    max_lag_minutes: int | None = None
    note: str = ""


@dataclass
class _CleanStep:
    position: int
    facility: Facility
    capability: str | None
    units: list[Equipment]
    source: StepInput


def trained_unit_ids(project_id: int) -> set[int]:
    """Return the ids of units on which at least one member of the project is trained."""
    return set(
        db.session.scalars(
            select(Training.equipment_id).where(
                Training.user_id.in_(access.project_member_ids(project_id))
            )
        )
    )


def _capability_units(capability: str, facility_id: int | None) -> list[Equipment]:
    query = (
        select(Equipment)
        .join(EquipmentCapability)
        .where(EquipmentCapability.name == capability, Equipment.status == "active")
        .order_by(Equipment.slug)
    )
    if facility_id is not None:
        query = query.where(Equipment.facility_id == facility_id)
    return list(db.session.scalars(query))


def allowed_units(step: RequestStep, *, need_training: bool = True) -> list[Equipment]:
    """Return the active units the step may use now, respecting its project's training.

    With ``need_training=False``, also those it could use once its project is trained."""
    if step.units:
        candidates = sorted(step.units, key=lambda u: u.slug)
    elif step.capability:
        candidates = _capability_units(step.capability, step.facility_id)
    else:
        candidates = []
    trained = trained_unit_ids(step.request.project_id)
    return [
        unit
        for unit in candidates
        if unit.is_active
        and (bool(step.units) or step.capability in unit.capability_names)
        and (not need_training or not unit.training_required or unit.id in trained)
    ]


def request_facility(req: BookingRequest) -> Facility:
    """Return the one facility whose units serve every step of the request."""
    step = req.steps[0]
    if step.facility is not None:
        return step.facility
    return step.units[0].facility


def check_step_count(count: int) -> None:
    """Raise ValidationError when a request would have more than MAX_STEPS steps.

    Callers check the count before they parse the steps, so a body of thousands costs nothing."""
    if count > MAX_STEPS:
        raise ValidationError(str(STEP_COUNT_MESSAGE), field="steps")


def _aware(value: Any, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(_("Give a date and time."), field=name)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(_("Give the time with its UTC offset."), field=name)
    return dates.check(value, name)


def _clean_step(
    i: int,
    step: StepInput,
    facility_id: int | None,
    trained: set[int],
) -> _CleanStep:
    """Validate one step; return its facility, capability and explicit units."""
    prefix = f"steps[{i}]"
    _check_step_timing(prefix, step)
    capability = (step.capability or "").strip() or None
    facility_id = step.facility_id or facility_id
    if step.unit_ids:
        units = _chosen_units(prefix, step.unit_ids, capability, facility_id, trained)
        return _CleanStep(i, units[0].facility, capability, units, step)
    if not capability:
        raise ValidationError(
            _("Choose a capability or at least one unit."), field=f"{prefix}.capability"
        )
    facility = _capability_facility(prefix, capability, facility_id, trained)
    return _CleanStep(i, facility, capability, [], step)


def _check_step_timing(prefix: str, step: StepInput) -> None:
    """Raise ValidationError naming every bad duration, gap or note of the step."""
    errors: dict[str, str] = {}
    duration = step.duration_minutes
    if isinstance(duration, bool) or not isinstance(duration, int) or duration <= 0:
        errors[f"{prefix}.duration_minutes"] = _("Give the duration in whole minutes, above 0.")
    elif not MIN_STEP_MINUTES <= duration <= MAX_STEP_MINUTES:
        errors[f"{prefix}.duration_minutes"] = str(STEP_DURATION_MESSAGE)
    if step.min_lag_minutes < 0:
        errors[f"{prefix}.min_lag_minutes"] = _("The minimum gap cannot be negative.")
    for name in ("min_lag_minutes", "max_lag_minutes"):
        lag = getattr(step, name)
        if lag is not None and lag > MAX_LAG_MINUTES:
            errors[f"{prefix}.{name}"] = str(LONG_GAP_MESSAGE)
    if step.max_lag_minutes is not None and step.max_lag_minutes < step.min_lag_minutes:
        errors.setdefault(
            f"{prefix}.max_lag_minutes", _("The maximum gap must not be below the minimum.")
        )
    if len(step.note or "") > 300:
        errors[f"{prefix}.note"] = _("Keep the note under 300 characters.")
    if errors:
        raise ValidationError(next(iter(errors.values())), errors=errors)


def _chosen_units(
    prefix: str,
    unit_ids: list[int],
    capability: str | None,
    facility_id: int | None,
    trained: set[int],
) -> list[Equipment]:
    """Return the units a step names, each active, offering the capability and usable by the
    project, all of one facility (the request's, when it has one)."""
    field = f"{prefix}.unit_ids"
    units: list[Equipment] = []
    for unit_id in dict.fromkeys(unit_ids):
        unit = db.session.get(Equipment, unit_id)
        if unit is None:
            raise ValidationError(_("There is no unit %(id)s.", id=unit_id), field=field)
        if not unit.is_active:
            raise ValidationError(
                _("%(unit)s is retired and cannot be booked.", unit=localised(unit)), field=field
            )
        if capability and capability not in unit.capability_names:
            raise ValidationError(
                _("%(unit)s does not offer %(cap)s.", unit=localised(unit), cap=capability),
                field=field,
            )
        if unit.training_required and unit.id not in trained:
            raise ValidationError(
                _(
                    "%(unit)s requires training and no member of the project is trained on it.",
                    unit=localised(unit),
                ),
                field=field,
            )
        units.append(unit)
    facilities = {u.facility_id for u in units}
    if len(facilities) > 1 or (facility_id is not None and facility_id not in facilities):
        raise ValidationError(
            _("All units of a request must belong to one facility."), field=field
        )
    return units


def _capability_facility(
    prefix: str, capability: str, facility_id: int | None, trained: set[int]
) -> Facility:
    """Return the one facility whose units offer the capability to the project."""
    offered = _capability_units(capability, facility_id)
    if not offered:
        raise ValidationError(
            _("No active unit offers %(cap)s here.", cap=capability),
            field=f"{prefix}.capability",
        )
    usable = [u for u in offered if not u.training_required or u.id in trained]
    if not usable:
        raise ValidationError(
            _(
                "Every unit offering %(cap)s requires training, and no member of the "
                "project is trained on one.",
                cap=capability,
            ),
            field=f"{prefix}.capability",
        )
    if len({u.facility_id for u in usable}) > 1:
        raise ValidationError(
            _("%(cap)s is offered by several facilities; choose one.", cap=capability),
            field=f"{prefix}.facility_id",
        )
    return usable[0].facility


def _clean(
    project_id: int,
    *,
    title: Any,
    earliest_start: Any,
    deadline: Any,
    steps: Sequence[StepInput],
    priority_reason: Any,
    now: datetime,
) -> tuple[str, datetime, datetime, str, list[_CleanStep]]:
    """Validate a whole request; raise ValidationError naming the first bad field."""
    title = (title or "").strip() if isinstance(title, str) else ""
    if not title:
        raise ValidationError(_("Give the request a title."), field="title")
    if len(title) > 200:
        raise ValidationError(_("Keep the title under 200 characters."), field="title")
    earliest_start = _aware(earliest_start, "earliest_start")
    deadline = _aware(deadline, "deadline")
    if deadline <= earliest_start:
        raise ValidationError(
            _("The deadline must be after the earliest start."), field="deadline"
        )
    if deadline <= now:
        raise ValidationError(_("The deadline has already passed."), field="deadline")
    if earliest_start > now + timedelta(days=MAX_START_AHEAD_DAYS):
        raise ValidationError(
            _("Requests may start at most a year ahead."), field="earliest_start"
        )
    reason = priority_reason.strip() if isinstance(priority_reason, str) else ""
    if len(reason) > 2000:
        raise ValidationError(_("Keep the reason under 2000 characters."), field="priority_reason")
    if not steps:
        raise ValidationError(_("A request needs at least one step."), field="steps")
    check_step_count(len(steps))
    trained = trained_unit_ids(project_id)
    facility_id = next((s.facility_id for s in steps if s.facility_id), None)
    cleaned: list[_CleanStep] = []
    for i, step in enumerate(steps):
        clean = _clean_step(i, step, facility_id, trained)
        if cleaned and clean.facility.id != cleaned[0].facility.id:
            name = "unit_ids" if step.unit_ids else "capability"
            raise ValidationError(
                _("Every step of a campaign must use units of one facility."),
                field=f"steps[{i}].{name}",
            )
        facility_id = clean.facility.id
        cleaned.append(clean)
    return title, earliest_start, deadline, reason, cleaned


def _clean_weight(weight: Any) -> int:
    if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= MAX_WEIGHT:
        raise ValidationError(
            _("The weight is a whole number from 1 to %(max)d.", max=MAX_WEIGHT), field="weight"
        )
    return weight


def _require_weigher(user: User, facility: Facility) -> None:
    """Refuse, naming the field, a weight from anyone but a manager of the facility.

    Projects ask for priority with a reason; letting them set the number would let every
    project put itself first."""
    if not access.can_manage(user, facility):
        raise Forbidden(
            _(
                "Only a manager of the facility sets the weight; ask for priority with a "
                "reason instead."
            ),
            field="weight",
        )


def _apply_step(row: RequestStep, clean: _CleanStep) -> None:
    source = clean.source
    row.position = clean.position
    row.capability = clean.capability
    row.facility_id = clean.facility.id
    row.units = clean.units
    row.duration_minutes = source.duration_minutes
    row.attended = bool(source.attended)
    row.min_lag_minutes = source.min_lag_minutes
    row.max_lag_minutes = source.max_lag_minutes
    row.note = (source.note or "").strip()


def _project(project_id: Any) -> Project:
    project = db.session.get(Project, project_id) if isinstance(project_id, int) else None
    if project is None:
        raise NotFound(_("No such project among yours."))
    return project


def _check_can_fit(req: BookingRequest, now: datetime) -> None:
    """Refuse a request that could never be placed, even on an empty calendar, saying why.

    The test is the solver's own (``scheduler.reasons.never_fits``) on the problem
    ``problems.build_request_problem`` makes of this request alone."""
    from app.booking import problems
    from app.booking import reasons as reason_text
    from scheduler.reasons import never_fits

    built = problems.build_request_problem(req, now=now)
    if built is None:
        return
    problem, units = built
    reason = never_fits(problem, f"r{req.id}")
    if reason is None:
        return
    text = reason_text.describe(
        reason_text.detail(reason.code, reason.args, units),
        reason.text,
        tz=request_facility(req).timezone,
        project=req.project.name,
    )
    if reason.code == "window-too-short" or "step" not in reason.args:
        field = "deadline"
    else:
        field = f"steps[{int(reason.args['step']) - 1}].duration_minutes"
    db.session.rollback()
    raise ValidationError(
        _(
            "This request could never be placed, even on an empty calendar: %(reason)s",
            reason=text,
        ),
        field=field,
    )


def create_request(
    user: User,
    project_id: int,
    *,
    title: str,
    earliest_start: datetime,
    deadline: datetime,
    steps: Sequence[StepInput],
    weight: int | None = None,
    priority_reason: str = "",
) -> BookingRequest:
    """Validate and store a new request (a campaign when it has several steps).

    A non-empty ``priority_reason`` asks the facility's managers for priority; ``weight`` may
    be given only by one of them (weight 1 otherwise)."""
    write_transaction()
    project = _project(project_id)
    access.require_member(user, project.id)
    title, earliest_start, deadline, reason, cleaned = _clean(
        project.id,
        title=title,
        earliest_start=earliest_start,
        deadline=deadline,
        steps=steps,
        priority_reason=priority_reason,
        now=utcnow(),
    )
    if weight is not None:
        _require_weigher(user, cleaned[0].facility)
        weight = _clean_weight(weight)
    req = BookingRequest(
        project_id=project.id,
        created_by_id=user.id,
        title=title,
        earliest_start=earliest_start,
        deadline=deadline,
        weight=weight or 1,
        priority_reason=reason,
        status=RequestStatus.PENDING.value,
    )
    for clean in cleaned:
        row = RequestStep()
        _apply_step(row, clean)
        req.steps.append(row)
    db.session.add(req)
    db.session.flush()
    _check_can_fit(req, utcnow())
    audit.record(
        user,
        "request.create",
        "request",
        req.id,
        facility_id=cleaned[0].facility.id,
        project_id=project.id,
        title=title,
        steps=len(cleaned),
    )
    db.session.commit()
    return req


def update_request(user: User, request_id: int, **changes: Any) -> BookingRequest:
    """Change a request that is still pending (or unplaced, which makes it pending again).

    ``weight`` is a manager's change: it needs no membership, is refused to anyone else, and
    leaves the request's state alone."""
    write_transaction()
    req = get_request(user, request_id)
    weight: int | None = None
    if "weight" in changes:
        _require_weigher(user, request_facility(req))
        weight = _clean_weight(changes.pop("weight"))
        if req.status not in WEIGHABLE_STATUSES:
            raise Conflict(
                _("The weight of a %(s)s request no longer matters to any solve.", s=req.status)
            )
    if changes:
        _apply_changes(user, req, changes)
    if weight is not None and weight != req.weight:
        audit.record(
            user,
            "request.weight",
            "request",
            req.id,
            facility_id=request_facility(req).id,
            project_id=req.project_id,
            weight=weight,
            previous=req.weight,
        )
        req.weight = weight
    db.session.commit()
    return req


def _apply_changes(user: User, req: BookingRequest, changes: dict[str, Any]) -> None:
    """Apply a member's changes to the request, uncommitted; the request becomes pending."""
    access.require_member(user, req.project_id)
    if req.status not in EDITABLE_STATUSES:
        raise Conflict(
            _(
                "Only a pending or unplaced request can be changed; this one is %(s)s.",
                s=req.status,
            )
        )
    unknown = set(changes) - {
        "title",
        "earliest_start",
        "deadline",
        "steps",
        "priority_reason",
    }
    if unknown:
        raise BadRequest(_("Unknown field."), field=sorted(unknown)[0])
    current_steps = [
        StepInput(
            duration_minutes=s.duration_minutes,
            capability=s.capability,
            unit_ids=[u.id for u in s.units],
            facility_id=s.facility_id,
            attended=s.attended,
            min_lag_minutes=s.min_lag_minutes,
            max_lag_minutes=s.max_lag_minutes,
            note=s.note,
        )
        for s in req.steps
    ]
    title, earliest_start, deadline, reason, cleaned = _clean(
        req.project_id,
        title=changes.get("title", req.title),
        earliest_start=changes.get("earliest_start", req.earliest_start),
        deadline=changes.get("deadline", req.deadline),
        steps=changes.get("steps", current_steps),
        priority_reason=changes.get("priority_reason", req.priority_reason),
        now=utcnow(),
    )
    req.title, req.earliest_start, req.deadline = title, earliest_start, deadline
    req.priority_reason = reason
    req.status = RequestStatus.PENDING.value
    req.unplaced_reason = ""
    req.unplaced_reason_detail = None
    surplus = req.steps[len(cleaned) :]
    for clean, row in zip(cleaned, req.steps, strict=False):
        _apply_step(row, clean)
    for clean in cleaned[len(req.steps) :]:
        row = RequestStep()
        _apply_step(row, clean)
        req.steps.append(row)
    if surplus:
        # Only discarded or expired proposals can still point at a pending request's steps.
        db.session.execute(
            delete(ProposalItem).where(ProposalItem.step_id.in_([s.id for s in surplus]))
        )
        for row in surplus:
            req.steps.remove(row)
    db.session.flush()
    _check_can_fit(req, utcnow())
    audit.record(
        user,
        "request.update",
        "request",
        req.id,
        facility_id=cleaned[0].facility.id,
        project_id=req.project_id,
        fields=sorted(changes),
    )


def withdraw_request(user: User, request_id: int) -> BookingRequest:
    """Withdraw a request that is not booked yet."""
    write_transaction()
    req = get_request(user, request_id)
    access.require_member(user, req.project_id)
    if req.status == RequestStatus.BOOKED.value:
        raise Conflict(_("This request is booked; cancel its bookings instead."))
    if req.status not in OPEN_STATUSES:
        raise Conflict(_("This request is already %(s)s.", s=req.status))
    req.status = RequestStatus.WITHDRAWN.value
    audit.record(
        user,
        "request.withdraw",
        "request",
        req.id,
        facility_id=request_facility(req).id,
        project_id=req.project_id,
    )
    db.session.commit()
    return req


def get_request(user: User, request_id: int) -> BookingRequest:
    """Return the request, or NotFound when it does not exist or is not the user's to see."""
    req = db.session.get(BookingRequest, request_id)
    if req is None or not access.can_see_request(user, req):
        raise NotFound(_("No such request among those you can see."))
    return req


def list_requests(
    user: User,
    *,
    project_id: int | None = None,
    facility_id: int | None = None,
    status: str | None = None,
) -> list[BookingRequest]:
    """Return the requests the user may see, newest first, optionally filtered."""
    query = (
        select(BookingRequest)
        .where(access.requests_visible_to(user))
        .order_by(BookingRequest.created_at.desc(), BookingRequest.id)
    )
    if project_id is not None:
        query = query.where(BookingRequest.project_id == project_id)
    if facility_id is not None:
        query = query.where(
            exists().where(
                RequestStep.request_id == BookingRequest.id,
                RequestStep.facility_id == facility_id,
            )
        )
    if status is not None:
        if status not in {s.value for s in RequestStatus}:
            raise BadRequest(_("Unknown status %(s)s.", s=status), field="status")
        query = query.where(BookingRequest.status == status)
    return list(db.session.scalars(query))
