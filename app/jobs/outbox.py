"""The outbox: reminders written once per booking, member and start time, delivered once.

Queuing is idempotent through `OutboxMessage.dedupe_key`. Delivery claims each row with a
conditional UPDATE (`channel '' → 'sending'`) before talking to the SMTP server, so two
deliveries, or one delivery and a restarted one, never send the same row; a process killed
between the server accepting a message and the row being marked leaves it in `sending`, which
is never retried (at most once, never twice). Every delivered message is in its user's inbox
(`app.notifications`); it goes by e-mail too when `SMTP_URL` is set and the user takes its kind
by e-mail (channel `smtp`), otherwise it stays in the app (channel `app`)."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from urllib.parse import unquote, urlsplit

from flask import current_app, url_for
from flask_babel import force_locale, gettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import access
from app.accounts.models import User
from app.booking.models import Booking, BookingRequest, BookingStatus
from app.database import is_postgres, write_transaction
from app.dbtypes import utcnow
from app.extensions import db
from app.i18n import local_time, localised, user_language
from app.jobs.models import OutboxMessage
from app.notifications import services as notifications

log = logging.getLogger(__name__)

REMINDER_LEAD = timedelta(hours=24)
MAX_ATTEMPTS = 5
BATCH = 100

WAITING, SENDING, SMTP, APP, DROPPED, FAILED = "", "sending", "smtp", "app", "dropped", "failed"


def reminder_key(booking: Booking, user: User) -> str:
    """Return the key that makes a reminder unique: booking, member and start time."""
    return f"reminder:{booking.id}:{user.id}:{booking.start.isoformat()}"


def _booking_link(booking: Booking) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL", "")
    if not base or "booking.booking_detail" not in current_app.view_functions:
        return ""
    with current_app.test_request_context(base_url=base):
        return url_for("booking.booking_detail", booking_id=booking.id, _external=True)


def render_reminder(booking: Booking, user: User) -> tuple[str, str]:
    """Return the subject and body of a reminder, in the member's language."""
    facility = booking.equipment.facility
    with force_locale(user_language(user)):
        values = {
            "title": booking.request.title,
            "unit": localised(booking.equipment),
            "facility": localised(facility),
            "start": local_time(booking.start, facility.timezone, "full"),
            "end": local_time(booking.end, facility.timezone, "short"),
        }
        subject = gettext("Reminder: %(unit)s, %(start)s", **values)
        lines = [
            gettext("Hello %(name)s,", name=user.name),
            "",
            gettext(
                "Your booking “%(title)s” on %(unit)s at %(facility)s starts %(start)s "
                "and ends %(end)s.",
                **values,
            ),
        ]
        if facility.address_zh:
            address = localised(facility, "address")
            lines.append(gettext("Address: %(address)s", address=address))
        link = _booking_link(booking)
        if link:
            lines += ["", gettext("Details: %(link)s", link=link)]
        lines += ["", gettext("This reminder was sent by Pilotslot.")]
    return subject, "\n".join(lines)


def queue_booking_reminders(now: datetime) -> int:
    """Add a reminder for each member of each project whose booking starts within 24 hours."""
    write_transaction()
    bookings = db.session.scalars(
        select(Booking)
        .where(
            Booking.status == BookingStatus.ACTIVE.value,
            Booking.start > now,
            Booking.start <= now + REMINDER_LEAD,
        )
        .options(selectinload(Booking.request).selectinload(BookingRequest.project))
        .order_by(Booking.start, Booking.id)
    ).all()
    existing = set(
        db.session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.booking_id.in_([b.id for b in bookings])
            )
        )
    )
    added = 0
    for booking in bookings:
        members = db.session.scalars(
            select(User)
            .where(User.id.in_(access.project_member_ids(booking.request.project_id)), User.active)
            .order_by(User.id)
        )
        for user in members:
            key = reminder_key(booking, user)
            if key in existing:
                continue
            subject, body = render_reminder(booking, user)
            message = OutboxMessage(
                dedupe_key=key,
                user_id=user.id,
                booking_id=booking.id,
                kind="reminder",
                subject=subject,
                body=body,
                due_at=booking.start - REMINDER_LEAD,
            )
            try:
                with db.session.begin_nested():
                    db.session.add(message)
            except IntegrityError:
                # Queued meanwhile by another run: the key did its job.
                continue
            added += 1
    db.session.commit()
    return added


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str
    password: str
    security: str  # "none", "starttls" or "ssl"


