"""A facility with a unit and a rate card, two projects, their members and managers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.accounts.models import Project, User
from app.billing.models import RateCard
from app.booking.models import Booking
from app.catalog.models import Equipment, Facility
from app.extensions import db
from tests import factories

# 2027-03-01 09:00 in Shanghai.
MONDAY_9 = factories.at("2027-03-01 01:00")


@dataclass
class Site:
    facility: Facility
    unit: Equipment
    project: Project
    member: User
    manager: User
    other_project: Project
    outsider: User
    other_manager: User
    other_facility: Facility

    def book(
        self, start: datetime, hours: float = 2, *, project: Project | None = None, **kw: Any
    ) -> Booking:
        return factories.make_booking(
            project or self.project,
            kw.pop("unit", self.unit),
            start,
            start + timedelta(hours=hours),
            by=self.member if (project or self.project) is self.project else None,
            **kw,
        )


def build_site(**facility: Any) -> Site:
    """Store the site; the unit costs 100.00 CNY/h to the centre's startups, 200.00 to external
    companies, with a 50.00 CNY/h assisted surcharge and a 30.00 CNY minimum charge."""
    home = factories.make_facility(slug="usage-bio", name_en="Usage Bio Centre", **facility)
    unit = factories.make_equipment(
        home, slug="usage-lcms", name_en="LC-MS", name_zh="液质联用仪", changeover_minutes=30
    )
    db.session.add(
        RateCard(
            equipment_id=unit.id,
            incubated_fen=10_000,
            startup_fen=15_000,
            university_fen=12_000,
            external_fen=20_000,
            assisted_surcharge_fen=5_000,
            minimum_charge_fen=3_000,
        )
    )
    project = factories.make_project(name="Kestrel Bio")
    member = factories.make_user(name="Kim Kestrel", projects=(project,))
    manager = factories.make_user(name="Mona Manager", manages=(home,))
    other_facility = factories.make_facility(slug="usage-other")
    other_project = factories.make_project(name="Heron Devices")
    outsider = factories.make_user(name="Otto Outsider", projects=(other_project,))
    other_manager = factories.make_user(name="Olga Other", manages=(other_facility,))
    db.session.commit()
    return Site(
        home,
        unit,
        project,
        member,
        manager,
        other_project,
        outsider,
        other_manager,
        other_facility,
    )


@pytest.fixture
def site(db: Any) -> Site:
    return build_site()
