"""What actually happened to a booking: checked in, checked out, or a no-show."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.dbtypes import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.booking.models import Booking


class UsageState(enum.StrEnum):
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"
    NO_SHOW = "no_show"


class UsageVia(enum.StrEnum):
    STAFF = "staff"
    KIOSK = "kiosk"
    CORRECTION = "correction"
    SCHEDULER = "scheduler"


class Usage(db.Model):
    """The actual times of one booking, as the facility's staff or the kiosk recorded them."""

    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    state: Mapped[str] = mapped_column(String(20))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    checked_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    # How the last change came in: staff, kiosk, a manager's correction, the no-show job.
    via: Mapped[str] = mapped_column(String(20))
    corrected: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    booking: Mapped[Booking] = relationship()

    def __repr__(self) -> str:
        return f"<Usage booking {self.booking_id} {self.state}>"
