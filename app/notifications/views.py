"""Pages: each user's inbox, marking entries read, and which kinds arrive by e-mail."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from app.accounts import security
from app.errors import ValidationError
from app.notifications import services

bp = Blueprint("notifications", __name__)


@bp.get("/inbox")
@login_required
def inbox() -> str:
    """List the user's notifications, newest first, the unread ones marked."""
    return render_template(
        "notifications/inbox.html",
        entries=services.inbox(security.user()),
        smtp_configured=bool(current_app.config.get("SMTP_URL")),
    )


@bp.post("/inbox/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int) -> BaseResponse:
    """Mark one of the user's notifications read."""
    services.mark_read(security.user(), notification_id)
    return redirect(url_for("notifications.inbox"))


@bp.post("/inbox/read")
@login_required
def mark_all_read() -> BaseResponse:
    """Mark all the user's notifications read."""
    services.mark_all_read(security.user())
    return redirect(url_for("notifications.inbox"))


@bp.post("/account/notifications")
@login_required
def email_settings() -> BaseResponse:
    """Keep the kinds of notification the user ticked arriving by e-mail."""
    try:
        services.set_email_kinds(security.user(), request.form.getlist("email"))
    except ValidationError as error:
        flash(error.detail)
    else:
        flash(_("Saved: the kinds you ticked also arrive by e-mail."))
    return redirect(url_for("accounts.account") + "#notifications")


def _unread() -> int:
    return services.unread_count(security.user()) if current_user.is_authenticated else 0


def _booking_recipients(booking: Any) -> list[Any]:
    return services.booking_recipients(booking, security.user())


def _proposal_recipients(proposal: Any) -> list[tuple[str, list[Any]]]:
    return services.proposal_recipients(proposal, security.user())


def _email_kinds() -> set[str]:
    return services.email_kinds(security.user())


def register(app: Flask) -> None:
    """Give templates the unread count, the recipients of a change and the e-mail settings."""
    app.jinja_env.globals.update(
        unread_notifications=_unread,
        booking_recipients=_booking_recipients,
        proposal_recipients=_proposal_recipients,
        notification_kinds=services.KINDS,
        email_kinds=_email_kinds,
    )
