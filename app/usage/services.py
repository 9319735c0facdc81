"""Check-in, check-out, no-shows and corrections of bookings: the rules of usage.

Views, the kiosk and the no-show job all call these; each owns its transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from app import access
from app.accounts.models import Project, User
from app.billing import services as billing
from app.booking import audit, signals
from app.booking.models import Booking, BookingRequest, BookingStatus, RequestStatus
from app.catalog.models import Equipment, Facility
from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.usage.models import Usage, UsageState, UsageVia

log = logging.getLogger(__name__)

# How early before its start a booking may be checked in.
EARLY_CHECK_IN = timedelta(minutes=30)
# The no-show job looks back this far: older bookings without usage predate check-in.
NO_SHOW_LOOKBACK = timedelta(days=2)
MAX_REASON = 2000


def _booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(_("No such booking among those you can see."))
    return booking


def usage_of(booking: Booking) -> Usage | None:
    """Return the booking's usage record, if any."""
    return db.session.scalar(select(Usage).where(Usage.booking_id == booking.id))


def _allowed(user: User, booking: Booking, via: UsageVia) -> None:
    ok = (
        access.can_use_kiosk(user, booking)
        if via == UsageVia.KIOSK
        else access.can_record_usage(user, booking)
    )
    if not ok:
        raise NotFound(_("No such booking among those you can see."))


def check_in(
    user: User, booking_id: int, *, via: UsageVia = UsageVia.STAFF, now: datetime | None = None
) -> Usage:
    """Record that the booking's team arrived; from EARLY_CHECK_IN before its start to its end."""
    now = now or utcnow()
    write_transaction()
    booking = _booking(booking_id)
    _allowed(user, booking, via)
    if booking.status != BookingStatus.ACTIVE.value:
        raise Conflict(_("This booking is cancelled."))
    if usage_of(booking) is not None:
        raise Conflict(_("This booking is already checked in."))
    if now < booking.start - EARLY_CHECK_IN:
        raise Conflict(
            _(
                "Check-in opens %(minutes)d minutes before the booking starts.",
                minutes=EARLY_CHECK_IN // timedelta(minutes=1),
            )
        )
    if now >= booking.end:
        raise Conflict(_("The booking is over; a manager can record its usage as a correction."))
    usage = Usage(
        booking_id=booking.id,
        state=UsageState.CHECKED_IN.value,
        checked_in_at=now,
        checked_in_by_id=user.id,
        via=via.value,
    )
    db.session.add(usage)
    booking.attended = True
    audit.record(
        user,
        "usage.check_in",
        "booking",
        booking.id,
        facility_id=booking.equipment.facility_id,
        project_id=booking.request.project_id,
        at=now,
        via=via.value,
    )
    db.session.commit()
    return usage


def check_out(
    user: User, booking_id: int, *, via: UsageVia = UsageVia.STAFF, now: datetime | None = None
) -> Usage:
    """Record that the team left; the usage becomes a charge at the facility's rates."""
    now = now or utcnow()
    write_transaction()
    booking = _booking(booking_id)
    _allowed(user, booking, via)
    usage = usage_of(booking)
    if usage is None or usage.state != UsageState.CHECKED_IN.value:
        raise Conflict(_("Only a checked-in booking can be checked out."))
    assert usage.checked_in_at is not None
    if now <= usage.checked_in_at:
        raise Conflict(_("Check-out must come after check-in."))
    usage.state = UsageState.CHECKED_OUT.value
    usage.checked_out_at = now
    usage.checked_out_by_id = user.id
    usage.via = via.value
    billing.record_charge(booking, usage)
    audit.record(
        user,
        "usage.check_out",
        "booking",
        booking.id,
        facility_id=booking.equipment.facility_id,
        project_id=booking.request.project_id,
        at=now,
        via=via.value,
    )
    db.session.commit()
    return usage


def correct_usage(
    user: User,
    booking_id: int,
    *,
    checked_in_at: datetime | None,
    checked_out_at: datetime | None,
    reason: str,
    now: datetime | None = None,
) -> Usage:
    """Set a booking's actual times (a manager, with a reason); the charge follows."""
    now = now or utcnow()
    write_transaction()
    booking = _booking(booking_id)
    if not access.can_correct_usage(user, booking):
        raise NotFound(_("No such booking among those you can see."))
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = _("Say why the usage is corrected.")
    elif len(reason) > MAX_REASON:
        errors["reason"] = _("Keep the reason under 2000 characters.")
    if checked_in_at is None:
        errors["checked_in_at"] = _("Enter the check-in time.")
    if checked_out_at is None:
        errors["checked_out_at"] = _("Enter the check-out time.")
    elif checked_in_at is not None and checked_out_at <= checked_in_at:
        errors["checked_out_at"] = _("Check-out must come after check-in.")
    elif checked_out_at > now:
        errors["checked_out_at"] = _("Check-out cannot lie in the future.")
    if errors:
        raise ValidationError(next(iter(errors.values())), errors=errors)
    assert checked_in_at is not None and checked_out_at is not None
    billing.require_unbilled(booking)
    usage = usage_of(booking)
    before = None
    if usage is None:
        usage = Usage(booking_id=booking.id, state=UsageState.CHECKED_OUT.value, via="")
        db.session.add(usage)
    else:
        before = {
            "state": usage.state,
            "checked_in_at": usage.checked_in_at,
            "checked_out_at": usage.checked_out_at,
        }
    usage.state = UsageState.CHECKED_OUT.value
    usage.checked_in_at = checked_in_at
    usage.checked_out_at = checked_out_at
    usage.checked_in_by_id = usage.checked_in_by_id or user.id
    usage.checked_out_by_id = user.id
    usage.via = UsageVia.CORRECTION.value
    usage.corrected = True
    booking.attended = True
    db.session.flush()
    billing.record_charge(booking, usage)
    audit.record(
        user,
        "usage.correct",
        "booking",
        booking.id,
        facility_id=booking.equipment.facility_id,
        project_id=booking.request.project_id,
        reason=reason,
        before=before,
        after={"checked_in_at": checked_in_at, "checked_out_at": checked_out_at},
    )
    db.session.commit()
    return usage


