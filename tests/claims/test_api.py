"""Voucher claims in the JSON API: an administrator prepares, reads, refreshes, submits and
marks paid; bad bodies name the field; everyone else gets 404 and sees nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.vouchers.models import Claim
from tests import factories
from tests.claims.conftest import BUREAU, MARCH, ClaimSite

BODY = {"issuer": BUREAU, "period_start": "2027-03-01", "period_end": "2027-03-31"}


def _billed(cs: ClaimSite) -> None:
    cs.draw(cs.use(factories.at("2027-03-01 01:00"), 90), 11_250)
    cs.bill(MARCH)


def test_an_administrator_prepares_submits_and_marks_a_claim_paid(
    cs: ClaimSite, app: Flask, login: Any
) -> None:
    _billed(cs)
    client = login(cs.admin, app.test_client())
    response = client.post("/api/v1/claims", json=BODY)
    assert response.status_code == 201, response.get_json()
    claim = response.get_json()
    assert response.headers["Location"] == f"/api/v1/claims/{claim['id']}"
    assert (claim["state"], claim["total_fen"], claim["period_end"]) == (
        "draft",
        11_250,
        "2027-03-31",
    )
    [line] = claim["lines"]
    assert line["project"] == "Kestrel Bio" and line["unit"] == "usage-lcms"
    assert line["voucher"] == cs.voucher.number and line["amount_fen"] == 11_250
    assert line["start"].startswith("2027-03-01T01:00") and line["charge_fen"] == 22_500

    assert client.post(f"/api/v1/claims/{claim['id']}/paid").status_code == 409
    assert client.post(f"/api/v1/claims/{claim['id']}/refresh").get_json()["total_fen"] == 11_250
    submitted = client.post(f"/api/v1/claims/{claim['id']}/submit")
    assert submitted.status_code == 200 and submitted.get_json()["state"] == "submitted"
    assert client.post(f"/api/v1/claims/{claim['id']}/refresh").status_code == 409
    paid = client.post(f"/api/v1/claims/{claim['id']}/paid").get_json()
    assert paid["state"] == "paid" and paid["paid_at"] is not None
    assert [c["id"] for c in client.get("/api/v1/claims").get_json()["claims"]] == [claim["id"]]
    assert client.get(f"/api/v1/claims/{claim['id']}").get_json()["state"] == "paid"


def test_bad_bodies_are_refused_naming_the_field(cs: ClaimSite, app: Flask, login: Any) -> None:
    _billed(cs)
    client = login(cs.admin, app.test_client())
    cases = [
        ({**BODY, "issuer": "Nobody"}, 422, "issuer"),
        ({**BODY, "period_start": "March"}, 422, "period_start"),
        ({**BODY, "period_end": "2027-02-01"}, 422, "period_end"),
        ({**BODY, "period_start": "1999-01-01"}, 422, "period_start"),
        ({k: v for k, v in BODY.items() if k != "period_end"}, 422, "period_end"),
        ({**BODY, "colour": "red"}, 422, "colour"),
        ({**BODY, "period_start": "2027-05-01", "period_end": "2027-05-31"}, 409, "period_start"),
    ]
    for body, status, field in cases:
        response = client.post("/api/v1/claims", json=body)
        assert response.status_code == status, (body, response.get_json())
        assert response.get_json()["field"] == field, (body, response.get_json())
    assert db.session.scalar(select(Claim)) is None
    assert client.post("/api/v1/claims", json=BODY).status_code == 201
    again = client.post("/api/v1/claims", json=BODY)
    assert again.status_code == 409 and again.get_json()["field"] == "period_start"


@pytest.mark.parametrize("who", ["manager", "member", "outsider", "other_manager"])
def test_everyone_but_administrators_gets_404(
    cs: ClaimSite, app: Flask, login: Any, who: str
) -> None:
    _billed(cs)
    admin = login(cs.admin, app.test_client())
    claim = admin.post("/api/v1/claims", json=BODY).get_json()
    client = login(getattr(cs.site, who), app.test_client())
    for method, path, body in [
        ("GET", "/api/v1/claims", None),
        (
            "POST",
            "/api/v1/claims",
            {**BODY, "period_start": "2027-04-01", "period_end": "2027-04-30"},
        ),
        ("GET", f"/api/v1/claims/{claim['id']}", None),
        ("POST", f"/api/v1/claims/{claim['id']}/refresh", None),
        ("POST", f"/api/v1/claims/{claim['id']}/submit", None),
        ("POST", f"/api/v1/claims/{claim['id']}/paid", None),
        ("DELETE", f"/api/v1/claims/{claim['id']}", None),
    ]:
        response = client.open(path, method=method, json=body)
        assert response.status_code == 404, (method, path)
        assert claim["number"] not in response.get_data(as_text=True)
    assert db.session.scalar(select(Claim.state)) == "draft"
    assert app.test_client().get("/api/v1/claims").status_code == 401
