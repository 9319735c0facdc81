"""Spending caps in the JSON API: state, list and remove; problems name the field; a startup
never sees or changes another's caps."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.billing.models import SpendingCap
from app.extensions import db
from tests.usage.conftest import MONDAY_9, Site


def _client(app: Flask, login: Any, user: Any) -> FlaskClient:
    return login(user, app.test_client())


def _caps() -> int:
    db.session.expire_all()
    return len(db.session.query(SpendingCap).all())


def test_a_member_states_lists_and_removes_a_cap(app: Flask, login: Any, site: Site) -> None:
    member = _client(app, login, site.member)
    created = member.post(
        "/api/v1/spending-caps",
        json={"project_id": site.project.id, "amount_fen": 250_000, "month": "2027-03"},
    )
    assert created.status_code == 201, created.get_json()
    cap = created.get_json()
    assert (cap["amount_fen"], cap["period_start"], cap["period_end"]) == (
        250_000,
        "2027-03-01",
        "2027-03-31",
    )
    listed = member.get("/api/v1/spending-caps").get_json()["caps"]
    assert [c["id"] for c in listed] == [cap["id"]]

    overlap = member.post(
        "/api/v1/spending-caps",
        json={
            "project_id": site.project.id,
            "amount_fen": 1,
            "period_start": "2027-03-31",
            "period_end": "2027-04-05",
        },
    )
    assert overlap.status_code == 422
    assert overlap.get_json()["field"] == "period_start"
    assert (
        "overlaps the project's cap from 2027-03-01 to 2027-03-31"
        in (overlap.get_json()["detail"])
    )
    refused = member.post(
        "/api/v1/spending-caps",
        json={"project_id": site.project.id, "amount_fen": "100", "month": "2027-05"},
    )
    assert refused.status_code == 422 and refused.get_json()["field"] == "amount_fen"
    a_day = member.post(
        "/api/v1/spending-caps",
        json={"project_id": site.project.id, "amount_fen": 100, "month": "2027-05-17"},
    )
    assert a_day.status_code == 422 and a_day.get_json()["field"] == "month"

    assert member.delete(f"/api/v1/spending-caps/{cap['id']}").status_code == 204
    assert _caps() == 0


def test_a_startup_neither_sees_nor_changes_another_projects_caps(
    app: Flask, login: Any, site: Site
) -> None:
    member = _client(app, login, site.member)
    cap = member.post(
        "/api/v1/spending-caps",
        json={"project_id": site.project.id, "amount_fen": 9_999, "month": "2027-03"},
    ).get_json()
    outsider = _client(app, login, site.outsider)
    assert outsider.get("/api/v1/spending-caps").get_json() == {"caps": []}
    taken = outsider.post(
        "/api/v1/spending-caps",
        json={"project_id": site.project.id, "amount_fen": 1, "month": "2027-04"},
    )
    assert taken.status_code == 422 and taken.get_json()["field"] == "project_id"
    assert outsider.delete(f"/api/v1/spending-caps/{cap['id']}").status_code == 404
    assert _caps() == 1
    # The facility's manager sees it once the project books there, and cannot remove it.
    manager = _client(app, login, site.manager)
    assert manager.get("/api/v1/spending-caps").get_json() == {"caps": []}
    booking = site.book(MONDAY_9)
    booking.step.facility_id = site.facility.id
    db.session.commit()
    assert [c["id"] for c in manager.get("/api/v1/spending-caps").get_json()["caps"]] == [
        cap["id"]
    ]
    assert manager.delete(f"/api/v1/spending-caps/{cap['id']}").status_code == 404
    assert _caps() == 1
