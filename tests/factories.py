"""Small factories that fill in defaults; each takes overrides as keyword arguments."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from app.accounts.models import Project, ProjectMembership, User
from app.accounts.security import hash_password
from app.booking.models import Booking, BookingRequest, RequestStep, RunStatus, SolveRun
from app.catalog.models import Centre, Equipment, EquipmentCapability, Facility, FacilityDirection
from app.extensions import db

PASSWORD = "correct horse battery"
_counter = itertools.count(1)
_password_hash: str | None = None

WEEKDAYS_9_TO_6 = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def _n() -> int:
    return next(_counter)


def _hashed_password() -> str:
    global _password_hash
    if _password_hash is None:
        _password_hash = hash_password(PASSWORD)
    return _password_hash


def make_centre(**overrides: Any) -> Centre:
    n = _n()
    values: dict[str, Any] = {
        "slug": f"centre-{n}",
        "name_zh": f"中心{n}",
        "name_en": f"Centre {n}",
    }
    values.update(overrides)
    centre = Centre(**values)
    db.session.add(centre)
    db.session.commit()
    return centre


def make_facility(*, directions: tuple[str, ...] = ("biomedicine",), **overrides: Any) -> Facility:
    n = _n()
    values: dict[str, Any] = {
        "slug": f"facility-{n}",
        "kind": "pilot_test_base",
        "name_zh": f"中试基地{n}",
        "name_en": f"Pilot base {n}",
        "city_zh": "南京",
        "city_en": "Nanjing",
        "district_zh": "江北新区",
        "district_en": "Jiangbei New Area",
        "timezone": "Asia/Shanghai",
        "opening_hours": WEEKDAYS_9_TO_6,
        "closures": [],
    }
    values.update(overrides)
    if "centre" not in values and "centre_id" not in values:
        values["centre"] = make_centre()
    facility = Facility(**values)
    facility.directions = [FacilityDirection(name=d) for d in directions]
    db.session.add(facility)
    db.session.commit()
    return facility


def make_equipment(
    facility: Facility | None = None,
    *,
    capabilities: tuple[str, ...] = ("lc-ms",),
    **overrides: Any,
) -> Equipment:
    n = _n()
    values: dict[str, Any] = {
        "slug": f"unit-{n}",
        "name_zh": f"设备{n}",
        "name_en": f"Unit {n}",
        "capacity": 1,
        "hourly_rate_cny": 100,
        "changeover_minutes": 0,
    }
    values.update(overrides)
    unit = Equipment(facility=facility or make_facility(), **values)
    unit.capabilities = [EquipmentCapability(name=c) for c in capabilities]
    db.session.add(unit)
    db.session.commit()
    return unit


def make_user(
    *, projects: tuple[Project, ...] = (), manages: tuple[Facility, ...] = (), **overrides: Any
) -> User:
    n = _n()
    values: dict[str, Any] = {
        "email": f"user{n}@example.org",
        "name": f"User {n}",
        "password_hash": _hashed_password(),
    }
    values.update(overrides)
    user = User(**values)
    user.managed_facilities = list(manages)
    db.session.add(user)
    db.session.flush()
    for project in projects:
        db.session.add(ProjectMembership(user_id=user.id, project_id=project.id))
    db.session.commit()
    return user


def make_project(**overrides: Any) -> Project:
    n = _n()
    values: dict[str, Any] = {"name": f"Startup {n}", "origin": "Nanjing University"}
    values.update(overrides)
    project = Project(**values)
    db.session.add(project)
    db.session.commit()
    return project


def make_request(
    project: Project | None = None,
    units: Sequence[Equipment] = (),
    *,
    by: User | None = None,
    durations: Sequence[int] | None = None,
    **overrides: Any,
) -> BookingRequest:
    """Store a request as rows, one step per unit in order (a campaign when several).

    Steps last `durations` minutes (60 each unless given); `by` is the author, a new member of
    the project unless given. Made directly, without the services' checks or audit events."""
    n = _n()
    project = project or make_project()
    by = by or make_user(projects=(project,))
    values: dict[str, Any] = {
        "project_id": project.id,
        "created_by_id": by.id,
        "title": f"Request {n}",
        "earliest_start": at("2027-01-01 00:00"),
        "deadline": at("2027-12-31 00:00"),
    }
    values.update(overrides)
    request = BookingRequest(**values)
    minutes = list(durations) if durations is not None else [60] * len(units)
    for position, (unit, duration) in enumerate(zip(units, minutes, strict=True)):
        request.steps.append(
            RequestStep(position=position, duration_minutes=duration, units=[unit])
        )
    db.session.add(request)
    db.session.commit()
    return request


def make_campaign(
    project: Project | None = None, units: Sequence[Equipment] = (), **overrides: Any
) -> BookingRequest:
    """Store a request of several ordered steps, one per unit."""
    if len(units) < 2:
        raise ValueError("a campaign has at least two steps: give two units or more")
    return make_request(project, units, **overrides)


def make_booking(
    project: Project | None,
    unit: Equipment,
    start: datetime,
    end: datetime,
    *,
    request: BookingRequest | None = None,
    step_index: int = 0,
    by: User | None = None,
    title: str | None = None,
    **overrides: Any,
) -> Booking:
    """Store a published booking of one step, as an approved proposal would.

    Without `request`, a booked one-step request of the booking's length is made for it;
    `overrides` are the booking's columns (lane, status, source, created_at...)."""
    if request is None:
        request = make_request(
            project,
            [unit],
            by=by,
            durations=[int((end - start).total_seconds() // 60)],
            title=title or f"Run on {unit.name_en}",
            earliest_start=start,
            deadline=end,
            status="booked",
        )
    values: dict[str, Any] = {
        "request_id": request.id,
        "step_id": request.steps[step_index].id,
        "equipment_id": unit.id,
        "start": start,
        "end": end,
    }
    values.update(overrides)
    booking = Booking(**values)
    db.session.add(booking)
    db.session.commit()
    return booking


def make_run(facility: Facility | None = None, **overrides: Any) -> SolveRun:
    """Store a solve run of a facility, finished unless a status is given."""
    values: dict[str, Any] = {
        "facility_id": (facility or make_facility()).id,
        "status": RunStatus.SUCCEEDED.value,
    }
    values.update(overrides)
    run = SolveRun(**values)
    db.session.add(run)
    db.session.commit()
    return run


def at(text: str) -> datetime:
    """Parse '2027-03-01 09:00' as a UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
