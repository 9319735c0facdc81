"""Bookings: reading them, availability, manual bookings, cancellation, pin/release,
rescheduling, and the moves made against the rules (`conflicts` holds the checks every write
of a booking goes through)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import access, dates
from app.accounts.models import Project, User
from app.booking import audit, signals
from app.booking.conflicts import (
    active_bookings_between,
    chosen_unit,
    conflict_error,
    find_lane,
    lock_units,
    overlap_guard,
)
from app.booking.models import (
    AuditEvent,
    Booking,
    BookingRequest,
    BookingStatus,
    RequestStatus,
    RequestStep,
)
from app.booking.requests import MAX_STEP_DAYS, MAX_STEP_MINUTES
from app.catalog.models import Equipment, MaintenanceWindow
from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.i18n import in_language_text

if TYPE_CHECKING:
    from collections.abc import Iterable

# Bookings start and end on the quarter-hour grid (suggested free slots snap to it too).
GRID = timedelta(minutes=15)
MAX_BOOKING = timedelta(minutes=MAX_STEP_MINUTES)
OVERRIDE_REASON_LENGTH = 2000


def _times(start: Any, end: Any) -> tuple[datetime, datetime]:
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime):
            raise ValidationError(_("Give a date and time."), field=name)
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(_("Give the time with its UTC offset."), field=name)
        dates.check(value, name)
        if value.second or value.microsecond or value.minute % 15:
            raise ValidationError(
                _("Bookings start and end on a quarter hour (:00, :15, :30, :45)."), field=name
            )
    if end <= start:
        raise ValidationError(_("The end must be after the start."), field="end")
    if end - start > MAX_BOOKING:
        raise ValidationError(
            _("A booking may last at most %(days)d days.", days=MAX_STEP_DAYS), field="end"
        )
    return start, end


def _bump(booking: Booking) -> None:
    """Record a change of time, unit or status, which calendar feeds must pick up."""
    booking.sequence += 1
    booking.updated_at = utcnow()


# ---------------------------------------------------------------- reading


def get_booking(user: User, booking_id: int) -> Booking:
    """Return the booking, or NotFound when it does not exist or is not the user's to see."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not access.can_see_booking(user, booking):
        raise NotFound(_("No such booking among those you can see."))
    return booking


def list_bookings(
    user: User,
    *,
    project_id: int | None = None,
    facility_id: int | None = None,
    equipment_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    include_cancelled: bool = False,
) -> list[Booking]:
    """Return the bookings the user may see, in time order, optionally filtered."""
    query = (
        select(Booking)
        .join(BookingRequest, Booking.request_id == BookingRequest.id)
        .join(Equipment, Booking.equipment_id == Equipment.id)
        .where(access.visible_bookings(user))
        .order_by(Booking.start, Booking.id)
    )
    if project_id is not None:
        query = query.where(BookingRequest.project_id == project_id)
    if facility_id is not None:
        query = query.where(Equipment.facility_id == facility_id)
    if equipment_id is not None:
        query = query.where(Booking.equipment_id == equipment_id)
    if start is not None:
        query = query.where(Booking.end > start)
    if end is not None:
        query = query.where(Booking.start < end)
    if not include_cancelled:
        query = query.where(Booking.status == BookingStatus.ACTIVE.value)
    return list(db.session.scalars(query))


