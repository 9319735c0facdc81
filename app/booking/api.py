"""The booking JSON API under /api/v1: each handler loads, checks access, calls a service and
serialises. Bodies are parsed strictly; a bad field is a 422 naming it."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import dates, openapi
from app.accounts import security
from app.accounts.models import User
from app.booking import bookings as booking_service
from app.booking import proposals as proposal_service
from app.booking import reasons
from app.booking import requests as request_service
from app.booking.models import (
    AuditEvent,
    Booking,
    BookingRequest,
    Proposal,
    RequestStatus,
    SolveRun,
)
from app.booking.requests import MAX_LAG_MINUTES, MAX_STEP_MINUTES, MAX_STEPS, StepInput
from app.catalog.models import Equipment, Facility, MaintenanceWindow
from app.database import MAX_INTEGER, MIN_INTEGER
from app.dbtypes import utcnow
from app.errors import BadRequest, NotFound, ValidationError
from app.extensions import db

bp = Blueprint("booking_api", __name__, url_prefix="/api/v1")
# Who acted, in the API, when no person did (auto-publish, expiry, a failed solve).
SCHEDULER = "scheduler"


# ---------------------------------------------------------------- parsing


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


# RFC 3339, the date-time of the OpenAPI document: Python alone would also take "2027-03-01
# 09:00+0800" or "20270301T0900", which other clients of the same document would refuse.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def parse_datetime(value: Any, name: str) -> datetime:
    """Parse an RFC 3339 date and time, which carries its UTC offset, in the supported range."""
    if not isinstance(value, str):
        raise ValidationError(_("Give an ISO 8601 date and time with offset."), field=name)
    try:
        if not _RFC3339.fullmatch(value):
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            _("Not an ISO 8601 date and time: %(v)s", v=value[:40]), field=name
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationError(
            _("Give the time with its UTC offset, e.g. 2027-03-01T09:00:00+08:00."), field=name
        )
    return dates.check(moment, name)


def _integer(value: Any, name: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(_("Must be a whole number."), field=name)
    lowest = MIN_INTEGER if minimum is None else minimum
    if value < lowest:
        raise ValidationError(_("Must be at least %(n)d.", n=lowest), field=name)
    if value > MAX_INTEGER:
        raise ValidationError(_("Must be at most %(n)d.", n=MAX_INTEGER), field=name)
    return value


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(_("Must be a string."), field=name)
    return value


def _boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(_("Must be true or false."), field=name)
    return value


def _object(data: Any, allowed: set[str], required: set[str], prefix: str = "") -> dict[str, Any]:
    """Check an object's keys: unknown ones and missing required ones are errors."""
    where = prefix or "body"
    if not isinstance(data, dict):
        raise ValidationError(_("Must be a JSON object."), field=where)
    for key in data:
        if key not in allowed:
            raise ValidationError(_("Unknown field."), field=f"{prefix}.{key}" if prefix else key)
    for key in sorted(required):
        if key not in data:
            raise ValidationError(
                _("This field is required."), field=f"{prefix}.{key}" if prefix else key
            )
    return data


def _body(allowed: set[str], required: set[str] | None = None) -> dict[str, Any]:
    """Return the JSON object body (empty when none was sent), checked like `_object`."""
    if not request.data:
        data: Any = {}
    else:
        data = request.get_json(silent=True)
        if data is None:
            raise BadRequest(_("The body is not valid JSON."), field="body")
    return _object(data, allowed, required or set())


