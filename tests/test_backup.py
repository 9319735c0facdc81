"""Backups restore every booking: SQLite online backup and a pg_dump/pg_restore round trip."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from app.backup import BackupError, backup_postgres, backup_sqlite, restore_postgres
from app.booking.models import Booking
from tests.conftest import POSTGRES_URL, postgres_url_for, reset_postgres_schema
from tests.factories import at, make_booking, make_equipment, make_project, make_user


def _bookings(db, count: int) -> None:
    unit = make_equipment()
    project = make_project()
    user = make_user(projects=(project,))
    for i in range(count):
        start = at("2027-03-01 01:00") + timedelta(hours=2 * i)
        make_booking(project, unit, start, start + timedelta(hours=1), by=user, title=f"run {i}")


def _signature(url: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text('SELECT id, equipment_id, start, "end", status FROM bookings ORDER BY id')
            ).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]


def test_sqlite_online_backup_restores_every_booking(app, db, tmp_path: Path) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite backup")
    _bookings(db, 25)
    # A reader holds the database open while the backup runs, as a live app would.
    db.session.execute(select(func.count(Booking.id))).scalar_one()
    copy = backup_sqlite(url, tmp_path / "backup.sqlite")
    assert _signature(f"sqlite:///{copy}") == _signature(url)
    assert len(_signature(f"sqlite:///{copy}")) == 25


def test_pg_dump_and_restore_round_trip_keeps_every_booking(app, db, tmp_path: Path) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("PostgreSQL backup")
    _bookings(db, 25)
    before = _signature(url)
    schema = url.split("search_path%3D")[1].split(",")[0]
    dump = backup_postgres(url, tmp_path / "pilotslot.dump", schema=schema)
    db.session.remove()
    reset_postgres_schema(schema)
    assert _signature_or_none(url) is None
    restore_postgres(url, dump)
    assert _signature(url) == before


def _signature_or_none(url: str) -> list[tuple] | None:
    try:
        return _signature(url)
    except Exception:  # noqa: BLE001  (the table is gone: that is the point)
        return None


def test_backup_of_a_missing_sqlite_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database file"):
        backup_sqlite(f"sqlite:///{tmp_path / 'nope.sqlite'}", tmp_path / "b.sqlite")


def test_restore_refuses_a_non_postgres_url(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="not a PostgreSQL"):
        restore_postgres("sqlite:///x.sqlite", tmp_path / "x.dump")


def test_postgres_url_helper_is_available() -> None:
    if POSTGRES_URL:
        assert "search_path" in postgres_url_for("x")
