"""Vouchers in the JSON API: administrators record and extend them, members read their own
with balances and draws, bad bodies name the field, nothing of another project shows."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.vouchers.models import Voucher
from tests.billing.test_statements import used
from tests.usage.conftest import MONDAY_9, Site
from tests.vouchers.conftest import ISSUER, admin, make_voucher


def _client(app: Flask, login: Any, user: Any) -> FlaskClient:
    return login(user, app.test_client())  # type: ignore[no-any-return]


def _body(site: Site, **overrides: Any) -> dict[str, Any]:
    return {
        "project_id": site.project.id,
        "issuer": ISSUER,
        "number": "API-1",
        "amount_fen": 200_000,
        "valid_from": "2027-01-01",
        "valid_until": "2027-12-31",
        "share_percent": 50,
        "facilities": [site.facility.id],
        **overrides,
    }


def test_the_administrator_records_and_extends_a_voucher(
    app: Flask, site: Site, login: Any
) -> None:
    client = _client(app, login, admin())
    response = client.post("/api/v1/vouchers", json=_body(site))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert (created["balance_fen"], created["facilities"], created["draws"]) == (
        200_000,
        [site.facility.id],
        [],
    )
    used(site, MONDAY_9, 60)
    found = client.get(f"/api/v1/vouchers/{created['id']}").get_json()
    assert found["used_fen"] == 7_500 and found["draws"][0]["amount_fen"] == 7_500
    changed = client.patch(
        f"/api/v1/vouchers/{created['id']}", json={"valid_until": "2028-06-30", "note": "ok"}
    )
    assert changed.status_code == 200 and changed.get_json()["valid_until"] == "2028-06-30"
    shorter = client.patch(f"/api/v1/vouchers/{created['id']}", json={"valid_until": "2027-06-30"})
    assert shorter.status_code == 422 and shorter.get_json()["field"] == "valid_until"


def test_bad_bodies_are_refused_naming_the_field(app: Flask, site: Site, login: Any) -> None:
    client = _client(app, login, admin())
    for overrides, field in (
        ({"share_percent": 0}, "share_percent"),
        ({"amount_fen": 0}, "amount_fen"),
        ({"valid_until": "2026-12-31"}, "valid_until"),
        ({"facilities": [999_999]}, "facilities"),
        ({"capabilities": ["nope"]}, "capabilities"),
        ({"issuer": " "}, "issuer"),
    ):
        response = client.post("/api/v1/vouchers", json=_body(site, **overrides))
        assert response.status_code in (400, 422), (overrides, response.get_json())
        assert field in str(response.get_json()), (overrides, response.get_json())
    assert db.session.scalar(select(func.count(Voucher.id))) == 0


def test_members_read_their_own_vouchers_and_cannot_record_any(
    app: Flask, site: Site, login: Any
) -> None:
    own = make_voucher(site, number="OWN-1")
    theirs = make_voucher(site, number="THEIRS-1", project_id=str(site.other_project.id))
    client = _client(app, login, site.member)
    listed = client.get("/api/v1/vouchers").get_json()["vouchers"]
    assert [v["number"] for v in listed] == ["OWN-1"]
    other_project = client.get(f"/api/v1/vouchers?project={site.other_project.id}").get_json()
    assert other_project["vouchers"] == []
    assert client.get(f"/api/v1/vouchers/{own.id}").status_code == 200
    assert client.get(f"/api/v1/vouchers/{theirs.id}").status_code == 404
    assert client.post("/api/v1/vouchers", json=_body(site)).status_code == 404
    assert client.patch(f"/api/v1/vouchers/{own.id}", json={"note": "x"}).status_code == 404
    manager = _client(app, login, site.manager)
    assert manager.get(f"/api/v1/vouchers/{own.id}").status_code == 404
    assert manager.get("/api/v1/vouchers").get_json()["vouchers"] == []
    assert db.session.scalar(select(func.count(Voucher.id))) == 2