def availability(
    equipment: Equipment, start: datetime, end: datetime, viewer: User
) -> list[dict[str, Any]]:
    """Return the unit's busy blocks in [start, end): bookings (other projects' only as
    "Booked", unless the viewer manages the facility), maintenance and closures."""
    from app.catalog.hours import closures_between

    blocks: list[dict[str, Any]] = []
    for booking in active_bookings_between(equipment.id, start, end):
        own = access.is_member(viewer, booking.request.project_id)
        shown = access.sees_booking_details(viewer, booking)
        if own:
            title = booking.request.title
        elif shown:
            title = f"{booking.request.title} · {booking.request.project.name}"
        else:
            title = _("Booked")
        blocks.append(
            {
                "kind": "booking",
                "start": booking.start,
                "end": booking.end,
                "title": title,
                "own": own,
                "booking_id": booking.id if shown else None,
            }
        )
    for window in db.session.scalars(
        select(MaintenanceWindow).where(
            MaintenanceWindow.equipment_id == equipment.id,
            MaintenanceWindow.cancelled_at.is_(None),
            MaintenanceWindow.start < end,
            MaintenanceWindow.end > start,
        )
    ):
        blocks.append(
            {
                "kind": "maintenance",
                "start": window.start,
                "end": window.end,
                "title": in_language_text(window, "reason") or _("Maintenance"),
                "own": False,
                "booking_id": None,
            }
        )
    for closure in closures_between(equipment.facility, start, end):
        blocks.append(
            {
                "kind": "closure",
                "start": closure.start,
                "end": closure.end,
                "title": in_language_text(closure, "reason") or _("Closed"),
                "own": False,
                "booking_id": None,
            }
        )
    blocks.sort(key=lambda b: (b["start"], b["kind"]))
    return blocks


# ---------------------------------------------------------------- writing


