"""Needs fixtures: the real catalogue, a startup, a broker of one centre and one of another."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.accounts.models import BrokerAssignment, Project, User
from app.catalog.models import Centre
from app.catalog.sync import sync_catalogue
from tests import factories

CATALOGUE = Path(__file__).resolve().parents[2] / "facilities.yaml"


@dataclass
class People:
    project: Project
    founder: User
    other_project: Project
    other_founder: User
    broker: User
    other_broker: User
    region_broker: User
    centre: Centre
    other_centre: Centre


@pytest.fixture
def people(db: Any) -> People:
    sync_catalogue(CATALOGUE)
    centre = db.session.scalar(select(Centre).where(Centre.slug == "suzhou-sip"))
    other_centre = db.session.scalar(select(Centre).where(Centre.slug == "nanjing-biomed"))
    project = factories.make_project(name="Gallium Power")
    founder = factories.make_user(name="Fay Founder", projects=(project,))
    other_project = factories.make_project(name="Peptide Works")
    other_founder = factories.make_user(name="Otto Other", projects=(other_project,))
    broker = factories.make_user(name="Bea Broker")
    other_broker = factories.make_user(name="Bob Otherbroker")
    region_broker = factories.make_user(name="Rita Region")
    db.session.add_all(
        [
            BrokerAssignment(user_id=broker.id, centre_id=centre.id),
            BrokerAssignment(user_id=other_broker.id, centre_id=other_centre.id),
            BrokerAssignment(user_id=region_broker.id, centre_id=None),
        ]
    )
    db.session.commit()
    return People(
        project,
        founder,
        other_project,
        other_founder,
        broker,
        other_broker,
        region_broker,
        centre,
        other_centre,
    )
