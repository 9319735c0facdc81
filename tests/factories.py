"""Small factories that fill in defaults; each takes overrides as keyword arguments."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from app.accounts.models import Project, ProjectMembership, User
from app.accounts.security import hash_password
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


def at(text: str) -> datetime:
    """Parse '2027-03-01 09:00' as a UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