def _query_int(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    # isdigit() alone takes "²", which int() then refuses.
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest(_("Must be a whole number."), field=name)
    if int(raw) > MAX_INTEGER:
        raise BadRequest(_("Must be at most %(n)d.", n=MAX_INTEGER), field=name)
    return int(raw)


def _query_datetime(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return parse_datetime(raw, name)
    except ValidationError as error:
        raise BadRequest(error.detail, field=name) from None


def _query_status(name: str = "status") -> str | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw not in {s.value for s in RequestStatus}:
        raise BadRequest(
            _(
                "The parameter %(name)s must be one of: %(values)s.",
                name=name,
                values=", ".join(RequestStatus),
            ),
            field=name,
        )
    return raw


def _query_flag(name: str) -> bool:
    raw = request.args.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise BadRequest(_("Must be true or false."), field=name)
    return raw in ("true", "1")


def _facility(slug: str) -> Facility:
    facility = db.session.scalar(select(Facility).where(Facility.slug == slug))
    if facility is None:
        raise NotFound(_("No such facility."))
    return facility


def _equipment(slug: str) -> Equipment:
    unit = db.session.scalar(
        select(Equipment).where(Equipment.slug == slug).options(joinedload(Equipment.facility))
    )
    if unit is None:
        raise NotFound(_("No such unit."))
    return unit


def _facility_param(name: str = "facility") -> Facility | None:
    slug = request.args.get(name)
    if not slug:
        return None
    facility = db.session.scalar(select(Facility).where(Facility.slug == slug))
    if facility is None:
        raise BadRequest(_("No such facility: %(s)s", s=slug[:64]), field=name)
    return facility


STEP_FIELDS = {
    "duration_minutes",
    "capability",
    "unit_ids",
    "facility_id",
    "attended",
    "min_lag_minutes",
    "max_lag_minutes",
    "note",
}
REQUEST_FIELDS = {"title", "earliest_start", "deadline", "steps", "weight", "priority_reason"}


def _steps(value: Any) -> list[StepInput]:
    if not isinstance(value, list):
        raise ValidationError(_("Must be a list of steps."), field="steps")
    request_service.check_step_count(len(value))
    steps = []
    for i, item in enumerate(value):
        prefix = f"steps[{i}]"
        data = _object(item, STEP_FIELDS, {"duration_minutes"}, prefix)
        unit_ids = data.get("unit_ids", [])
        if not isinstance(unit_ids, list):
            raise ValidationError(_("Must be a list of unit ids."), field=f"{prefix}.unit_ids")
        capability = data.get("capability")
        max_lag = data.get("max_lag_minutes")
        facility_id = data.get("facility_id")
        steps.append(
            StepInput(
                duration_minutes=_integer(
                    data["duration_minutes"], f"{prefix}.duration_minutes", minimum=1
                ),
                capability=None
                if capability is None
                else _string(capability, f"{prefix}.capability"),
                unit_ids=[_integer(u, f"{prefix}.unit_ids") for u in unit_ids],
                facility_id=(
                    None if facility_id is None else _integer(facility_id, f"{prefix}.facility_id")
                ),
                attended=_boolean(data.get("attended", True), f"{prefix}.attended"),
                min_lag_minutes=_integer(
                    data.get("min_lag_minutes", 0), f"{prefix}.min_lag_minutes", minimum=0
                ),
                max_lag_minutes=(
                    None if max_lag is None else _integer(max_lag, f"{prefix}.max_lag_minutes")
                ),
                note=_string(data.get("note", ""), f"{prefix}.note"),
            )
        )
    return steps


def _request_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Turn the JSON fields of a request body into the service's keyword arguments."""
    fields: dict[str, Any] = {}
    if "title" in data:
        fields["title"] = _string(data["title"], "title")
    for name in ("earliest_start", "deadline"):
        if name in data:
            fields[name] = parse_datetime(data[name], name)
    if "steps" in data:
        fields["steps"] = _steps(data["steps"])
    if "weight" in data:
        fields["weight"] = _integer(data["weight"], "weight")
    if "priority_reason" in data:
        fields["priority_reason"] = _string(data["priority_reason"], "priority_reason")
    return fields


# ---------------------------------------------------------------- serialising


def request_json(req: BookingRequest) -> dict[str, Any]:
    """Return a request as the API shows it."""
    return {
        "id": req.id,
        "project": {"id": req.project_id, "name": req.project.name},
        "facility": request_service.request_facility(req).slug,
        "title": req.title,
        "status": req.status,
        # In the caller's language, units by name; the code below stays the same in any.
        "unplaced_reason": reasons.request_reason(req) if req.unplaced_reason else "",
        # The stable code of the reason (scheduler/FORMAT-EXTENSIONS.md); null on old rows.
        "unplaced_reason_code": (req.unplaced_reason_detail or {}).get("code"),
        "weight": req.weight,
        # Giving a reason is asking for priority; the weight stays the managers' to set.
        "priority_requested": bool(req.priority_reason),
        "priority_reason": req.priority_reason,
        "earliest_start": _iso(req.earliest_start),
        "deadline": _iso(req.deadline),
        "created_at": _iso(req.created_at),
        "steps": [
            {
                "position": s.position,
                "capability": s.capability,
                "unit_ids": [u.id for u in s.units],
                "facility_id": s.facility_id,
                "duration_minutes": s.duration_minutes,
                "attended": s.attended,
                "min_lag_minutes": s.min_lag_minutes,
                "max_lag_minutes": s.max_lag_minutes,
                "note": s.note,
            }
            for s in req.steps
        ],
        "bookings": [b.id for b in req.bookings],
    }


def booking_json(booking: Booking) -> dict[str, Any]:
    """Return a booking as the API shows it (only to those who may see it)."""
    return {
        "id": booking.id,
        "request": booking.request_id,
        "project": {"id": booking.request.project_id, "name": booking.request.project.name},
        "title": booking.request.title,
        "equipment": booking.equipment.slug,
        "facility": booking.equipment.facility.slug,
        "start": _iso(booking.start),
        "end": _iso(booking.end),
        "status": booking.status,
        "source": booking.source,
        "pinned": booking.pinned,
        "release_reason": booking.release_reason,
        "sequence": booking.sequence,
        "updated_at": _iso(booking.updated_at),
        "cancelled_at": _iso(booking.cancelled_at),
    }


def run_json(run: SolveRun) -> dict[str, Any]:
    """Return a solve run with its progress."""
    return {
        "id": run.id,
        "facility": run.facility.slug,
        "status": run.status,
        "trigger": run.trigger,
        "time_limit_seconds": run.time_limit_seconds,
        "seed": run.seed,
        "work_limit": run.work_limit,
        "replay_command": proposal_service.replay_command(run),
        "replays_exactly": proposal_service.replays_exactly(run),
        "progress": run.progress or {},
        "elapsed_seconds": proposal_service.run_elapsed(run),
        "error": run.error,
        "cancel_requested": run.cancel_requested,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "heartbeat_at": _iso(run.heartbeat_at),
        "finished_at": _iso(run.finished_at),
        "proposal": run.proposal.id if run.proposal is not None else None,
    }


def _diff_entry(entry: dict[str, Any]) -> dict[str, Any]:
    out = {"request": entry["request_id"], "title": entry["title"]}
    if "booking" in entry:
        out["booking"] = entry["booking"].id
    if "item" in entry:
        item = entry["item"]
        out.update(equipment=item.equipment.slug, start=_iso(item.start), end=_iso(item.end))
    return out


def proposal_json(proposal: Proposal) -> dict[str, Any]:
    """Return a proposal with its placements, unplaced requests, diff and metrics."""
    diff = proposal_service.diff_against_published(proposal)
    return {
        "id": proposal.id,
        "facility": proposal.facility.slug,
        "run": proposal.run_id,
        "status": proposal.status,
        "created_at": _iso(proposal.created_at),
        "decided_at": _iso(proposal.decided_at),
        "decided_by": _decider(proposal),
        "metrics": proposal.metrics or {},
        "items": [
            {
                "request": i.request_id,
                "project": i.request.project.name,
                "title": i.request.title,
                "step": i.step.position,
                "equipment": i.equipment.slug,
                "start": _iso(i.start),
                "end": _iso(i.end),
                "pinned": i.pinned,
            }
            for i in proposal.items
        ],
        "unplaced": [
            {
                "request": u.request_id,
                "title": u.request.title,
                "reason": reasons.proposal_reason(u),
                "kind": u.kind,
                "code": (u.reason_detail or {}).get("code"),
            }
            for u in proposal.unplaced
        ],
        "diff": {kind: [_diff_entry(e) for e in entries] for kind, entries in diff.items()},
    }


def _created(body: dict[str, Any], location: str | None = None) -> Response:
    response = jsonify(body)
    response.status_code = 201
    if location:
        response.headers["Location"] = location
    return response


# ---------------------------------------------------------------- requests


@bp.get("/requests")
def requests_list() -> Response:
    user = security.user()
    facility = _facility_param()
    found = request_service.list_requests(
        user,
        project_id=_query_int("project"),
        facility_id=facility.id if facility else None,
        status=_query_status(),
    )
    return jsonify({"requests": [request_json(r) for r in found]})


@bp.post("/requests")
def requests_create() -> Response:
    user = security.user()
    data = _body(
        REQUEST_FIELDS | {"project_id"},
        {"project_id", "title", "earliest_start", "deadline", "steps"},
    )
    project_id = _integer(data["project_id"], "project_id")
    created = request_service.create_request(user, project_id, **_request_fields(data))
    return _created(request_json(created), f"/api/v1/requests/{created.id}")


@bp.get("/requests/<int:request_id>")
def requests_detail(request_id: int) -> Response:
    return jsonify(request_json(request_service.get_request(security.user(), request_id)))


@bp.patch("/requests/<int:request_id>")
def requests_update(request_id: int) -> Response:
    user = security.user()
    fields = _request_fields(_body(REQUEST_FIELDS))
    return jsonify(request_json(request_service.update_request(user, request_id, **fields)))


@bp.post("/requests/<int:request_id>/withdraw")
def requests_withdraw(request_id: int) -> Response:
    _body(set())
    return jsonify(request_json(request_service.withdraw_request(security.user(), request_id)))


# ---------------------------------------------------------------- solves and proposals


@bp.post("/facilities/<slug>/solve")
def facility_solve(slug: str) -> Response:
    user = security.user()
    facility = _facility(slug)
    security.require_manager(user, facility)
    data = _body({"time_limit", "work_limit"})
    time_limit = data.get("time_limit")
    if time_limit is not None and (
        isinstance(time_limit, bool) or not isinstance(time_limit, int | float)
    ):
        raise ValidationError(_("Must be a number of seconds."), field="time_limit")
    work_limit = data.get("work_limit")
    if work_limit is not None and (
        isinstance(work_limit, bool) or not isinstance(work_limit, int | float)
    ):
        raise ValidationError(_("Must be a number of work units."), field="work_limit")
    run = proposal_service.start_solve(
        user, facility.id, time_limit=time_limit, work_limit=work_limit
    )
    response = jsonify(run_json(run))
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/runs/{run.id}"
    return response


@bp.get("/runs/<int:run_id>")
def runs_detail(run_id: int) -> Response:
    return jsonify(run_json(proposal_service.get_run(security.user(), run_id)))


@bp.post("/runs/<int:run_id>/cancel")
def runs_cancel(run_id: int) -> Response:
    _body(set())
    return jsonify(run_json(proposal_service.cancel_run(security.user(), run_id)))


def _run_file(run_id: int, kind: str) -> Response:
    run = proposal_service.get_run(security.user(), run_id)
    text = run.problem_json if kind == "problem" else run.result_json
    if text is None:
        raise NotFound(_("This run has no %(kind)s file yet.", kind=kind))
    response = Response(text, mimetype="application/json")
    name = proposal_service.download_name(run, kind)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/runs/<int:run_id>/problem.json")
def runs_problem(run_id: int) -> Response:
    return _run_file(run_id, "problem")


@bp.get("/runs/<int:run_id>/result.json")
def runs_result(run_id: int) -> Response:
    return _run_file(run_id, "result")


@bp.get("/proposals/<int:proposal_id>")
def proposals_detail(proposal_id: int) -> Response:
    return jsonify(proposal_json(proposal_service.get_proposal(security.user(), proposal_id)))


@bp.post("/proposals/<int:proposal_id>/approve")
def proposals_approve(proposal_id: int) -> Response:
    _body(set())
    published = proposal_service.approve_proposal(security.user(), proposal_id)
    return jsonify({"proposal": proposal_id, "bookings": [booking_json(b) for b in published]})


@bp.post("/proposals/<int:proposal_id>/discard")
def proposals_discard(proposal_id: int) -> Response:
    _body(set())
    return jsonify(proposal_json(proposal_service.discard_proposal(security.user(), proposal_id)))


# ---------------------------------------------------------------- bookings


@bp.get("/bookings")
def bookings_list() -> Response:
    user = security.user()
    facility = _facility_param()
    unit_slug = request.args.get("equipment")
    unit = None
    if unit_slug:
        unit = db.session.scalar(select(Equipment).where(Equipment.slug == unit_slug))
        if unit is None:
            raise BadRequest(_("No such unit: %(s)s", s=unit_slug[:64]), field="equipment")
    found = booking_service.list_bookings(
        user,
        project_id=_query_int("project"),
        facility_id=facility.id if facility else None,
        equipment_id=unit.id if unit else None,
        start=_query_datetime("start"),
        end=_query_datetime("end"),
        include_cancelled=_query_flag("include_cancelled"),
    )
    return jsonify({"bookings": [booking_json(b) for b in found]})


@bp.post("/bookings")
def bookings_create() -> Response:
    user = security.user()
    data = _body(
        {"project_id", "equipment", "start", "end", "title", "note"},
        {"project_id", "equipment", "start", "end", "title"},
    )
    unit = db.session.scalar(
        select(Equipment).where(Equipment.slug == _string(data["equipment"], "equipment"))
    )
    if unit is None:
        raise ValidationError(_("No such unit."), field="equipment")
    booking = booking_service.manual_booking(
        user,
        project_id=_integer(data["project_id"], "project_id"),
        equipment_id=unit.id,
        start=parse_datetime(data["start"], "start"),
        end=parse_datetime(data["end"], "end"),
        title=_string(data["title"], "title"),
        note=_string(data.get("note", ""), "note"),
    )
    return _created(booking_json(booking), f"/api/v1/bookings/{booking.id}")


@bp.get("/bookings/<int:booking_id>")
def bookings_detail(booking_id: int) -> Response:
    return jsonify(booking_json(booking_service.get_booking(security.user(), booking_id)))


@bp.patch("/bookings/<int:booking_id>")
def bookings_reschedule(booking_id: int) -> Response:
    user = security.user()
    data = _body(
        {"start", "end", "equipment", "reason", "override", "override_reason"}, {"start", "end"}
    )
    unit_id = None
    if "equipment" in data:
        unit = db.session.scalar(
            select(Equipment).where(Equipment.slug == _string(data["equipment"], "equipment"))
        )
        if unit is None:
            raise ValidationError(_("No such unit."), field="equipment")
        unit_id = unit.id
    booking = booking_service.reschedule_booking(
        user,
        booking_id,
        start=parse_datetime(data["start"], "start"),
        end=parse_datetime(data["end"], "end"),
        equipment_id=unit_id,
        reason=_string(data.get("reason", ""), "reason"),
        override=_boolean(data.get("override", False), "override"),
        override_reason=_string(data.get("override_reason", ""), "override_reason"),
    )
    return jsonify(booking_json(booking))


@bp.post("/bookings/<int:booking_id>/cancel")
def bookings_cancel(booking_id: int) -> Response:
    data = _body({"reason"})
    reason = _string(data.get("reason", ""), "reason")
    return jsonify(
        booking_json(booking_service.cancel_booking(security.user(), booking_id, reason))
    )


@bp.post("/bookings/<int:booking_id>/release")
def bookings_release(booking_id: int) -> Response:
    data = _body({"reason"}, {"reason"})
    reason = _string(data["reason"], "reason")
    return jsonify(
        booking_json(booking_service.release_booking(security.user(), booking_id, reason))
    )


@bp.post("/bookings/<int:booking_id>/pin")
def bookings_pin(booking_id: int) -> Response:
    _body(set())
    return jsonify(booking_json(booking_service.pin_booking(security.user(), booking_id)))


@bp.get("/equipment/<slug>/availability")
def equipment_availability(slug: str) -> Response:
    user = security.user()
    unit = _equipment(slug)
    start = _query_datetime("start") or utcnow()
    end = _query_datetime("end") or start + timedelta(days=7)
    if end <= start:
        raise BadRequest(_("The end must be after the start."), field="end")
    if end - start > timedelta(days=92):
        raise BadRequest(_("Ask for at most 92 days at a time."), field="end")
    blocks = booking_service.availability(unit, start, end, user)
    return jsonify(
        {
            "equipment": unit.slug,
            "start": _iso(start),
            "end": _iso(end),
            "blocks": [{**b, "start": _iso(b["start"]), "end": _iso(b["end"])} for b in blocks],
        }
    )


# ---------------------------------------------------------------- maintenance, training, audit


def maintenance_json(window: MaintenanceWindow) -> dict[str, Any]:
    """Return a maintenance window."""
    return {
        "id": window.id,
        "equipment": window.equipment.slug,
        "start": _iso(window.start),
        "end": _iso(window.end),
        "reason_zh": window.reason_zh,
        "reason_en": window.reason_en,
        "source": window.source,
    }


@bp.post("/facilities/<slug>/maintenance")
def facility_maintenance(slug: str) -> Response:
    user = security.user()
    facility = _facility(slug)
    security.require_manager(user, facility)
    data = _body(
        {"equipment", "start", "end", "reason_zh", "reason_en", "force"},
        {"equipment", "start", "end"},
    )
    unit = db.session.scalar(
        select(Equipment).where(
            Equipment.slug == _string(data["equipment"], "equipment"),
            Equipment.facility_id == facility.id,
        )
    )
    if unit is None:
        raise ValidationError(_("No such unit in this facility."), field="equipment")
    window = booking_service.add_maintenance(
        user,
        unit.id,
        start=parse_datetime(data["start"], "start"),
        end=parse_datetime(data["end"], "end"),
        reason_zh=_string(data.get("reason_zh", ""), "reason_zh"),
        reason_en=_string(data.get("reason_en", ""), "reason_en"),
        force=_boolean(data.get("force", False), "force"),
    )
    return _created(maintenance_json(window))


@bp.post("/equipment/<slug>/trainings")
def equipment_training_add(slug: str) -> Response:
    user = security.user()
    unit = _equipment(slug)
    security.require_manager(user, unit.facility_id)
    data = _body({"email", "trained_on"}, {"email"})
    trained_on = None
    if "trained_on" in data:
        try:
            trained_on = date.fromisoformat(_string(data["trained_on"], "trained_on"))
        except ValueError:
            raise ValidationError(_("Give a date like 2027-03-01."), field="trained_on") from None
        dates.check(trained_on, "trained_on")
    training = booking_service.record_training(
        user, equipment_id=unit.id, email=_string(data["email"], "email"), trained_on=trained_on
    )
    return _created(
        {
            "equipment": unit.slug,
            "user": training.user.email,
            "trained_on": _iso(training.trained_on),
        }
    )


@bp.delete("/equipment/<slug>/trainings")
def equipment_training_remove(slug: str) -> Response:
    user = security.user()
    unit = _equipment(slug)
    security.require_manager(user, unit.facility_id)
    data = _body({"email"}, {"email"})
    booking_service.remove_training(
        user, equipment_id=unit.id, email=_string(data["email"], "email")
    )
    return Response(status=204)


@bp.get("/audit")
def audit_list() -> Response:
    user = security.user()
    facility = _facility_param()
    if facility is None:
        raise BadRequest(_("Name the facility: ?facility=<slug>."), field="facility")
    security.require_manager(user, facility)
    limit = _query_int("limit") or 200
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.facility_id == facility.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(min(limit, 1000))
    )
    return jsonify(
        {
            "events": [
                {
                    "id": e.id,
                    "at": _iso(e.at),
                    "actor": _actor(e.actor),
                    "action": e.action,
                    "object_type": e.object_type,
                    "object_id": e.object_id,
                    "project_id": e.project_id,
                    "details": e.details,
                }
                for e in events
            ]
        }
    )


def _actor(actor: User | None) -> str | None:
    return None if actor is None else actor.email


def _decider(proposal: Proposal) -> str | None:
    """Return who approved or discarded the proposal: a manager's email, or "scheduler"."""
    if proposal.decided_at is None:
        return None
    return _actor(proposal.decided_by) or SCHEDULER


# ---------------------------------------------------------------- OpenAPI


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    responses: dict[str, Any],
    *errors: int,
    body: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": ["booking"],
        "security": [{"bearer": []}],
        "responses": {**responses, **openapi.problem_responses(401, 404, *errors)},
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    if parameters:
        operation["parameters"] = parameters
    return operation


def _path_param(name: str, kind: str = "integer") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_DT = {"type": "string", "format": "date-time", "description": dates.openapi_description()}
_DT_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_INT_OR_NULL = {"type": ["integer", "null"]}
_STR_OR_NULL = {"type": ["string", "null"]}
_STATUS = ["pending", "proposed", "booked", "unplaced", "withdrawn", "cancelled"]

_STEP_INPUT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["duration_minutes"],
    "properties": {
        "duration_minutes": {"type": "integer", "minimum": 1, "maximum": MAX_STEP_MINUTES},
        "capability": _STR_OR_NULL,
        "unit_ids": {"type": "array", "items": {"type": "integer"}},
        "facility_id": _INT_OR_NULL,
        "attended": {"type": "boolean", "default": True},
        "min_lag_minutes": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_LAG_MINUTES,
            "default": 0,
        },
        "max_lag_minutes": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_LAG_MINUTES},
        "note": {"type": "string", "maxLength": 300},
    },
}
_REQUEST_PROPS = {
    "title": {"type": "string", "maxLength": 200},
    "earliest_start": _DT,
    "deadline": _DT,
    "weight": {
        "type": "integer",
        "minimum": 1,
        "maximum": 10,
        "description": "Only a manager of the request's facility may give it (403 naming "
        "`weight` otherwise); a manager's PATCH of `weight` alone needs no membership.",
    },
    "priority_reason": {
        "type": "string",
        "description": "Why the request is urgent: a non-empty reason asks for priority.",
    },
    "steps": {"type": "array", "minItems": 1, "maxItems": MAX_STEPS, "items": _ref("StepInput")},
}
_PROJECT = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
}
_SCHEMAS: dict[str, Any] = {
    "StepInput": _STEP_INPUT,
    "RequestInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["project_id", "title", "earliest_start", "deadline", "steps"],
        "properties": {"project_id": {"type": "integer"}, **_REQUEST_PROPS},
    },
    "RequestChange": {
        "type": "object",
        "additionalProperties": False,
        "properties": _REQUEST_PROPS,
    },
    "BookingRequest": {
        "type": "object",
        "required": ["id", "project", "facility", "title", "status", "steps"],
        "properties": {
            "id": {"type": "integer"},
            "project": _PROJECT,
            "facility": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "string", "enum": _STATUS},
            "unplaced_reason": {"type": "string"},
            "unplaced_reason_code": _STR_OR_NULL,
            "weight": {"type": "integer"},
            "priority_requested": {"type": "boolean"},
            "priority_reason": {"type": "string"},
            "earliest_start": _DT,
            "deadline": _DT,
            "created_at": _DT,
            "steps": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "position": {"type": "integer"},
                        "capability": _STR_OR_NULL,
                        "unit_ids": {"type": "array", "items": {"type": "integer"}},
                        "facility_id": _INT_OR_NULL,
                        "duration_minutes": {"type": "integer"},
                        "attended": {"type": "boolean"},
                        "min_lag_minutes": {"type": "integer"},
                        "max_lag_minutes": _INT_OR_NULL,
                        "note": {"type": "string"},
                    },
                },
            },
            "bookings": {"type": "array", "items": {"type": "integer"}},
        },
    },
    "Booking": {
        "type": "object",
        "required": ["id", "request", "equipment", "start", "end", "status", "sequence"],
        "properties": {
            "id": {"type": "integer"},
            "request": {"type": "integer"},
            "project": _PROJECT,
            "title": {"type": "string"},
            "equipment": {"type": "string"},
            "facility": {"type": "string"},
            "start": _DT,
            "end": _DT,
            "status": {"type": "string", "enum": ["active", "cancelled"]},
            "source": {"type": "string", "enum": ["proposal", "manual"]},
            "pinned": {"type": "boolean"},
            "release_reason": {"type": "string"},
            "sequence": {"type": "integer"},
            "updated_at": _DT,
            "cancelled_at": _DT_OR_NULL,
        },
    },
    "SolveRun": {
        "type": "object",
        "required": ["id", "facility", "status", "progress"],
        "properties": {
            "id": {"type": "integer"},
            "facility": {"type": "string"},
            "status": {
                "type": "string",
                "enum": ["queued", "running", "succeeded", "failed", "cancelled"],
            },
            "trigger": {"type": "string"},
            "time_limit_seconds": {"type": "number"},
            "seed": {"type": "integer"},
            "work_limit": {
                "type": ["number", "null"],
                "description": "work units; null: the wall clock ended the search",
            },
            "replay_command": {
                "type": "string",
                "description": "solves the run's downloaded problem file again",
            },
            "replays_exactly": {
                "type": ["boolean", "null"],
                "description": "whether the replay command gives this plan again "
                "(null: no result yet)",
            },
            "progress": {
                "type": "object",
                "properties": {
                    "objective": {"type": ["number", "null"]},
                    "bound": {"type": ["number", "null"]},
                    "elapsed": {"type": "number"},
                    "history": {
                        "type": "array",
                        "description": "[seconds, best plan, bound] points",
                        "items": {"type": "array"},
                    },
                },
            },
            "elapsed_seconds": {
                "type": ["number", "null"],
                "description": "seconds since a worker started the run, until it finished "
                "(null while queued); progress.elapsed is when the best plan was last reported",
            },
            "error": {"type": "string"},
            "cancel_requested": {"type": "boolean"},
            "created_at": _DT,
            "started_at": _DT_OR_NULL,
            "heartbeat_at": _DT_OR_NULL,
            "finished_at": _DT_OR_NULL,
            "proposal": _INT_OR_NULL,
        },
    },
    "Proposal": {
        "type": "object",
        "required": ["id", "facility", "run", "status", "items", "unplaced", "diff"],
        "properties": {
            "id": {"type": "integer"},
            "facility": {"type": "string"},
            "run": {"type": "integer"},
            "status": {"type": "string", "enum": ["draft", "approved", "discarded", "expired"]},
            "created_at": _DT,
            "decided_at": _DT_OR_NULL,
            "decided_by": {
                "type": ["string", "null"],
                "description": "the deciding manager's email, or 'scheduler' when the facility's "
                "scheduled solve published it by itself (auto-publish)",
            },
            "metrics": {
                "type": "object",
                "description": "accepted_requests, accepted_weight, accepted_hours, utilisation "
                "(overall and per unit), the same under `fcfs` for first come first served, "
                "`ratio`, and counts added/moved/dropped",
            },
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "request": {"type": "integer"},
                        "project": {"type": "string"},
                        "title": {"type": "string"},
                        "step": {"type": "integer"},
                        "equipment": {"type": "string"},
                        "start": _DT,
                        "end": _DT,
                        "pinned": {"type": "boolean"},
                    },
                },
            },
            "unplaced": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "request": {"type": "integer"},
                        "title": {"type": "string"},
                        "reason": {"type": "string"},
                        "kind": {"type": "string", "enum": ["impossible", "competition"]},
                    },
                },
            },
            "diff": {
                "type": "object",
                "properties": {
                    kind: {"type": "array", "items": {"type": "object"}}
                    for kind in ("added", "moved", "dropped")
                },
            },
        },
    },
    "AvailabilityBlock": {
        "type": "object",
        "required": ["kind", "start", "end", "title", "own"],
        "properties": {
            "kind": {"type": "string", "enum": ["booking", "maintenance", "closure"]},
            "start": _DT,
            "end": _DT,
            "title": {
                "type": "string",
                "description": "'Booked' for other projects' bookings; your own title otherwise",
            },
            "own": {"type": "boolean"},
            "booking_id": _INT_OR_NULL,
        },
    },
    "Maintenance": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "equipment": {"type": "string"},
            "start": _DT,
            "end": _DT,
            "reason_zh": {"type": "string"},
            "reason_en": {"type": "string"},
            "source": {"type": "string"},
        },
    },
    "AuditEvent": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "at": _DT,
            "actor": _STR_OR_NULL,
            "action": {"type": "string"},
            "object_type": {"type": "string"},
            "object_id": _INT_OR_NULL,
            "project_id": _INT_OR_NULL,
            "details": {"type": "object"},
        },
    },
}


