"""Catalogue fixtures: the small test catalogue, variants of it, and a dump of catalogue rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.catalog.models import (
    Capability,
    Centre,
    Equipment,
    EquipmentCapability,
    Facility,
    FacilityDirection,
    MaintenanceWindow,
)
from app.catalog.sync import SyncReport, sync_catalogue
from app.extensions import db

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "facilities.yaml"
FIXTURE_TEXT = FIXTURE.read_text(encoding="utf-8")


def dump_catalogue() -> list[list[tuple[Any, ...]]]:
    """Return every catalogue row of every catalogue table, in key order."""
    db.session.expire_all()
    dump = []
    for model in (
        Capability,
        Centre,
        Facility,
        FacilityDirection,
        Equipment,
        EquipmentCapability,
        MaintenanceWindow,
    ):
        table = model.__table__
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns))
        dump.append([tuple(row) for row in rows])
    db.session.commit()
    return dump


@pytest.fixture
def variant(tmp_path: Path) -> Callable[..., Path]:
    """Write the test catalogue with text replaced (old -> new, each must occur) to a file."""

    def _write(*replacements: tuple[str, str], name: str = "facilities.yaml") -> Path:
        text = FIXTURE_TEXT
        for old, new in replacements:
            assert old in text, old
            text = text.replace(old, new, 1)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def synced(db: Any) -> SyncReport:
    """The test catalogue, loaded."""
    return sync_catalogue(FIXTURE)