def manual_booking(
    user: User,
    *,
    project_id: int,
    equipment_id: int,
    start: datetime,
    end: datetime,
    title: str,
    note: str = "",
    override: bool = False,
    override_reason: str = "",
) -> Booking:
    """Book a unit for a project directly (a manager's decision), published and pinned.

    The booking is checked like a move: never over another booking, its changeover or
    maintenance; outside the unit's staffed hours only with ``override`` and a reason, which
    goes into the audit log and onto the project's pages."""
    write_transaction()
    unit = chosen_unit(equipment_id)
    access.require_manager(user, unit.facility_id)
    project = db.session.get(Project, project_id) if isinstance(project_id, int) else None
    if project is None:
        raise ValidationError(_("Choose a project."), field="project")
    title = (title or "").strip()
    if not title:
        raise ValidationError(_("Give the booking a title."), field="title")
    if len(title) > 200:
        raise ValidationError(_("Keep the title under 200 characters."), field="title")
    if len(note or "") > 300:
        raise ValidationError(_("Keep the note under 300 characters."), field="note")
    if not unit.is_active:
        raise ValidationError(_("This unit is retired."), field="equipment")
    start, end = _times(start, end)
    override_reason = _override_reason(override, override_reason)
    with overlap_guard():
        lock_units([unit.id])
        lane, blocking, maintenance = find_lane(unit, start, end, project.id)
        if lane is None:
            raise conflict_error(unit, blocking, maintenance)
        req = BookingRequest(
            project_id=project.id,
            created_by_id=user.id,
            title=title,
            earliest_start=start,
            deadline=end,
            weight=1,
            status=RequestStatus.BOOKED.value,
        )
        step = RequestStep(
            position=0,
            facility_id=unit.facility_id,
            duration_minutes=int((end - start).total_seconds() // 60),
            attended=True,
            note=(note or "").strip(),
            units=[unit],
        )
        req.steps.append(step)
        booking = Booking(
            request=req,
            step=step,
            equipment=unit,
            lane=lane,
            start=start,
            end=end,
            source="manual",
            pinned=True,
        )
        db.session.add_all([req, booking])
        db.session.flush()
        try:
            broken = _rules_broken_by_move(booking, unit, start, end, override=override, new=True)
        except Conflict:
            db.session.rollback()
            raise
        extra: dict[str, Any] = {}
        if broken:
            extra = {"override": True, "override_reason": override_reason, "broken": broken}
        audit.record(
            user,
            "booking.manual",
            "booking",
            booking.id,
            facility_id=unit.facility_id,
            project_id=project.id,
            equipment=unit.slug,
            start=start,
            end=end,
            title=title,
            **extra,
        )
        db.session.commit()
    return booking


def cancel_booking(user: User, booking_id: int, reason: str = "") -> Booking:
    """Cancel a booking (its project's members or its managers); the row stays, cancelled."""
    write_transaction()
    booking = get_booking(user, booking_id)
    if booking.status != BookingStatus.ACTIVE.value:
        raise Conflict(_("This booking is already cancelled."))
    if len(reason or "") > OVERRIDE_REASON_LENGTH:
        raise ValidationError(_("Keep the reason under 2000 characters."), field="reason")
    booking.status = BookingStatus.CANCELLED.value
    booking.cancelled_at = utcnow()
    _bump(booking)
    req = booking.request
    if all(b.status == BookingStatus.CANCELLED.value for b in req.bookings):
        req.status = RequestStatus.CANCELLED.value
    audit.record(
        user,
        "booking.cancel",
        "booking",
        booking.id,
        facility_id=booking.equipment.facility_id,
        project_id=req.project_id,
        reason=(reason or "").strip(),
    )
    db.session.commit()
    signals.booking_cancelled.send(booking, by=user, reason=(reason or "").strip())
    return booking


def _managed_booking(user: User, booking_id: int) -> Booking:
    booking = get_booking(user, booking_id)
    access.require_manager(user, booking.equipment.facility_id)
    if booking.status != BookingStatus.ACTIVE.value:
        raise Conflict(_("This booking is cancelled."))
    return booking


def release_booking(user: User, booking_id: int, reason: str) -> Booking:
    """Let the next solve move a published booking; who and why go into the audit log."""
    write_transaction()
    booking = _managed_booking(user, booking_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the booking may move."), field="reason")
    if len(reason) > 2000:
        raise ValidationError(_("Keep the reason under 2000 characters."), field="reason")
    booking.pinned = False
    booking.released_by_id = user.id
    booking.release_reason = reason
    audit.record(
        user,
        "booking.release",
        "booking",
        booking.id,
        facility_id=booking.equipment.facility_id,
        project_id=booking.request.project_id,
        reason=reason,
    )
    db.session.commit()
    signals.booking_released.send(booking, by=user, reason=reason)
    return booking


def pin_booking(user: User, booking_id: int) -> Booking:
    """Keep a booking exactly where it is in later solves."""
    write_transaction()
    booking = _managed_booking(user, booking_id)
    booking.pinned = True
    booking.released_by_id = None
    booking.release_reason = ""
    audit.record(
        user,
        "booking.pin",
        "booking",
        booking.id,
        facility_id=booking.equipment.facility_id,
        project_id=booking.request.project_id,
    )
    db.session.commit()
    return booking


def reschedule_booking(
    user: User,
    booking_id: int,
    *,
    start: datetime,
    end: datetime,
    equipment_id: int | None = None,
    reason: str = "",
    override: bool = False,
    override_reason: str = "",
) -> Booking:
    """Move a booking to another time (and unit of the same facility), if that is free and
    breaks none of the rules the solver obeys.

    With ``override`` and a reason, a manager moves it against the request's own rules
    (capability, training, staffed hours, window, order and lags); the rules broken and the
    reason go into the audit log and onto the member's pages. A clash with another booking,
    its changeover or maintenance is never overridden."""

    write_transaction()
    if len(reason or "") > OVERRIDE_REASON_LENGTH:
        raise ValidationError(_("Keep the reason under 2000 characters."), field="reason")
    booking = _managed_booking(user, booking_id)
    unit = booking.equipment if equipment_id is None else chosen_unit(equipment_id)
    if unit.facility_id != booking.equipment.facility_id:
        raise ValidationError(_("Choose a unit of the same facility."), field="equipment")
    if not unit.is_active:
        raise ValidationError(_("This unit is retired."), field="equipment")
    start, end = _times(start, end)
    override_reason = _override_reason(override, override_reason)
    with overlap_guard():
        lock_units([unit.id, booking.equipment_id])
        lane, blocking, maintenance = find_lane(
            unit, start, end, booking.request.project_id, ignore=[booking.id]
        )
        if lane is None:
            raise conflict_error(unit, blocking, maintenance)
        broken = _rules_broken_by_move(booking, unit, start, end, override=override)
        before = {"equipment": booking.equipment.slug, "start": booking.start, "end": booking.end}
        booking.equipment = unit
        booking.lane = lane
        booking.start, booking.end = start, end
        _bump(booking)
        extra: dict[str, Any] = {"reason": reason.strip()} if (reason or "").strip() else {}
        if broken:
            extra |= {"override": True, "override_reason": override_reason, "broken": broken}
        audit.record(
            user,
            "booking.reschedule",
            "booking",
            booking.id,
            facility_id=unit.facility_id,
            project_id=booking.request.project_id,
            before=before,
            after={"equipment": unit.slug, "start": start, "end": end},
            **extra,
        )
        db.session.commit()
    told = (reason or "").strip() or override_reason
    signals.booking_moved.send(booking, by=user, before=before, reason=told)
    return booking


def _override_reason(override: bool, reason: Any) -> str:
    """Return the cleaned reason for a move against the rules; required with `override`."""
    reason = reason.strip() if isinstance(reason, str) else ""
    if override and not reason:
        raise ValidationError(
            _("Say why the move may break the rules; the project sees the reason."),
            field="override_reason",
        )
    if len(reason) > OVERRIDE_REASON_LENGTH:
        raise ValidationError(_("Keep the reason under 2000 characters."), field="override_reason")
    return reason


def _rules_broken_by_move(
    booking: Booking,
    unit: Equipment,
    start: datetime,
    end: datetime,
    *,
    override: bool,
    new: bool = False,
) -> list[dict[str, Any]]:
    """Return the solver's rules the move breaks, when `override` allows them; raise the 409
    that lists them otherwise, or when one may never be overridden."""
    from app.booking import placement

    broken = placement.move_findings(booking, unit, start, end, new=new)
    fixed = [f for f in broken if f["code"] in placement.NEVER_OVERRIDDEN]
    if fixed or (broken and not override):
        texts = [placement.finding_text(f, tz=unit.facility.timezone) for f in broken]
        rules = " ".join(texts)
        raise Conflict(
            _("This booking breaks the rules the solver obeys: %(rules)s", rules=rules)
            if new
            else _("This move breaks the rules the solver obeys: %(rules)s", rules=rules),
            violations=[
                {"code": f["code"], "detail": t} for f, t in zip(broken, texts, strict=True)
            ],
            overridable=not fixed,
        )
    return broken


def overrides(bookings: Iterable[Booking]) -> list[dict[str, Any]]:
    """Return the moves a manager made against the rules for these bookings, newest first:
    when, which booking, the reason and the rules broken as sentences of the reader's language.
    """
    from app.booking import placement

    by_id = {b.id: b for b in bookings}
    if not by_id:
        return []
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action.in_(("booking.reschedule", "booking.manual")),
            AuditEvent.object_type == "booking",
            AuditEvent.object_id.in_(by_id),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    out = []
    for event in events:
        details = event.details or {}
        if not details.get("override"):
            continue
        booking = by_id[event.object_id]
        tz = booking.equipment.facility.timezone
        # A move says where it went under "after"; a manual booking's place is its own.
        after = details.get("after") or details
        unit = db.session.scalar(select(Equipment).where(Equipment.slug == after.get("equipment")))
        out.append(
            {
                "booking": booking,
                "unit": unit or booking.equipment,
                "start": datetime.fromisoformat(after["start"])
                if "start" in after
                else booking.start,
                "end": datetime.fromisoformat(after["end"]) if "end" in after else booking.end,
                "at": event.at,
                "reason": details.get("override_reason", ""),
                "rules": [placement.finding_text(f, tz=tz) for f in details.get("broken", [])],
            }
        )
    return out
