"""The inbox in the JSON API: the caller's notifications, and marking one read."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from app import openapi
from app.accounts import security
from app.notifications import services
from app.notifications.models import Notification

bp = Blueprint("notifications_api", __name__, url_prefix="/api/v1")


def notification_json(entry: Notification) -> dict[str, Any]:
    """Serialise an inbox entry as the Notification schema says."""
    return {
        "id": entry.id,
        "kind": entry.kind,
        "subject": entry.subject,
        "body": entry.body,
        "reason": entry.reason,
        "link": entry.link,
        "booking": entry.booking_id,
        "request": entry.request_id,
        "created_at": entry.created_at.isoformat(),
        "read_at": entry.read_at.isoformat() if entry.read_at else None,
    }


@bp.get("/notifications")
def notifications_list() -> Response:
    user = security.user()
    return jsonify(
        {
            "unread": services.unread_count(user),
            "notifications": [notification_json(n) for n in services.inbox(user)],
        }
    )


@bp.post("/notifications/<int:notification_id>/read")
def notifications_read(notification_id: int) -> Response:
    return jsonify(notification_json(services.mark_read(security.user(), notification_id)))


NOTIFICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "kind",
        "subject",
        "body",
        "reason",
        "link",
        "booking",
        "request",
        "created_at",
        "read_at",
    ],
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": list(services.KINDS)},
        "subject": {"type": "string"},
        "body": {"type": "string", "description": "In the recipient's language"},
        "reason": {"type": "string", "description": "The manager's reason, if one was given"},
        "link": {"type": "string", "description": "Site-relative path of the page concerned"},
        "booking": {"type": ["integer", "null"]},
        "request": {"type": ["integer", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "read_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


openapi.document(
    {
        "/notifications": {
            "get": {
                "summary": "The caller's notifications, newest first, and how many are unread",
                "tags": ["notifications"],
                "security": [{"bearer": []}],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["unread", "notifications"],
                            "properties": {
                                "unread": {"type": "integer"},
                                "notifications": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Notification"},
                                },
                            },
                        },
                        "The inbox",
                    ),
                    **openapi.problem_responses(401),
                },
            }
        },
        "/notifications/{id}/read": {
            "post": {
                "summary": "Mark one of the caller's notifications read",
                "tags": ["notifications"],
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Notification"}, "Marked read"),
                    **openapi.problem_responses(401, 404),
                },
            }
        },
    },
    {"Notification": NOTIFICATION_SCHEMA},
)
