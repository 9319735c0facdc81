"""The audit log: who changed what, and why."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from app.booking.models import AuditEvent
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User


def _plain(value: Any) -> Any:
    """Return value in a form the JSON column stores."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def record(
    actor: User | None,
    action: str,
    object_type: str,
    object_id: int | None,
    *,
    facility_id: int | None = None,
    project_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the session; the calling service commits it with its change."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        facility_id=facility_id,
        project_id=project_id,
        details=_plain(details),
    )
    db.session.add(event)
    return event
