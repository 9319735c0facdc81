"""The booking JSON API over real HTTP: strict bodies, problem+json errors naming the field, and
the whole flow from request to published booking."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

import scheduler
from app.booking import runs
from app.booking.models import Booking, BookingRequest, SolveRun
from tests.booking.conftest import Core


def request_body(core: Core, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "project_id": core.amber.id,
        "title": "Peptide map",
        "earliest_start": core.at(0).isoformat(),
        "deadline": core.at(4, "18:00").isoformat(),
        "steps": [{"duration_minutes": 120, "capability": "lc-ms"}],
    }
    body.update(overrides)
    return body


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    if field is not None:
        assert body["field"] == field, body
    return body


def count_requests(db: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(BookingRequest))


def test_create_request_returns_it(core: Core, client_for: Any) -> None:
    alice = client_for(core.alice)
    response = alice.post("/api/v1/requests", json=request_body(core))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending" and body["facility"] == "bio"
    assert response.headers["Location"] == f"/api/v1/requests/{body['id']}"
    assert alice.get(f"/api/v1/requests/{body['id']}").get_json()["title"] == "Peptide map"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {
                "steps": [
                    {"duration_minutes": 60, "capability": "lc-ms"},
                    {"duration_minutes": "2h"},
                ]
            },
            "steps[1].duration_minutes",
        ),
        (
            {"steps": [{"duration_minutes": 60, "capability": "lc-ms", "colour": "red"}]},
            "steps[0].colour",
        ),
        ({"deadline": "2027-03-01T09:00:00"}, "deadline"),
        ({"earliest_start": "next monday"}, "earliest_start"),
        ({"surprise": 1}, "surprise"),
        ({"steps": [{"duration_minutes": 60, "capability": "x-ray"}]}, "steps[0].capability"),
        ({"weight": "heavy"}, "weight"),
        ({"title": ""}, "title"),
        ({"project_id": 2**40}, "project_id"),
        ({"project_id": -(2**40)}, "project_id"),
        (
            {"steps": [{"duration_minutes": 2**40, "capability": "lc-ms"}]},
            "steps[0].duration_minutes",
        ),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    core: Core, db: Any, client_for: Any, change: dict[str, Any], field: str
) -> None:
    response = client_for(core.alice).post("/api/v1/requests", json=request_body(core, **change))
    body = assert_problem(response, 422, field)
    assert field in body["errors"]
    assert count_requests(db) == 0


def test_missing_field_and_non_json_bodies(core: Core, db: Any, client_for: Any) -> None:
    alice = client_for(core.alice)
    body = request_body(core)
    del body["steps"]
    assert_problem(alice.post("/api/v1/requests", json=body), 422, "steps")
    response = alice.post("/api/v1/requests", data="{not json", content_type="application/json")
    assert_problem(response, 400, "body")
    assert_problem(alice.post("/api/v1/requests", json=[1, 2]), 422, "body")
    assert count_requests(db) == 0


def test_ids_beyond_the_database_range_are_unknown_not_errors(core: Core, client_for: Any) -> None:
    alice = client_for(core.alice)
    huge = 2**40
    assert_problem(alice.get(f"/api/v1/requests/{huge}"), 404)
    assert_problem(alice.post(f"/api/v1/bookings/{huge}/cancel", json={"reason": "x"}), 404)
    assert_problem(client_for(core.mia).post(f"/api/v1/bookings/{huge}/pin"), 404)


def test_anonymous_callers_are_told_to_authenticate(core: Core, client: FlaskClient) -> None:
    assert_problem(client.get("/api/v1/requests"), 401)
    assert_problem(client.post("/api/v1/requests", json=request_body(core)), 401)


def test_bearer_token_works_without_a_session(core: Core, db: Any, client: FlaskClient) -> None:
    from app.accounts.models import ApiToken
    from app.accounts.security import new_secret_token, token_digest

    token = new_secret_token("pst")
    db.session.add(
        ApiToken(
            user_id=core.alice.id, name="ci", token_hash=token_digest(token), prefix=token[:8]
        )
    )
    db.session.commit()
    response = client.post(
        "/api/v1/requests",
        json=request_body(core),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.get_json()


def test_patch_and_withdraw(core: Core, client_for: Any) -> None:
    alice = client_for(core.alice)
    created = alice.post("/api/v1/requests", json=request_body(core)).get_json()
    url = f"/api/v1/requests/{created['id']}"
    response = alice.patch(url, json={"title": "Peptide map v2"})
    assert response.status_code == 200 and response.get_json()["title"] == "Peptide map v2"
    assert_problem(alice.patch(url, json={"steps": []}), 422, "steps")
    assert_problem(alice.patch(url, json={"status": "booked"}), 422, "status")
    assert alice.post(f"{url}/withdraw").get_json()["status"] == "withdrawn"
    assert_problem(alice.post(f"{url}/withdraw"), 409)
    listed = alice.get("/api/v1/requests?status=withdrawn").get_json()["requests"]
    assert [r["id"] for r in listed] == [created["id"]]
    assert_problem(alice.get("/api/v1/requests?status=lost"), 400, "status")
    empty = assert_problem(alice.get("/api/v1/requests?status="), 400, "status")
    assert "pending" in empty["detail"]
    assert_problem(alice.get("/api/v1/requests?facility=atlantis"), 400, "facility")


def test_flow_from_request_to_published_booking(core: Core, db: Any, client_for: Any) -> None:
    alice, mia = client_for(core.alice), client_for(core.mia)
    created = alice.post("/api/v1/requests", json=request_body(core)).get_json()
    assert_problem(alice.post("/api/v1/facilities/bio/solve", json={}), 404)
    assert_problem(mia.post("/api/v1/facilities/bio/solve", json={"time_limit": "x"}), 422)
    response = mia.post("/api/v1/facilities/bio/solve", json={"time_limit": 5})
    assert response.status_code == 202
    run = response.get_json()
    assert (
        run["status"] == "queued" and response.headers["Location"] == f"/api/v1/runs/{run['id']}"
    )
    assert_problem(mia.post("/api/v1/facilities/bio/solve", json={}), 409)
    runs.execute_run(run["id"])
    run = mia.get(f"/api/v1/runs/{run['id']}").get_json()
    assert run["status"] == "succeeded" and run["progress"]["history"]
    problem_file = mia.get(f"/api/v1/runs/{run['id']}/problem.json")
    assert problem_file.headers["Content-Disposition"].startswith("attachment")
    problem = scheduler.problem_from_dict(json.loads(problem_file.get_data(as_text=True)))
    assert [r.id for r in problem.requests] == [f"r{created['id']}"]
    result = json.loads(mia.get(f"/api/v1/runs/{run['id']}/result.json").get_data(as_text=True))
    assert result["format"] == "pilotslot-result/1"
    proposal = mia.get(f"/api/v1/proposals/{run['proposal']}").get_json()
    assert proposal["status"] == "draft" and len(proposal["items"]) == 1
    assert proposal["metrics"]["accepted_weight"] == 1
    assert [d["request"] for d in proposal["diff"]["added"]] == [created["id"]]
    approved = mia.post(f"/api/v1/proposals/{run['proposal']}/approve").get_json()
    (booking,) = approved["bookings"]
    assert booking["pinned"] and booking["status"] == "active"
    assert alice.get(f"/api/v1/requests/{created['id']}").get_json()["status"] == "booked"
    mine = alice.get("/api/v1/bookings").get_json()["bookings"]
    assert [b["id"] for b in mine] == [booking["id"]]
    cancelled = alice.post(f"/api/v1/bookings/{booking['id']}/cancel", json={"reason": "Oops"})
    assert cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["sequence"] == 1


def test_manual_booking_reschedule_release_and_pin(core: Core, client_for: Any) -> None:
    mia = client_for(core.mia)
    body = {
        "project_id": core.amber.id,
        "equipment": "lcms-1",
        "start": core.at(0).isoformat(),
        "end": core.at(0, "11:00").isoformat(),
        "title": "QC run",
    }
    response = mia.post("/api/v1/bookings", json=body)
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()
    conflict = assert_problem(mia.post("/api/v1/bookings", json=body), 409)
    assert [c["booking"] for c in conflict["conflicts"]] == [booking["id"]]
    assert_problem(
        mia.post("/api/v1/bookings", json={**body, "equipment": "nope"}), 422, "equipment"
    )
    assert_problem(
        mia.post("/api/v1/bookings", json={**body, "start": core.at(0, "09:05").isoformat()}),
        422,
        "start",
    )
    url = f"/api/v1/bookings/{booking['id']}"
    moved = mia.patch(
        url, json={"start": core.at(1).isoformat(), "end": core.at(1, "11:00").isoformat()}
    )
    assert moved.status_code == 200 and moved.get_json()["sequence"] == 1
    assert_problem(mia.post(f"{url}/release", json={}), 422, "reason")
    released = mia.post(f"{url}/release", json={"reason": "Flexible"}).get_json()
    assert released["pinned"] is False and released["release_reason"] == "Flexible"
    assert mia.post(f"{url}/pin").get_json()["pinned"] is True


def test_maintenance_and_training_endpoints(core: Core, client_for: Any) -> None:
    mia = client_for(core.mia)
    booking = mia.post(
        "/api/v1/bookings",
        json={
            "project_id": core.amber.id,
            "equipment": "lcms-1",
            "start": core.at(0).isoformat(),
            "end": core.at(0, "11:00").isoformat(),
            "title": "QC run",
        },
    ).get_json()
    window = {
        "equipment": "lcms-1",
        "start": core.at(0, "10:00").isoformat(),
        "end": core.at(0, "12:00").isoformat(),
        "reason_en": "Pump",
    }
    refused = assert_problem(
        mia.post("/api/v1/facilities/bio/maintenance", json={**window, "force": True}), 409
    )
    assert refused["conflicts"][0]["booking"] == booking["id"] and refused["force_refused"]
    assert "Cancel or reschedule" in refused["detail"]
    later = {**window, "start": core.at(2).isoformat(), "end": core.at(2, "12:00").isoformat()}
    assert mia.post("/api/v1/facilities/bio/maintenance", json=later).status_code == 201
    assert_problem(
        mia.post("/api/v1/facilities/bio/maintenance", json={**later, "equipment": "chamber-1"}),
        422,
        "equipment",
    )
    added = mia.post("/api/v1/equipment/nmr-1/trainings", json={"email": "alice@amber.test"})
    assert added.status_code == 201 and added.get_json()["user"] == "alice@amber.test"
    assert_problem(
        mia.post("/api/v1/equipment/nmr-1/trainings", json={"email": "a@b.c", "trained_on": "x"}),
        422,
        "trained_on",
    )
    deleted = mia.delete("/api/v1/equipment/nmr-1/trainings", json={"email": "alice@amber.test"})
    assert deleted.status_code == 204


def test_audit_lists_the_facility_changes_to_its_managers(core: Core, client_for: Any) -> None:
    alice, mia = client_for(core.alice), client_for(core.mia)
    alice.post("/api/v1/requests", json=request_body(core))
    events = mia.get("/api/v1/audit?facility=bio").get_json()["events"]
    assert [(e["action"], e["actor"]) for e in events] == [("request.create", "alice@amber.test")]
    assert_problem(mia.get("/api/v1/audit"), 400, "facility")
    assert_problem(alice.get("/api/v1/audit?facility=bio"), 404)


def test_availability_endpoint(core: Core, client_for: Any) -> None:
    mia = client_for(core.mia)
    mia.post(
        "/api/v1/bookings",
        json={
            "project_id": core.amber.id,
            "equipment": "lcms-1",
            "start": core.at(0).isoformat(),
            "end": core.at(0, "11:00").isoformat(),
            "title": "Amber QC",
        },
    )
    span = f"start={core.at(0, '00:00').isoformat()}&end={core.at(1, '00:00').isoformat()}"
    span = span.replace("+", "%2B")
    blocks = client_for(core.bob).get(f"/api/v1/equipment/lcms-1/availability?{span}")
    assert [b["title"] for b in blocks.get_json()["blocks"]] == ["Booked"]
    own = client_for(core.alice).get(f"/api/v1/equipment/lcms-1/availability?{span}")
    assert [b["title"] for b in own.get_json()["blocks"]] == ["Amber QC"]
    assert_problem(
        mia.get("/api/v1/equipment/lcms-1/availability?start=2027-01-01T00:00:00"), 400, "start"
    )


def test_openapi_declares_every_booking_path(core: Core, client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/requests",
        "/requests/{id}",
        "/requests/{id}/withdraw",
        "/facilities/{slug}/solve",
        "/runs/{id}",
        "/runs/{id}/problem.json",
        "/proposals/{id}",
        "/proposals/{id}/approve",
        "/proposals/{id}/discard",
        "/bookings",
        "/bookings/{id}",
        "/bookings/{id}/cancel",
        "/bookings/{id}/release",
        "/bookings/{id}/pin",
        "/equipment/{slug}/availability",
        "/equipment/{slug}/trainings",
        "/facilities/{slug}/maintenance",
        "/audit",
    ):
        assert path in spec["paths"], path
    assert spec["paths"]["/requests"]["post"]["requestBody"]
    assert "BookingRequest" in spec["components"]["schemas"]


def test_discard_and_cancel_run_endpoints(core: Core, db: Any, client_for: Any) -> None:
    alice, mia = client_for(core.alice), client_for(core.mia)
    alice.post("/api/v1/requests", json=request_body(core))
    run = mia.post("/api/v1/facilities/bio/solve", json={"time_limit": 3}).get_json()
    assert mia.post(f"/api/v1/runs/{run['id']}/cancel").get_json()["status"] == "cancelled"
    assert_problem(mia.post(f"/api/v1/runs/{run['id']}/cancel"), 409)
    run = mia.post("/api/v1/facilities/bio/solve", json={"time_limit": 3}).get_json()
    runs.execute_run(run["id"])
    proposal_id = db.session.get(SolveRun, run["id"]).proposal.id
    discarded = mia.post(f"/api/v1/proposals/{proposal_id}/discard").get_json()
    assert discarded["status"] == "discarded"
    assert_problem(mia.post(f"/api/v1/proposals/{proposal_id}/approve"), 409)
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_a_manual_booking_past_the_cap_is_a_409_naming_the_budget(
    core: Core, db: Any, client_for: Any
) -> None:
    from datetime import timedelta

    from app.billing.models import SpendingCap
    from app.dbtypes import utcnow
    from tests.booking.conftest import ZONE

    today = utcnow().astimezone(ZONE).date()
    db.session.add(
        SpendingCap(
            project_id=core.amber.id,
            amount_fen=100,
            period_start=today - timedelta(days=1),
            period_end=today + timedelta(days=60),
        )
    )
    db.session.commit()
    mia = client_for(core.mia)
    body = {
        "project_id": core.amber.id,
        "equipment": "lcms-1",
        "start": core.at(0).isoformat(),
        "end": core.at(0, "11:00").isoformat(),
        "title": "QC run",
    }
    refused = assert_problem(mia.post("/api/v1/bookings", json=body), 409)
    assert [v["code"] for v in refused["violations"]] == ["over-budget"]
    assert refused["overridable"] is True
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    body |= {"override": True, "override_reason": "Agreed with the founder by phone"}
    assert mia.post("/api/v1/bookings", json=body).status_code == 201
