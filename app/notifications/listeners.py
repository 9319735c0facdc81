"""Turn committed booking changes into inbox entries, written in each recipient's language.

Each listener runs after the change is committed (`app.booking.signals`); a failure here is
logged and never undoes the change. Members learn only of their own project's bookings and
requests: the texts name the request, the unit, the facility, the times and the manager's
reason, never another project."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User
from app.booking import reasons, signals
from app.booking.models import Booking, BookingRequest, Proposal
from app.catalog.models import Equipment
from app.database import write_transaction
from app.extensions import db
from app.i18n import localised, short_moment, user_language
from app.notifications import services

log = logging.getLogger(__name__)


def _slot(booking: Booking, *, unit: Any = None, start: Any = None, end: Any = None) -> str:
    tz = booking.equipment.facility.timezone
    return _(
        "%(unit)s at %(facility)s, %(start)s to %(end)s",
        unit=localised(unit or booking.equipment),
        facility=localised(booking.equipment.facility),
        start=short_moment(start or booking.start, tz),
        end=short_moment(end or booking.end, tz),
    )


def _unit(slug: Any) -> Equipment | None:
    if not isinstance(slug, str):
        return None
    return db.session.scalar(select(Equipment).where(Equipment.slug == slug))


def _actor(user: User | None) -> str:
    return user.name if user is not None else _("The scheduler")


def _text(user: User, opening: str, reason: str, path: str) -> str:
    lines = [_("Hello %(name)s,", name=user.name), "", opening]
    if reason:
        lines += ["", _("Reason: %(reason)s", reason=reason)]
    link = services.absolute(path)
    if link:
        lines += ["", _("Details: %(link)s", link=link)]
    lines += ["", _("This notification was sent by Pilotslot.")]
    return "\n".join(lines)


def _tell(
    recipients: Iterable[User],
    render: Callable[[User], tuple[str, str]],
    *,
    kind: str,
    reason: str = "",
    path: str = "",
    booking_id: int | None = None,
    request_id: int | None = None,
) -> None:
    for user in recipients:
        with force_locale(user_language(user)):
            subject, opening = render(user)
            body = _text(user, opening, reason, path)
        services.add(
            user,
            kind=kind,
            subject=subject,
            body=body,
            reason=reason,
            link=path,
            booking_id=booking_id,
            request_id=request_id,
        )


def _guarded(work: Callable[[], None], what: str) -> None:
    try:
        write_transaction()
        work()
        db.session.commit()
    except Exception:  # noqa: BLE001  (the change is committed; never fail it here)
        log.exception("notifying members of %s failed", what)
        db.session.rollback()


def _about_booking(booking: Booking, by: User | None, kind: str, reason: str, render: Any) -> None:
    def work() -> None:
        _tell(
            services.project_members(booking.request.project_id, actor=by),
            render,
            kind=kind,
            reason=reason,
            path=services.path_for("booking.booking_detail", booking_id=booking.id),
            booking_id=booking.id,
            request_id=booking.request_id,
        )

    _guarded(work, f"{kind} booking {booking.id}")


def on_booking_moved(
    booking: Booking, *, by: User | None = None, before: Any = None, reason: str = "", **_k: Any
) -> None:
    """Tell the project's members where their booking went, from where, and why."""
    title = booking.request.title
    old = before or {}

    def render(user: User) -> tuple[str, str]:
        subject = _("Booking moved: %(title)s", title=title)
        old_unit = _unit(old.get("equipment")) or booking.equipment
        opening = _(
            "%(actor)s moved your booking “%(title)s” from %(before)s to %(after)s.",
            actor=_actor(by),
            title=title,
            before=_slot(booking, unit=old_unit, start=old.get("start"), end=old.get("end")),
            after=_slot(booking),
        )
        return subject, opening

    _about_booking(booking, by, "moved", reason, render)


def on_booking_cancelled(
    booking: Booking,
    *,
    by: User | None = None,
    reason: str = "",
    proposal: Proposal | None = None,
    no_show: bool = False,
    **_k: Any,
) -> None:
    """Tell the project's members their booking is cancelled, by whom and why."""
    title = booking.request.title

    def render(user: User) -> tuple[str, str]:
        subject = _("Booking cancelled: %(title)s", title=title)
        if no_show:
            subject = _("Released as a no-show: %(title)s", title=title)
            opening = _(
                "Your booking “%(title)s” (%(slot)s) was not checked in within %(minutes)d "
                "minutes of its start, so it was released as a no-show and its time offered "
                "to others. Managers see no-shows counted per project.",
                title=title,
                slot=_slot(booking),
                minutes=booking.equipment.facility.no_show_grace_minutes,
            )
        elif proposal is not None:
            opening = _(
                "Your booking “%(title)s” (%(slot)s) was cancelled when %(actor)s approved a "
                "new schedule in which it has no place.",
                title=title,
                slot=_slot(booking),
                actor=_actor(by),
            )
        else:
            opening = _(
                "%(actor)s cancelled your booking “%(title)s” (%(slot)s).",
                actor=_actor(by),
                title=title,
                slot=_slot(booking),
            )
        return subject, opening

    _about_booking(booking, by, "cancelled", reason, render)


