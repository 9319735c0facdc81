"""The needs JSON API over real HTTP: write, read, list, edit, comment, move and suggestions;
strict bodies naming the field; nothing of a need shown to another startup or centre."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.accounts.models import ApiToken
from app.accounts.security import new_secret_token, token_digest
from app.needs.models import Need, NeedState
from tests.needs.conftest import People

GAN_ZH = "我们的氮化镓功率器件要耐高温和高电压"
SECRET = "Secret plan 7Q3"


def _bearer(db: Any, user: Any) -> dict[str, str]:
    token = new_secret_token("pst")
    db.session.add(
        ApiToken(user_id=user.id, name="ci", token_hash=token_digest(token), prefix=token[:8])
    )
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client_for(app: Flask, login: Any) -> Any:
    def _client(user: Any) -> FlaskClient:
        return login(user, app.test_client())

    return _client


def _create(client: FlaskClient, people: People, **overrides: Any) -> dict[str, Any]:
    body = {
        "project_id": people.project.id,
        "title": SECRET,
        "text": GAN_ZH,
        "centre_id": people.centre.id,
        "city": "Suzhou",
        "budget_fen": 5_000_00,
        "wanted_by": "2027-03-01",
        **overrides,
    }
    response = client.post("/api/v1/needs", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_founder_writes_reads_lists_edits_and_comments(
    db: Any, app: Flask, people: People
) -> None:
    client = app.test_client()
    client.environ_base.update(
        {"HTTP_AUTHORIZATION": _bearer(db, people.founder)["Authorization"]}
    )
    need = _create(client, people)
    assert need["state"] == "new" and need["title"] == SECRET and need["wanted_by"] == "2027-03-01"
    assert need["editable"] and need["next_states"] == ["declined"]
    assert need["capabilities"], "the matcher reads the words"

    detail = client.get(f"/api/v1/needs/{need['id']}")
    assert detail.status_code == 200 and detail.get_json() == need

    listed = client.get("/api/v1/needs").get_json()["needs"]
    assert [n["id"] for n in listed] == [need["id"]]
    assert client.get("/api/v1/needs?state=declined").get_json() == {"needs": []}

    changed = client.patch(f"/api/v1/needs/{need['id']}", json={"quantity": "20 wafers"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["quantity"] == "20 wafers"
    assert changed.get_json()["title"] == SECRET and changed.get_json()["budget_fen"] == 5_000_00

    comment = client.post(f"/api/v1/needs/{need['id']}/comments", json={"body": "Samples ready"})
    assert comment.status_code == 201 and comment.get_json()["body"] == "Samples ready"
    again = client.get(f"/api/v1/needs/{need['id']}").get_json()
    assert [c["body"] for c in again["comments"]] == ["Samples ready"]
    assert db.session.get(Need, need["id"]).quantity == "20 wafers"


def test_a_broker_moves_a_need_and_the_founder_may_only_withdraw(
    db: Any, client_for: Any, people: People
) -> None:
    founder = client_for(people.founder)
    need = _create(founder, people)
    url = f"/api/v1/needs/{need['id']}/state"

    refused = founder.post(url, json={"state": "screened"})
    assert refused.status_code == 403 and refused.get_json()["field"] == "state"

    broker = client_for(people.broker)
    screened = broker.post(url, json={"state": "screened", "note": "looks feasible"})
    assert screened.status_code == 200 and screened.get_json()["state"] == "screened"
    assert broker.get("/api/v1/needs?state=screened").get_json()["needs"][0]["id"] == need["id"]

    forbidden = broker.post(url, json={"state": "served"})
    assert forbidden.status_code == 409 and forbidden.get_json()["field"] == "state"

    unexplained = broker.post(url, json={"state": "declined"})
    assert unexplained.status_code == 422 and unexplained.get_json()["field"] == "reason"

    declined = broker.post(url, json={"state": "declined", "reason": "no_free_time"})
    body = declined.get_json()
    assert declined.status_code == 200 and body["decline_reason"] == "no_free_time"
    assert body["next_states"] == ["new"] and not body["editable"]

    locked = founder.patch(f"/api/v1/needs/{need['id']}", json={"title": "New words"})
    assert locked.status_code == 409
    assert db.session.get(Need, need["id"]).state == NeedState.DECLINED.value


def test_suggestions_carry_rates_and_free_time(client_for: Any, people: People) -> None:
    founder = client_for(people.founder)
    need = _create(founder, people)
    response = founder.get(f"/api/v1/needs/{need['id']}/suggestions")
    assert response.status_code == 200
    found = response.get_json()["suggestions"]
    assert found and found[0]["capability"] == need["capabilities"][0]
    units = [u for s in found for u in s["units"]]
    assert units and all(u["rate_fen"] > 0 for u in units)
    assert any(u["earliest_free"] for u in units)
    assert {"unit", "unit_id", "facility", "in_city"} <= set(units[0])


@pytest.mark.parametrize("stranger", ["other_founder", "other_broker"])
def test_strangers_get_404_everywhere_and_see_no_words(
    db: Any, client_for: Any, people: People, stranger: str
) -> None:
    need = _create(client_for(people.founder), people)
    client = client_for(getattr(people, stranger))
    url = f"/api/v1/needs/{need['id']}"
    missing = f"/api/v1/needs/{need['id'] + 1000}"
    calls = [
        ("GET", url, None),
        ("PATCH", url, {"title": "Hijacked"}),
        ("POST", f"{url}/comments", {"body": "hijacked"}),
        ("POST", f"{url}/state", {"state": "declined", "reason": "other"}),
        ("GET", f"{url}/suggestions", None),
    ]
    for method, path, body in calls:
        response = client.open(path, method=method, json=body)
        assert response.status_code == 404, (method, path)
        unknown = client.open(path.replace(url, missing), method=method, json=body)
        assert unknown.get_json() == response.get_json(), "an id leaks nothing"
        assert SECRET not in response.get_data(as_text=True)
    listed = client.get("/api/v1/needs")
    assert listed.status_code == 200 and SECRET not in listed.get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(Need, need["id"])
    assert stored.title == SECRET and stored.state == "new" and not stored.comments


def test_bad_bodies_are_refused_naming_the_field(client_for: Any, people: People) -> None:
    founder = client_for(people.founder)
    need = _create(founder, people)
    cases = [
        ("POST", "/api/v1/needs", {"project_id": people.project.id, "text": "x"}, "title"),
        (
            "POST",
            "/api/v1/needs",
            {"project_id": people.project.id, "title": " ", "text": "x"},
            "title",
        ),
        ("POST", "/api/v1/needs", {"project_id": "1", "title": "t", "text": "x"}, "project_id"),
        (
            "POST",
            "/api/v1/needs",
            {"project_id": people.other_project.id, "title": "t", "text": "x"},
            "project_id",
        ),
        (
            "POST",
            "/api/v1/needs",
            {"project_id": people.project.id, "title": "t", "text": "x", "budget_fen": -1},
            "budget_fen",
        ),
        (
            "POST",
            "/api/v1/needs",
            {"project_id": people.project.id, "title": "t", "text": "x", "wanted_by": "next week"},
            "wanted_by",
        ),
        ("PATCH", f"/api/v1/needs/{need['id']}", {"text": None}, "text"),
        ("PATCH", f"/api/v1/needs/{need['id']}", {"colour": "red"}, "colour"),
        ("POST", f"/api/v1/needs/{need['id']}/comments", {"body": "   "}, "body"),
        ("POST", f"/api/v1/needs/{need['id']}/state", {"state": "lost"}, "state"),
    ]
    for method, path, body, field in cases:
        response = founder.open(path, method=method, json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert response.get_json()["field"] == field, (body, response.get_json())
    assert founder.get("/api/v1/needs?state=lost").status_code == 400
    assert len(founder.get("/api/v1/needs").get_json()["needs"]) == 1
