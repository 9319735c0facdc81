"""Fixtures of the booking core tests: a small world of two facilities and two startups."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.accounts.models import Project, Training, User
from app.booking import runs
from app.booking.models import BookingRequest, SolveRun
from app.booking.requests import StepInput, create_request, update_request
from app.catalog.models import Equipment, Facility
from app.extensions import db
from tests import factories

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _no_worker_processes(app: Flask) -> Iterator[None]:
    """Queue solves without starting worker processes; tests run `execute_run` themselves
    (one test starts the real worker on purpose)."""
    app.config["SOLVE_WORKER_PROCESS"] = False
    yield


@dataclass
class Core:
    """Two facilities, their units and managers, two startups and their members."""

    bio: Facility
    ict: Facility
    lcms1: Equipment
    lcms2: Equipment
    nmr: Equipment
    chamber: Equipment
    amber: Project
    birch: Project
    alice: User
    bob: User
    mia: User
    otto: User
    admin: User
    monday: date

    def at(self, day: int, clock: str = "09:00") -> datetime:
        """Return local time `day` days after next Monday as an aware datetime."""
        hour, minute = map(int, clock.split(":"))
        return datetime.combine(self.monday + timedelta(days=day), time(hour, minute), ZONE)

    def request(
        self,
        title: str = "Peptide map",
        *,
        user: User | None = None,
        project: Project | None = None,
        steps: list[StepInput] | None = None,
        start: datetime | None = None,
        deadline: datetime | None = None,
        weight: int = 1,
    ) -> BookingRequest:
        """Create a request through the service (defaults: Alice, 3 h of LC-MS next week);
        an administrator gives it the weight, as only managers may."""
        req = create_request(
            user or self.alice,
            (project or self.amber).id,
            title=title,
            earliest_start=start or self.at(0),
            deadline=deadline or self.at(4, "18:00"),
            steps=steps or [StepInput(duration_minutes=180, capability="lc-ms")],
        )
        if weight != 1:
            update_request(self.admin, req.id, weight=weight)
        return req

    def solve(self, manager: User | None = None, time_limit: float = 5.0) -> SolveRun:
        """Queue a solve of the Bio facility and run it in this process."""
        run = runs.start_solve(
            manager or self.mia, self.bio.id, time_limit=time_limit, launch=False
        )
        runs.execute_run(run.id)
        db.session.expire_all()
        found = db.session.get(SolveRun, run.id)
        assert found is not None
        return found


def train(user: User, unit: Equipment) -> None:
    """Record that the user is trained on the unit."""
    db.session.add(Training(user_id=user.id, equipment_id=unit.id, trained_on=date(2026, 1, 5)))
    db.session.commit()


@pytest.fixture
def core(db: Any) -> Core:
    today = datetime.now(ZONE).date()
    monday = today + timedelta(days=7 - today.weekday())
    bio = factories.make_facility(slug="bio", name_en="Bio Centre", name_zh="生物中心")
    ict = factories.make_facility(
        slug="ict",
        name_en="ICT Lab",
        name_zh="信通实验室",
        directions=("information_communication",),
    )
    lcms1 = factories.make_equipment(bio, slug="lcms-1", changeover_minutes=30)
    lcms2 = factories.make_equipment(bio, slug="lcms-2", changeover_minutes=30)
    nmr = factories.make_equipment(
        bio, slug="nmr-1", capabilities=("nmr",), training_required=True
    )
    chamber = factories.make_equipment(ict, slug="chamber-1", capabilities=("anechoic-chamber",))
    amber = factories.make_project(name="Amber Biologics")
    birch = factories.make_project(name="Birch Antennas")
    return Core(
        bio=bio,
        ict=ict,
        lcms1=lcms1,
        lcms2=lcms2,
        nmr=nmr,
        chamber=chamber,
        amber=amber,
        birch=birch,
        alice=factories.make_user(name="Alice", email="alice@amber.test", projects=(amber,)),
        bob=factories.make_user(name="Bob", email="bob@birch.test", projects=(birch,)),
        mia=factories.make_user(name="Mia", email="mia@bio.test", manages=(bio,)),
        otto=factories.make_user(name="Otto", email="otto@ict.test", manages=(ict,)),
        admin=factories.make_user(name="Ada", email="ada@admin.test", is_admin=True),
        monday=monday,
    )


@pytest.fixture
def client_for(app: Flask, login: Any) -> Any:
    """Return a function giving a test client logged in as a user (one client per user)."""

    def _client(user: Any) -> FlaskClient:
        return login(user, app.test_client())

    return _client