def on_booking_released(
    booking: Booking, *, by: User | None = None, reason: str = "", **_k: Any
) -> None:
    """Tell the project's members their booking may move in the next schedule, and why."""
    title = booking.request.title

    def render(user: User) -> tuple[str, str]:
        subject = _("Booking released: %(title)s", title=title)
        opening = _(
            "%(actor)s released your booking “%(title)s” (%(slot)s): the next schedule may "
            "move it. You will be told if it moves.",
            actor=_actor(by),
            title=title,
            slot=_slot(booking),
        )
        return subject, opening

    _about_booking(booking, by, "released", reason, render)


def on_proposal_approved(
    proposal: Proposal,
    *,
    bookings: Iterable[Booking] = (),
    moved: Iterable[Booking] = (),
    **_k: Any,
) -> None:
    """Tell each request's members what the approved schedule did with it."""
    by = proposal.decided_by
    waitlist = proposal.run is not None and proposal.run.trigger == "waitlist"
    moved_ids = {b.id for b in moved}
    placed: dict[int, list[Booking]] = defaultdict(list)
    shifted: dict[int, list[Booking]] = defaultdict(list)
    for booking in bookings:
        (shifted if booking.id in moved_ids else placed)[booking.request_id].append(booking)

    def work() -> None:
        for group in placed.values():
            _placed(group[0].request, sorted(group, key=lambda b: b.start), by, waitlist)
        for group in shifted.values():
            for booking in group:
                on_moved_by_schedule(booking, by)
        for unplaced in proposal.unplaced:
            _unplaced(unplaced, by)

    _guarded(work, f"proposal {proposal.id}")


def _placed(req: BookingRequest, group: list[Booking], by: User | None, waitlist: bool) -> None:
    def render(user: User) -> tuple[str, str]:
        slots = "; ".join(_slot(b) for b in group)
        if waitlist:
            subject = _("A freed slot for your request: %(title)s", title=req.title)
            opening = _(
                "Time freed by a cancellation was given to your request “%(title)s”: %(slots)s.",
                title=req.title,
                slots=slots,
            )
        else:
            subject = _("Request placed: %(title)s", title=req.title)
            opening = _(
                "%(actor)s approved a schedule that places your request “%(title)s”: %(slots)s.",
                actor=_actor(by),
                title=req.title,
                slots=slots,
            )
        return subject, opening

    _tell(
        services.project_members(req.project_id, actor=by),
        render,
        kind="waitlist" if waitlist else "placed",
        path=services.path_for("booking.request_detail", request_id=req.id),
        booking_id=group[0].id,
        request_id=req.id,
    )


def on_moved_by_schedule(booking: Booking, by: User | None) -> None:
    """Tell the members an approved schedule moved their released booking."""
    title = booking.request.title

    def render(user: User) -> tuple[str, str]:
        subject = _("Booking moved: %(title)s", title=title)
        opening = _(
            "%(actor)s approved a new schedule that moves your released booking “%(title)s” "
            "to %(slot)s.",
            actor=_actor(by),
            title=title,
            slot=_slot(booking),
        )
        return subject, opening

    _tell(
        services.project_members(booking.request.project_id, actor=by),
        render,
        kind="moved",
        path=services.path_for("booking.booking_detail", booking_id=booking.id),
        booking_id=booking.id,
        request_id=booking.request_id,
    )


def _unplaced(unplaced: Any, by: User | None) -> None:
    req = unplaced.request

    def render(user: User) -> tuple[str, str]:
        subject = _("Request not placed: %(title)s", title=req.title)
        opening = _(
            "The schedule %(actor)s approved could not place your request “%(title)s”; it "
            "stays waiting for the next one. %(why)s",
            actor=_actor(by),
            title=req.title,
            why=reasons.proposal_reason(unplaced),
        )
        return subject, opening

    _tell(
        services.project_members(req.project_id, actor=by),
        render,
        kind="unplaced",
        path=services.path_for("booking.request_detail", request_id=req.id),
        request_id=req.id,
    )


def connect() -> None:
    """Listen to the booking signals (idempotent)."""
    signals.booking_moved.connect(on_booking_moved)
    signals.booking_cancelled.connect(on_booking_cancelled)
    signals.booking_released.connect(on_booking_released)
    signals.proposal_approved.connect(on_proposal_approved)
