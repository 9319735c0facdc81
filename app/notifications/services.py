"""The inbox and its e-mail copies: who is told, writing an entry, reading and marking read.

An entry is written the moment a change is committed, in the recipient's language, and an
outbox row (`kind` = the entry's kind) carries its e-mail copy. The outbox's delivery decides
by SMTP or in-app only, from `SMTP_URL` and the recipient's settings (`wants_email`). Reminders
take the other way round: queued in the outbox a day ahead, they enter the inbox when delivered
(`file_delivered`)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from flask import current_app, has_request_context, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app import access
from app.accounts.models import User
from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.jobs.models import OutboxMessage
from app.notifications.models import EmailOptOut, Notification

# What a user can be told, in the order the settings list them.
KINDS: dict[str, Any] = {
    "moved": _l("A booking of my projects is moved"),
    "cancelled": _l("A booking of my projects is cancelled"),
    "released": _l("A booking of my projects is released (may move in the next schedule)"),
    "placed": _l("A request of my projects is placed by an approved schedule"),
    "unplaced": _l("An approved schedule could not place a request of my projects"),
    "waitlist": _l("The waitlist gives a freed slot to a request of my projects"),
    "reminder": _l("A booking of my projects starts within a day (reminder)"),
}
PAGE = 200


# ---------------------------------------------------------------- who is told


def project_members(project_id: int, *, actor: User | None = None) -> list[User]:
    """Return the active members of a project, less the person who made the change."""
    query = (
        select(User)
        .where(User.id.in_(access.project_member_ids(project_id)), User.active.is_(True))
        .order_by(User.name, User.id)
    )
    if actor is not None:
        query = query.where(User.id != actor.id)
    return list(db.session.scalars(query))


# ---------------------------------------------------------------- writing


def absolute(path: str) -> str:
    """Return the path as a link for an e-mail: PUBLIC_BASE_URL, else this request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL", "")
    if not base and has_request_context():
        base = request.host_url
    return f"{base.rstrip('/')}{path}" if base else ""


def path_for(endpoint: str, **values: Any) -> str:
    """Return the site-relative path of a page, in or out of a request."""
    if endpoint not in current_app.view_functions:
        return ""
    if has_request_context():
        return url_for(endpoint, **values)
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def add(
    user: User,
    *,
    kind: str,
    subject: str,
    body: str,
    reason: str = "",
    link: str = "",
    booking_id: int | None = None,
    request_id: int | None = None,
) -> Notification:
    """Put an entry in the user's inbox and queue its e-mail copy (in the caller's transaction).

    `subject` and `body` are already in the user's language; `body` holds the reason and the
    link as the e-mail shows them."""
    now = utcnow()
    message = OutboxMessage(
        dedupe_key=f"notice:{user.id}:{uuid4().hex}",
        user_id=user.id,
        kind=kind,
        subject=subject[:300],
        body=body,
        due_at=now,
    )
    db.session.add(message)
    db.session.flush()
    entry = Notification(
        user_id=user.id,
        kind=kind,
        subject=subject[:300],
        body=body,
        reason=reason,
        link=link[:300],
        booking_id=booking_id,
        request_id=request_id,
        outbox_id=message.id,
        created_at=now,
    )
    db.session.add(entry)
    return entry


def file_delivered(message: OutboxMessage) -> None:
    """Put a delivered outbox message (a reminder) in its user's inbox, once."""
    exists = db.session.scalar(
        select(func.count(Notification.id)).where(Notification.outbox_id == message.id)
    )
    if exists:
        return
    write_transaction()
    try:
        with db.session.begin_nested():
            db.session.add(
                Notification(
                    user_id=message.user_id,
                    kind=message.kind,
                    subject=message.subject,
                    body=message.body,
                    booking_id=message.booking_id,
                    link=path_for("booking.booking_detail", booking_id=message.booking_id)
                    if message.booking_id
                    else "",
                    outbox_id=message.id,
                )
            )
    except IntegrityError:
        pass  # filed by a delivery that died before marking the row
    db.session.commit()


# ---------------------------------------------------------------- settings


def wants_email(user_id: int, kind: str) -> bool:
    """Tell whether the user takes this kind of notification by e-mail (yes unless opted out)."""
    return not db.session.get(EmailOptOut, (user_id, kind))


def email_kinds(user: User) -> set[str]:
    """Return the kinds the user takes by e-mail."""
    out = set(db.session.scalars(select(EmailOptOut.kind).where(EmailOptOut.user_id == user.id)))
    return {kind for kind in KINDS if kind not in out}


def set_email_kinds(user: User, kinds: Any) -> set[str]:
    """Take exactly these kinds by e-mail; the others arrive in the inbox only."""
    if not isinstance(kinds, list | tuple | set) or not all(isinstance(k, str) for k in kinds):
        raise ValidationError(_("Give a list of notification kinds."), field="email")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValidationError(
            _("Unknown notification kind: %(kind)s.", kind=unknown[0][:40]), field="email"
        )
    write_transaction()
    db.session.execute(delete(EmailOptOut).where(EmailOptOut.user_id == user.id))
    for kind in KINDS:
        if kind not in kinds:
            db.session.add(EmailOptOut(user_id=user.id, kind=kind))
    db.session.commit()
    return email_kinds(user)


# ---------------------------------------------------------------- reading


def inbox(user: User, *, unread_only: bool = False, limit: int = PAGE) -> list[Notification]:
    """Return the user's entries, newest first."""
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(
        db.session.scalars(
            query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
        )
    )


def unread_count(user: User) -> int:
    """Count the user's unread entries."""
    return int(
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def get_entry(user: User, notification_id: int) -> Notification:
    """Return one of the user's entries; another user's is not found."""
    entry = db.session.get(Notification, notification_id)
    if entry is None or entry.user_id != user.id:
        raise NotFound(_("No such notification."))
    return entry


def mark_read(user: User, notification_id: int) -> Notification:
    """Mark one of the user's entries read."""
    write_transaction()
    entry = get_entry(user, notification_id)
    if entry.read_at is None:
        entry.read_at = utcnow()
    db.session.commit()
    return entry


def mark_all_read(user: User) -> int:
    """Mark all the user's entries read; return how many were unread."""
    write_transaction()
    entries = inbox(user, unread_only=True, limit=10_000)
    now = utcnow()
    for entry in entries:
        entry.read_at = now
    db.session.commit()
    return len(entries)


# ---------------------------------------------------------------- what a manager is shown


def booking_recipients(booking: Any, actor: User | None) -> list[User]:
    """Return who will be told of a change to this booking made by `actor`."""
    return project_members(booking.request.project_id, actor=actor)


def proposal_recipients(proposal: Any, actor: User | None) -> list[tuple[str, list[User]]]:
    """Return, by project, who will be told when `actor` approves the proposal."""
    projects = {i.request.project for i in proposal.items if not i.pinned}
    projects |= {u.request.project for u in proposal.unplaced}
    return [
        (project.name, project_members(project.id, actor=actor))
        for project in sorted(projects, key=lambda p: (p.name, p.id))
    ]
