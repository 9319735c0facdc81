"""The inbox: one row per thing a user is told, and the kinds a user takes by e-mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.dbtypes import UTCDateTime, utcnow
from app.extensions import db


class Notification(db.Model):
    """One entry of a user's inbox, written in the user's language when it happened."""

    __tablename__ = "notifications"
    # A reminder enters the inbox when its outbox row is delivered, once.
    __table_args__ = (UniqueConstraint("outbox_id", name="uq_notifications_outbox_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), default=None)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), default=None)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} user={self.user_id}>"


class EmailOptOut(db.Model):
    """A kind of notification the user does not want by e-mail (all kinds are sent unless)."""

    __tablename__ = "notification_email_opt_outs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
