"""A small world for the booking page tests: two facilities, two startups, their people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.accounts.models import Project, Training, User
from app.booking.models import RunStatus, SolveRun
from app.catalog.models import Equipment, Facility
from app.extensions import db
from tests import factories

ZONE = ZoneInfo("Asia/Shanghai")


@dataclass
class World:
    facility: Facility
    other_facility: Facility
    lcms1: Equipment
    lcms2: Equipment
    hplc: Equipment
    chamber: Equipment
    project_a: Project
    project_b: Project
    alice: User
    bob: User
    mia: User
    otto: User
    admin: User
    monday: date

    def at(self, day: int, clock: str = "09:00") -> datetime:
        """Return a local time `day` days after next Monday, as an aware datetime."""
        hour, minute = map(int, clock.split(":"))
        return datetime.combine(self.monday + timedelta(days=day), time(hour, minute), ZONE)

    def local(self, day: int, clock: str = "09:00") -> str:
        """Return the same moment as a datetime-local form value."""
        return self.at(day, clock).strftime("%Y-%m-%dT%H:%M")


def build_world() -> World:
    """Create the world's rows (on the current database) and return them."""
    today = datetime.now(ZONE).date()
    monday = today + timedelta(days=7 - today.weekday())
    facility = factories.make_facility(
        slug="bio-poc", name_en="Bio Proof-of-Concept Centre", name_zh="生物概念验证中心"
    )
    other = factories.make_facility(
        slug="ict-lab",
        name_en="ICT Lab",
        name_zh="信息通信实验室",
        directions=("information_communication",),
    )
    lcms1 = factories.make_equipment(
        facility, slug="lcms-1", name_en="LC-MS No. 1", changeover_minutes=30
    )
    lcms2 = factories.make_equipment(
        facility, slug="lcms-2", name_en="LC-MS No. 2", changeover_minutes=30
    )
    hplc = factories.make_equipment(
        facility, slug="hplc-1", name_en="HPLC No. 1", capabilities=("hplc",), unattended_ok=True
    )
    chamber = factories.make_equipment(
        other, slug="chamber-1", name_en="Anechoic chamber", capabilities=("anechoic-chamber",)
    )
    project_a = factories.make_project(name="Amber Biologics")
    project_b = factories.make_project(name="Birch Antennas")
    world = World(
        facility=facility,
        other_facility=other,
        lcms1=lcms1,
        lcms2=lcms2,
        hplc=hplc,
        chamber=chamber,
        project_a=project_a,
        project_b=project_b,
        alice=factories.make_user(
            name="Alice", email="alice@amber.example", locale="en", projects=(project_a,)
        ),
        bob=factories.make_user(
            name="Bob", email="bob@birch.example", locale="en", projects=(project_b,)
        ),
        mia=factories.make_user(
            name="Mia", email="mia@bio.example", locale="en", manages=(facility,)
        ),
        otto=factories.make_user(
            name="Otto", email="otto@ict.example", locale="en", manages=(other,)
        ),
        admin=factories.make_user(
            name="Ada", email="ada@admin.example", locale="en", is_admin=True
        ),
        monday=monday,
    )
    return world


def train(user: User, unit: Equipment) -> None:
    """Record that the user is trained on the unit."""
    db.session.add(Training(user_id=user.id, equipment_id=unit.id, trained_on=date(2026, 1, 5)))
    db.session.commit()


def solve_now(manager: User, facility: Facility, time_limit: float = 5.0) -> SolveRun:
    """Run a solve in this process (the pages start it in a worker process)."""
    from app.booking.runs import execute_run

    run = factories.make_run(
        facility,
        status=RunStatus.QUEUED.value,
        started_by_id=manager.id,
        trigger="manual",
        time_limit_seconds=time_limit,
    )
    execute_run(run.id)
    db.session.expire_all()
    return db.session.get(SolveRun, run.id)
