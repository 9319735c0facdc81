"""A facility's units as its managers keep them: maintenance, trainings, and the audit log."""

from __future__ import annotations

from flask import Response
from sqlalchemy import select

from app import access
from app.accounts import security
from app.booking import maintenance, trainings
from app.booking.api import routing
from app.booking.api.schemas import (
    AuditEvent,
    AuditLog,
    AuditQuery,
    Maintenance,
    MaintenanceInput,
    Training,
    TrainingInput,
    TrainingRemoval,
)
from app.booking.models import AuditEvent as AuditRow
from app.errors import BadRequest
from app.extensions import db

# The most audit events one call gives.
MAX_AUDIT_EVENTS = 1000


@routing.route(
    "/facilities/<slug>/maintenance",
    "POST",
    summary="Add a maintenance window (managers); refused while active bookings overlap it, "
    "even with force",
    answer=Maintenance,
    status=201,
    answer_description="Added",
    body=MaintenanceInput,
    errors=(409, 422),
)
def facility_maintenance(slug: str, body: MaintenanceInput) -> Maintenance:
    user = security.user()
    facility = routing.facility(slug)
    access.require_manager(user, facility)
    unit = routing.unit(body.equipment, field="equipment", facility_id=facility.id)
    window = maintenance.add_maintenance(
        user,
        unit.id,
        start=body.start,
        end=body.end,
        reason_zh=body.reason_zh,
        reason_en=body.reason_en,
        force=body.force,
    )
    return Maintenance.of(window)


@routing.route(
    "/equipment/<slug>/trainings",
    "POST",
    summary="Record that a person is trained on a unit (managers)",
    answer=Training,
    status=201,
    answer_description="Recorded",
    body=TrainingInput,
    errors=(422,),
)
def equipment_training_add(slug: str, body: TrainingInput) -> Training:
    user = security.user()
    unit = routing.unit(slug)
    access.require_manager(user, unit.facility_id)
    training = trainings.record_training(
        user, equipment_id=unit.id, email=body.email, trained_on=body.trained_on
    )
    return Training(equipment=unit.slug, user=training.user.email, trained_on=training.trained_on)


@routing.route(
    "/equipment/<slug>/trainings",
    "DELETE",
    summary="Withdraw a person's training on a unit (managers)",
    status=204,
    answer_description="Removed",
    body=TrainingRemoval,
    errors=(422,),
)
def equipment_training_remove(slug: str, body: TrainingRemoval) -> Response:
    user = security.user()
    unit = routing.unit(slug)
    access.require_manager(user, unit.facility_id)
    trainings.remove_training(user, equipment_id=unit.id, email=body.email)
    return Response(status=204)


@routing.route(
    "/audit",
    "GET",
    summary="The audit log of a facility (managers)",
    answer=AuditLog,
    answer_description="Events",
    query=AuditQuery,
    errors=(400,),
)
def audit_list(query: AuditQuery) -> AuditLog:
    user = security.user()
    facility = routing.facility(query.facility, field="facility", error=BadRequest)
    access.require_manager(user, facility)
    events = db.session.scalars(
        select(AuditRow)
        .where(AuditRow.facility_id == facility.id)
        .order_by(AuditRow.at.desc(), AuditRow.id.desc())
        .limit(min(query.limit or 200, MAX_AUDIT_EVENTS))
    )
    return AuditLog(events=[AuditEvent.of(e) for e in events])
