"""The conflict rules every write of a booking goes through: lock the units, find a free lane,
name what is in the way, and turn the database's overlap guard into a 409."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.booking.models import (
    Booking,
    BookingStatus,
)
from app.catalog.models import Equipment, MaintenanceWindow
from app.database import is_postgres
from app.errors import Conflict, ValidationError
from app.extensions import db
from app.i18n import in_language_text, localised

if TYPE_CHECKING:
    from collections.abc import Iterable


def lock_units(unit_ids: Iterable[int]) -> None:
    """Lock the units' rows until the transaction ends, so two writers check one after another.

    On PostgreSQL `SELECT ... FOR UPDATE` in id order (no deadlocks); on SQLite the caller's
    write_transaction() already holds the database's write lock."""
    ids = sorted(set(unit_ids))
    if ids and is_postgres():
        db.session.execute(
            select(Equipment.id)
            .where(Equipment.id.in_(ids))
            .order_by(Equipment.id)
            .with_for_update()
        )


def describe(booking: Booking) -> dict[str, Any]:
    """Return a conflicting booking as the problem body lists it."""
    return {
        "booking": booking.id,
        "equipment": booking.equipment.slug,
        "start": booking.start.isoformat(),
        "end": booking.end.isoformat(),
    }


def find_lane(
    unit: Equipment,
    start: datetime,
    end: datetime,
    project_id: int,
    *,
    ignore: Iterable[int] = (),
) -> tuple[int | None, list[Booking], list[MaintenanceWindow]]:
    """Return a free lane of the unit for [start, end), or None with what stands in the way.

    On a capacity-1 unit a booking of another project also needs the unit's changeover gap."""
    gap = timedelta(minutes=unit.changeover_minutes) if unit.capacity == 1 else timedelta(0)
    ignored = list(ignore) or [-1]
    nearby = list(
        db.session.scalars(
            select(Booking).where(
                Booking.equipment_id == unit.id,
                Booking.status == BookingStatus.ACTIVE.value,
                Booking.start < end + gap,
                Booking.end > start - gap,
                Booking.id.not_in(ignored),
            )
        )
    )
    blocking = [
        b
        for b in nearby
        if (b.start < end and b.end > start)
        or (b.request.project_id != project_id and unit.capacity == 1)
    ]
    maintenance = list(
        db.session.scalars(
            select(MaintenanceWindow).where(
                MaintenanceWindow.equipment_id == unit.id,
                MaintenanceWindow.cancelled_at.is_(None),
                MaintenanceWindow.start < end,
                MaintenanceWindow.end > start,
            )
        )
    )
    if maintenance:
        return None, blocking, maintenance
    used = {b.lane for b in blocking}
    free = [lane for lane in range(unit.capacity) if lane not in used]
    if not free:
        return None, blocking, []
    return free[0], [], []


def conflict_error(
    unit: Equipment, bookings: list[Booking], maintenance: list[MaintenanceWindow]
) -> Conflict:
    """Return the 409 that names what is in the way."""
    if maintenance:
        detail = _(
            "%(unit)s is under maintenance then (%(reason)s).",
            unit=localised(unit),
            reason=in_language_text(maintenance[0], "reason") or _("no reason given"),
        )
    else:
        detail = _(
            "%(unit)s is already booked then (bookings %(ids)s), or too close to allow its "
            "changeover.",
            unit=localised(unit),
            ids=", ".join(f"#{b.id}" for b in bookings),
        )
    return Conflict(
        detail,
        conflicts=[describe(b) for b in bookings],
        maintenance=[
            {
                "start": m.start.isoformat(),
                "end": m.end.isoformat(),
                "reason_zh": m.reason_zh,
                "reason_en": m.reason_en,
            }
            for m in maintenance
        ],
    )


@contextmanager
def overlap_guard() -> Iterator[None]:
    """Turn the database's last line of defence (the exclusion constraint) into a 409."""
    try:
        yield
    except IntegrityError as error:
        db.session.rollback()
        if "ex_bookings_no_overlap" not in str(error.orig):
            raise
        raise Conflict(
            _("Another booking was made for this time at the same moment; reload and retry.")
        ) from error


def chosen_unit(equipment_id: Any) -> Equipment:
    """Return the unit of that id, or ValidationError naming the field `equipment`."""
    unit = db.session.get(Equipment, equipment_id) if isinstance(equipment_id, int) else None
    if unit is None:
        raise ValidationError(_("Choose a unit."), field="equipment")
    return unit


def active_bookings_between(equipment_id: int, start: datetime, end: datetime) -> list[Booking]:
    """Return the unit's active bookings that overlap [start, end), earliest first."""
    return list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.equipment_id == equipment_id,
                Booking.status == BookingStatus.ACTIVE.value,
                Booking.start < end,
                Booking.end > start,
            )
            .options(joinedload(Booking.request))
            .order_by(Booking.start)
        )
    )
