"""The inbox in the JSON API: the caller's notifications, and marking one read."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint
from pydantic import Field

from app import openapi
from app.accounts import security
from app.apitypes import Answer, Moment
from app.notifications import models, services

bp = Blueprint("notifications_api", __name__, url_prefix="/api/v1")


class Notification(Answer):
    """An inbox entry."""

    id: int
    kind: Literal[tuple(services.KINDS)]  # type: ignore[valid-type]
    subject: str
    body: str = Field(description="In the recipient's language")
    reason: str = Field(description="The manager's reason, if one was given")
    link: str = Field(description="Site-relative path of the page concerned")
    booking: int | None
    request: int | None
    created_at: Moment
    read_at: Moment | None

    @classmethod
    def of(cls, entry: models.Notification) -> Notification:
        return cls(
            id=entry.id,
            kind=entry.kind,
            subject=entry.subject,
            body=entry.body,
            reason=entry.reason,
            link=entry.link,
            booking=entry.booking_id,
            request=entry.request_id,
            created_at=entry.created_at,
            read_at=entry.read_at,
        )


class Inbox(Answer):
    unread: int
    notifications: list[Notification]


@openapi.route(
    bp,
    "/notifications",
    "GET",
    summary="The caller's notifications, newest first, and how many are unread",
    answer=Inbox,
    answer_description="The inbox",
    tags=("notifications",),
)
def notifications_list() -> Inbox:
    user = security.user()
    return Inbox(
        unread=services.unread_count(user),
        notifications=[Notification.of(n) for n in services.inbox(user)],
    )


@openapi.route(
    bp,
    "/notifications/<int:notification_id>/read",
    "POST",
    summary="Mark one of the caller's notifications read",
    answer=Notification,
    answer_description="Marked read",
    errors=(404,),
    tags=("notifications",),
)
def notifications_read(notification_id: int) -> Notification:
    return Notification.of(services.mark_read(security.user(), notification_id))