# ---------------------------------------------------------------- no-shows


def no_show_candidates(now: datetime) -> list[int]:
    """Return the active bookings past their facility's grace period without a check-in."""
    rows = db.session.execute(
        select(Booking.id, Booking.start, Facility.no_show_grace_minutes)
        .join(Equipment, Booking.equipment_id == Equipment.id)
        .join(Facility, Equipment.facility_id == Facility.id)
        .outerjoin(Usage, Usage.booking_id == Booking.id)
        .where(
            Booking.status == BookingStatus.ACTIVE.value,
            Usage.id.is_(None),
            Booking.start <= now,
            Booking.start > now - NO_SHOW_LOOKBACK,
        )
        .order_by(Booking.start, Booking.id)
    )
    return [
        booking_id for booking_id, start, grace in rows if start + timedelta(minutes=grace) <= now
    ]


def release_no_show(booking_id: int, now: datetime) -> Booking | None:
    """Release one booking as a no-show: cancel it, count it, free its slot for the waitlist.

    Returns None when it was checked in (or cancelled) meanwhile."""
    write_transaction()
    booking = db.session.get(Booking, booking_id)
    if (
        booking is None
        or booking.status != BookingStatus.ACTIVE.value
        or usage_of(booking) is not None
    ):
        db.session.rollback()
        return None
    grace = booking.equipment.facility.no_show_grace_minutes
    booking.status = BookingStatus.CANCELLED.value
    booking.cancelled_at = now
    booking.attended = False
    booking.sequence += 1
    booking.updated_at = now
    db.session.add(
        Usage(booking_id=booking.id, state=UsageState.NO_SHOW.value, via=UsageVia.SCHEDULER.value)
    )
    req = booking.request
    if all(b.status == BookingStatus.CANCELLED.value for b in req.bookings):
        req.status = RequestStatus.CANCELLED.value
    audit.record(
        None,
        "booking.no_show",
        "booking",
        booking.id,
        facility_id=booking.equipment.facility_id,
        project_id=req.project_id,
        grace_minutes=grace,
    )
    db.session.commit()
    # The cancellation path: the waitlist re-solve and the team's notification listen to it.
    signals.booking_cancelled.send(booking, by=None, reason="", no_show=True)
    return booking


def release_no_shows(now: datetime) -> list[Booking]:
    """Release every booking not checked in within its facility's grace period."""
    released = []
    for booking_id in no_show_candidates(now):
        booking = release_no_show(booking_id, now)
        if booking is not None:
            released.append(booking)
    if released:
        log.info("released %d bookings as no-shows", len(released))
    return released


@dataclass(frozen=True)
class NoShowCount:
    project: Project
    no_shows: int
    bookings: int

    @property
    def share(self) -> float:
        return self.no_shows / self.bookings if self.bookings else 0.0


def no_show_counts(user: User, facility: Facility, since: datetime) -> list[NoShowCount]:
    """Return, per project, the facility's no-shows and bookings started since `since`."""
    if not access.can_see_no_shows(user, facility):
        raise NotFound(_("No such facility among those you manage."))
    no_show = func.sum(case((Usage.state == UsageState.NO_SHOW.value, 1), else_=0))
    rows = db.session.execute(
        select(Project, func.count(Booking.id), no_show)
        .join(BookingRequest, BookingRequest.project_id == Project.id)
        .join(Booking, Booking.request_id == BookingRequest.id)
        .join(Equipment, Booking.equipment_id == Equipment.id)
        .outerjoin(Usage, Usage.booking_id == Booking.id)
        .where(
            Equipment.facility_id == facility.id,
            Booking.start >= since,
            (Booking.status == BookingStatus.ACTIVE.value)
            | (Usage.state == UsageState.NO_SHOW.value),
        )
        .group_by(Project.id)
        .order_by(Project.name)
    )
    return [
        NoShowCount(project, no_shows=int(shows or 0), bookings=int(total))
        for project, total, shows in rows
    ]


# ---------------------------------------------------------------- the day sheet


@dataclass(frozen=True)
class SheetRow:
    booking: Booking
    usage: Usage | None


def local_day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """Return the UTC bounds of a local day."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), zone)


def day_sheet(
    user: User, facility: Facility, day: date, *, equipment: Equipment | None = None
) -> list[SheetRow]:
    """Return the day's bookings of a facility (or of one unit) with their usage.

    Managers see every booking; at a kiosk a member sees only their projects' own."""
    start, end = local_day_bounds(day, facility.timezone)
    query = (
        select(Booking, Usage)
        .join(Equipment, Booking.equipment_id == Equipment.id)
        .join(BookingRequest, Booking.request_id == BookingRequest.id)
        .outerjoin(Usage, Usage.booking_id == Booking.id)
        .where(
            Equipment.facility_id == facility.id,
            Booking.start < end,
            Booking.end > start,
            (Booking.status == BookingStatus.ACTIVE.value) | Usage.id.is_not(None),
        )
        .order_by(Booking.start, Booking.id)
    )
    if equipment is not None:
        query = query.where(Booking.equipment_id == equipment.id)
    if not access.can_manage(user, facility):
        if equipment is None:
            raise NotFound(_("No such facility among those you manage."))
        query = query.where(access.own_projects(user, BookingRequest.project_id))
    return [SheetRow(booking, usage) for booking, usage in db.session.execute(query)]