def parse_smtp_url(url: str) -> SmtpSettings:
    """Read `smtp://user:pass@host:port`, `smtp+starttls://...` or `smtps://...`."""
    parts = urlsplit(url)
    security = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "ssl"}.get(parts.scheme)
    if security is None or not parts.hostname:
        raise ValueError(
            "SMTP_URL must look like smtp://user:pass@host:port (or smtp+starttls://, smtps://)"
        )
    default_port = {"none": 25, "starttls": 587, "ssl": 465}[security]
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or default_port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        security=security,
    )


def _claim(now: datetime, channel: str) -> list[int]:
    """Claim due waiting messages for one delivery; return the ids this call owns."""
    write_transaction()
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.channel == WAITING, OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(BATCH)
    )
    if is_postgres():
        # Rows another delivery is claiming are skipped rather than waited for.
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for message_id in db.session.scalars(query).all():
        result = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.channel == WAITING)
            .values(channel=channel, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(message_id)
    db.session.commit()
    return claimed


def _still_wanted(message: OutboxMessage) -> bool:
    if message.booking_id is None:
        return True
    booking = db.session.get(Booking, message.booking_id)
    return (
        booking is not None
        and booking.status == BookingStatus.ACTIVE.value
        and booking.start - REMINDER_LEAD == message.due_at
    )


def _email(message: OutboxMessage, sender: str) -> EmailMessage:
    user = db.session.get(User, message.user_id)
    assert user is not None
    email = EmailMessage()
    email["From"] = sender
    email["To"] = formataddr((user.name, user.email))
    email["Subject"] = message.subject
    # Stable per outbox row, so a mail client folds any duplicate a relay might make.
    email["Message-ID"] = f"<outbox-{message.id}.{message.dedupe_key.replace(':', '.')}@pilotslot>"
    email.set_content(message.body)
    return email


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.security == "ssl":
        connection: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=30)
    else:
        connection = smtplib.SMTP(settings.host, settings.port, timeout=30)
        if settings.security == "starttls":
            connection.starttls()
    if settings.username:
        connection.login(settings.username, settings.password)
    return connection


def _finish(message_id: int, channel: str, *, error: str = "") -> None:
    # The message was just read in a deferred transaction; on SQLite turning that into a write
    # fails at once ("database is locked") if another delivery wrote meanwhile.
    write_transaction()
    values: dict[str, object] = {"channel": channel, "last_error": error}
    if channel in (SMTP, APP):
        values["sent_at"] = utcnow()
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.channel == SENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def deliver_due(now: datetime) -> dict[str, int]:
    """Deliver due messages once each: in the inbox, and by SMTP when configured and wanted."""
    smtp_url = current_app.config.get("SMTP_URL", "")
    counts = {SMTP: 0, APP: 0, DROPPED: 0, "retry": 0, FAILED: 0}
    claimed = _claim(now, SENDING)
    if not claimed:
        return counts
    settings = parse_smtp_url(smtp_url) if smtp_url else None
    connection: smtplib.SMTP | None = None
    try:
        for message_id in claimed:
            message = db.session.get(OutboxMessage, message_id)
            assert message is not None
            if not _still_wanted(message):
                _finish(message_id, DROPPED)
                counts[DROPPED] += 1
                continue
            notifications.file_delivered(message)
            if settings is None or not notifications.wants_email(message.user_id, message.kind):
                _finish(message_id, APP)
                counts[APP] += 1
                continue
            try:
                connection = connection or _connect(settings)
                connection.send_message(_email(message, current_app.config["MAIL_FROM"]))
            except (OSError, smtplib.SMTPException) as error:
                log.warning("delivery of outbox message %s failed: %s", message_id, error)
                gave_up = message.attempts >= MAX_ATTEMPTS
                _finish(message_id, FAILED if gave_up else WAITING, error=str(error)[:500])
                counts[FAILED if gave_up else "retry"] += 1
                # A refused message (4xx/5xx) leaves an open connection: close it, not leak it.
                _close(connection)
                connection = None
                continue
            _finish(message_id, SMTP)
            counts[SMTP] += 1
    finally:
        _close(connection)
    return counts


def _close(connection: smtplib.SMTP | None) -> None:
    if connection is None:
        return
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        log.info("SMTP connection closed uncleanly after delivery")
        connection.close()
