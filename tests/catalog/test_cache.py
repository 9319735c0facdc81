"""Catalogue JSON kept per catalogue version: served without reading the catalogue again,
changed the moment a catalogue write commits, answered 304 while the client's copy holds."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.catalog.models import Facility
from app.catalog.sync import SyncReport
from tests.statements import recorded_statements

URLS = ("/api/v1/facilities", "/api/v1/facilities/alpha-poc", "/api/v1/capabilities")


def _catalogue_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM facilities" in s or "FROM equipment" in s]


def test_repeated_catalogue_reads_do_not_read_the_catalogue_again(
    client: FlaskClient, synced: SyncReport
) -> None:
    first = [client.get(url) for url in URLS]
    with recorded_statements() as statements:
        second = [client.get(url) for url in URLS]

    assert [r.status_code for r in second] == [200, 200, 200]
    assert [r.get_json() for r in second] == [r.get_json() for r in first]
    assert _catalogue_reads(statements) == []
    assert len(statements) <= 2 * len(URLS)


def test_a_catalogue_write_shows_at_once(client: FlaskClient, db: Any, synced: SyncReport) -> None:
    before = client.get("/api/v1/facilities/alpha-poc")
    listed = client.get("/api/v1/facilities")
    facility = db.session.scalar(select(Facility).where(Facility.slug == "alpha-poc"))
    facility.name_en = "Alpha Renamed"
    db.session.commit()

    after = client.get("/api/v1/facilities/alpha-poc")
    relisted = client.get("/api/v1/facilities")

    assert before.get_json()["name_en"] != "Alpha Renamed"
    assert after.get_json()["name_en"] == "Alpha Renamed"
    assert "Alpha Renamed" not in listed.get_data(as_text=True)
    assert "Alpha Renamed" in relisted.get_data(as_text=True)
    assert after.headers["ETag"] != before.headers["ETag"]


def test_a_write_outside_the_catalogue_keeps_the_cached_json(
    client: FlaskClient, make_project: Any, synced: SyncReport
) -> None:
    client.get("/api/v1/facilities")
    make_project()
    with recorded_statements() as statements:
        assert client.get("/api/v1/facilities").status_code == 200

    assert _catalogue_reads(statements) == []


def test_conditional_request_is_304_until_the_catalogue_changes(
    client: FlaskClient, db: Any, synced: SyncReport
) -> None:
    etag = client.get("/api/v1/facilities/alpha-poc").headers["ETag"]
    unchanged = client.get("/api/v1/facilities/alpha-poc", headers={"If-None-Match": etag})
    facility = db.session.scalar(select(Facility).where(Facility.slug == "alpha-poc"))
    facility.city_en = "Wuxi"
    db.session.commit()
    changed = client.get("/api/v1/facilities/alpha-poc", headers={"If-None-Match": etag})

    assert unchanged.status_code == 304 and unchanged.data == b""
    assert changed.status_code == 200 and changed.get_json()["city_en"] == "Wuxi"


def test_errors_are_never_cached(client: FlaskClient, synced: SyncReport) -> None:
    assert client.get("/api/v1/facilities/nowhere").status_code == 404
    assert client.get("/api/v1/facilities/nowhere").status_code == 404
    assert client.get("/api/v1/facilities?kind=").status_code == 400
