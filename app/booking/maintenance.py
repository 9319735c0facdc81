"""Maintenance: take a unit out of service for a window, never over a booking."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import access, dates
from app.accounts.models import User
from app.booking import audit
from app.booking.conflicts import active_bookings_between, chosen_unit, describe, lock_units
from app.catalog.models import MaintenanceWindow
from app.database import write_transaction
from app.errors import Conflict, ValidationError
from app.extensions import db

if TYPE_CHECKING:
    pass

# The length of a maintenance reason in each language (MaintenanceWindow.reason_zh/_en).
MAX_MAINTENANCE_REASON = 200


def add_maintenance(
    user: User,
    equipment_id: int,
    *,
    start: datetime,
    end: datetime,
    reason_zh: str = "",
    reason_en: str = "",
    force: bool = False,
) -> MaintenanceWindow:
    """Take a unit out of service for a window; refused while active bookings overlap it.

    The reason may be written in Chinese, in English or both; one written in one language only
    is shown to readers of the other marked as that language.

    `force` is refused as well: a manager cancels or reschedules the bookings first, so every
    affected project hears of it through those changes."""
    write_transaction()
    unit = chosen_unit(equipment_id)
    access.require_manager(user, unit.facility_id)
    reasons = {"reason_zh": (reason_zh or "").strip(), "reason_en": (reason_en or "").strip()}
    for name, text in reasons.items():
        if len(text) > MAX_MAINTENANCE_REASON:
            raise ValidationError(
                _("Keep the reason under %(n)d characters.", n=MAX_MAINTENANCE_REASON),
                field=name,
            )
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValidationError(_("Give the time with its UTC offset."), field=name)
        dates.check(value, name)
    if end <= start:
        raise ValidationError(_("The end must be after the start."), field="end")
    lock_units([unit.id])
    overlapping = active_bookings_between(unit.id, start, end)
    if overlapping:
        raise Conflict(
            _(
                "Active bookings overlap this window (%(ids)s). Cancel or reschedule them "
                "first; maintenance is never forced over a booking.",
                ids=", ".join(f"#{b.id}" for b in overlapping),
            ),
            conflicts=[describe(b) for b in overlapping],
            force_refused=bool(force),
        )
    duplicate = db.session.scalar(
        select(func.count(MaintenanceWindow.id)).where(
            MaintenanceWindow.equipment_id == unit.id,
            MaintenanceWindow.start == start,
            MaintenanceWindow.end == end,
        )
    )
    if duplicate:
        raise Conflict(_("This unit already has a maintenance window at exactly that time."))
    window = MaintenanceWindow(
        equipment_id=unit.id,
        start=start,
        end=end,
        **reasons,
        source="manual",
        created_by_id=user.id,
    )
    db.session.add(window)
    db.session.flush()
    audit.record(
        user,
        "maintenance.add",
        "maintenance",
        window.id,
        facility_id=unit.facility_id,
        equipment=unit.slug,
        start=start,
        end=end,
        **reasons,
    )
    db.session.commit()
    return window