def _list_of(name: str, key: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "array", "items": _ref(name)}},
    }


_EMPTY = {"type": "object", "additionalProperties": False}
_REASON = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"reason": {"type": "string"}},
}
_ID = [_path_param("id")]
_SLUG = [_path_param("slug", "string")]

openapi.document(
    {
        "/requests": {
            "get": _op(
                "Requests you may see (your projects', and your facilities')",
                {"200": _json(_list_of("BookingRequest", "requests"), "Requests")},
                400,
                parameters=[
                    _query("project", {"type": "integer"}, "project id"),
                    _query("facility", {"type": "string"}, "facility slug"),
                    _query("status", {"type": "string", "enum": _STATUS}, "status"),
                ],
            ),
            "post": _op(
                "Ask for time: a request, or a campaign of several steps in one facility",
                {"201": _json(_ref("BookingRequest"), "Created")},
                400,
                403,
                422,
                body=_ref("RequestInput"),
            ),
        },
        "/requests/{id}": {
            "get": _op(
                "One request",
                {"200": _json(_ref("BookingRequest"), "The request")},
                parameters=_ID,
            ),
            "patch": _op(
                "Change a pending or unplaced request (members); set its weight (managers)",
                {"200": _json(_ref("BookingRequest"), "Changed")},
                403,
                409,
                422,
                body=_ref("RequestChange"),
                parameters=_ID,
            ),
        },
        "/requests/{id}/withdraw": {
            "post": _op(
                "Withdraw a request not yet booked",
                {"200": _json(_ref("BookingRequest"), "Withdrawn")},
                409,
                parameters=_ID,
            )
        },
        "/facilities/{slug}/solve": {
            "post": _op(
                "Start a solve of the facility's open requests (managers); runs in the background",
                {"202": _json(_ref("SolveRun"), "Queued")},
                409,
                422,
                body={
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "time_limit": {"type": "number", "minimum": 1, "maximum": 600},
                        "work_limit": {
                            "type": "number",
                            "minimum": 1,
                            "maximum": 100000,
                            "description": "work units: the plan then replays exactly",
                        },
                    },
                },
                parameters=_SLUG,
            )
        },
        "/runs/{id}": {
            "get": _op(
                "A solve run and its progress (managers)",
                {"200": _json(_ref("SolveRun"), "The run")},
                parameters=_ID,
            )
        },
        "/runs/{id}/cancel": {
            "post": _op(
                "Ask a solve to stop; its plan is thrown away",
                {"200": _json(_ref("SolveRun"), "Cancellation requested")},
                409,
                parameters=_ID,
            )
        },
        "/runs/{id}/problem.json": {
            "get": _op(
                "The run's problem file (pilotslot-problem/1); reproduce with "
                "`python -m scheduler solve`",
                {"200": _json({"type": "object"}, "Problem file")},
                parameters=_ID,
            )
        },
        "/runs/{id}/result.json": {
            "get": _op(
                "The run's result file (pilotslot-result/1)",
                {"200": _json({"type": "object"}, "Result file")},
                parameters=_ID,
            )
        },
        "/proposals/{id}": {
            "get": _op(
                "A proposal with its metrics and its difference to the published schedule",
                {"200": _json(_ref("Proposal"), "The proposal")},
                parameters=_ID,
            )
        },
        "/proposals/{id}/approve": {
            "post": _op(
                "Publish a draft proposal: all its bookings or none (409 names the conflicts)",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "proposal": {"type": "integer"},
                                "bookings": {"type": "array", "items": _ref("Booking")},
                            },
                        },
                        "Published",
                    )
                },
                409,
                parameters=_ID,
            )
        },
        "/proposals/{id}/discard": {
            "post": _op(
                "Discard a draft proposal",
                {"200": _json(_ref("Proposal"), "Discarded")},
                409,
                parameters=_ID,
            )
        },
        "/bookings": {
            "get": _op(
                "Bookings you may see",
                {"200": _json(_list_of("Booking", "bookings"), "Bookings")},
                400,
                parameters=[
                    _query("project", {"type": "integer"}, "project id"),
                    _query("facility", {"type": "string"}, "facility slug"),
                    _query("equipment", {"type": "string"}, "unit slug"),
                    _query("start", _DT, "only bookings ending after this"),
                    _query("end", _DT, "only bookings starting before this"),
                    _query("include_cancelled", {"type": "boolean"}, "also cancelled ones"),
                ],
            ),
            "post": _op(
                "Book a unit directly for a project (managers)",
                {"201": _json(_ref("Booking"), "Booked")},
                409,
                422,
                body={
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["project_id", "equipment", "start", "end", "title"],
                    "properties": {
                        "project_id": {"type": "integer"},
                        "equipment": {"type": "string"},
                        "start": _DT,
                        "end": _DT,
                        "title": {"type": "string"},
                        "note": {"type": "string"},
                    },
                },
            ),
        },
        "/bookings/{id}": {
            "get": _op(
                "One booking", {"200": _json(_ref("Booking"), "The booking")}, parameters=_ID
            ),
            "patch": _op(
                "Move a booking (managers); a move that breaks the solver's rules is refused "
                "(409, `violations`) unless `override` is true with an `override_reason`",
                {"200": _json(_ref("Booking"), "Moved")},
                409,
                422,
                body={
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["start", "end"],
                    "properties": {
                        "start": _DT,
                        "end": _DT,
                        "equipment": {"type": "string"},
                        "reason": {"type": "string", "maxLength": 2000},
                        "override": {"type": "boolean"},
                        "override_reason": {"type": "string", "maxLength": 2000},
                    },
                },
                parameters=_ID,
            ),
        },
        "/bookings/{id}/cancel": {
            "post": _op(
                "Cancel a booking",
                {"200": _json(_ref("Booking"), "Cancelled")},
                409,
                422,
                body=_REASON,
                parameters=_ID,
            )
        },
        "/bookings/{id}/release": {
            "post": _op(
                "Let the next solve move a booking (managers; the reason is audited)",
                {"200": _json(_ref("Booking"), "Released")},
                409,
                422,
                body={**_REASON, "required": ["reason"]},
                parameters=_ID,
            )
        },
        "/bookings/{id}/pin": {
            "post": _op(
                "Keep a booking fixed in later solves (managers)",
                {"200": _json(_ref("Booking"), "Pinned")},
                409,
                body=_EMPTY,
                parameters=_ID,
            )
        },
        "/equipment/{slug}/availability": {
            "get": _op(
                "Busy blocks of a unit; other projects' bookings show only as 'Booked'",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "equipment": {"type": "string"},
                                "start": _DT,
                                "end": _DT,
                                "blocks": {"type": "array", "items": _ref("AvailabilityBlock")},
                            },
                        },
                        "Blocks",
                    )
                },
                400,
                parameters=[
                    *_SLUG,
                    _query("start", _DT, "default now"),
                    _query("end", _DT, "default start + 7 days; at most 92 days"),
                ],
            )
        },
        "/facilities/{slug}/maintenance": {
            "post": _op(
                "Add a maintenance window (managers); refused while active bookings overlap it, "
                "even with force",
                {"201": _json(_ref("Maintenance"), "Added")},
                409,
                422,
                body={
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["equipment", "start", "end"],
                    "properties": {
                        "equipment": {"type": "string"},
                        "start": _DT,
                        "end": _DT,
                        "reason_zh": {
                            "type": "string",
                            "maxLength": booking_service.MAX_MAINTENANCE_REASON,
                            "description": "the reason in Chinese; give either or both",
                        },
                        "reason_en": {
                            "type": "string",
                            "maxLength": booking_service.MAX_MAINTENANCE_REASON,
                            "description": "the reason in English; give either or both",
                        },
                        "force": {"type": "boolean"},
                    },
                },
                parameters=_SLUG,
            )
        },
        "/equipment/{slug}/trainings": {
            "post": _op(
                "Record that a person is trained on a unit (managers)",
                {"201": _json({"type": "object"}, "Recorded")},
                422,
                body={
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["email"],
                    "properties": {
                        "email": {"type": "string"},
                        "trained_on": {
                            "type": "string",
                            "format": "date",
                            "description": dates.openapi_description(),
                        },
                    },
                },
                parameters=_SLUG,
            ),
            "delete": _op(
                "Withdraw a person's training on a unit (managers)",
                {"204": {"description": "Removed"}},
                422,
                body={
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["email"],
                    "properties": {"email": {"type": "string"}},
                },
                parameters=_SLUG,
            ),
        },
        "/audit": {
            "get": _op(
                "The audit log of a facility (managers)",
                {"200": _json(_list_of("AuditEvent", "events"), "Events")},
                400,
                parameters=[
                    {
                        "name": "facility",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    _query("limit", {"type": "integer", "maximum": 1000}, "default 200"),
                ],
            )
        },
    },
    _SCHEMAS,
)
