"""Who sets a request's weight: members may ask for priority with a reason, only a manager of the
request's facility sets the weight the solver uses. Each test tries to break that rule."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.booking.models import BookingRequest
from app.booking.requests import StepInput, create_request, update_request
from app.errors import Conflict, Forbidden, NotFound
from app.extensions import db
from tests.booking.conftest import Core
from tests.booking.test_api import assert_problem, count_requests, request_body


def weight_of(request_id: int) -> int:
    db.session.expire_all()
    return db.session.scalars(
        select(BookingRequest.weight).where(BookingRequest.id == request_id)
    ).one()


def test_member_cannot_create_a_heavy_request_through_the_api(
    core: Core, db: Any, client_for: Any
) -> None:
    alice = client_for(core.alice)
    response = alice.post("/api/v1/requests", json=request_body(core, weight=10))
    body = assert_problem(response, 403, "weight")
    assert "manager" in body["detail"]
    assert count_requests(db) == 0


def test_member_cannot_raise_the_weight_of_their_request(core: Core, client_for: Any) -> None:
    alice = client_for(core.alice)
    created = alice.post("/api/v1/requests", json=request_body(core)).get_json()
    url = f"/api/v1/requests/{created['id']}"
    assert_problem(alice.patch(url, json={"weight": 10}), 403, "weight")
    # Together with an allowed change nothing is written either.
    assert_problem(alice.patch(url, json={"title": "Sneaky", "weight": 10}), 403, "weight")
    again = alice.get(url).get_json()
    assert (again["weight"], again["title"]) == (1, "Peptide map")


def test_member_cannot_set_the_weight_through_the_service(core: Core, db: Any) -> None:
    with pytest.raises(Forbidden) as caught:
        create_request(
            core.alice,
            core.amber.id,
            title="Heavy",
            earliest_start=core.at(0),
            deadline=core.at(4, "18:00"),
            steps=[StepInput(duration_minutes=60, capability="lc-ms")],
            weight=10,
        )
    assert caught.value.field == "weight"
    assert count_requests(db) == 0
    req = core.request()
    with pytest.raises(Forbidden):
        update_request(core.alice, req.id, weight=10)
    assert weight_of(req.id) == 1


def test_manager_of_the_facility_sets_the_weight(core: Core, client_for: Any) -> None:
    req = core.request()
    url = f"/api/v1/requests/{req.id}"
    response = client_for(core.mia).patch(url, json={"weight": 7})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["weight"] == 7 and response.get_json()["status"] == "pending"
    # The manager weighs; the request's own fields stay the project's.
    assert_problem(client_for(core.mia).patch(url, json={"title": "Mine now"}), 404)
    assert_problem(client_for(core.mia).patch(url, json={"weight": 11}), 422, "weight")
    # Another facility's manager cannot even see it.
    assert_problem(client_for(core.otto).patch(url, json={"weight": 10}), 404)
    assert weight_of(req.id) == 7


def test_weight_of_a_settled_request_cannot_change(core: Core, db: Any) -> None:
    req = core.request()
    req.status = "withdrawn"
    db.session.commit()
    with pytest.raises(Conflict):
        update_request(core.mia, req.id, weight=5)
    assert weight_of(req.id) == 1


def test_member_asks_for_priority_and_the_manager_sees_it(
    core: Core, client_for: Any, db: Any
) -> None:
    alice = client_for(core.alice)
    body = request_body(core, priority_reason="Investor demo on Friday")
    created = alice.post("/api/v1/requests", json=body).get_json()
    assert created["priority_requested"] is True and created["weight"] == 1
    plain = alice.post("/api/v1/requests", json=request_body(core, title="Plain")).get_json()
    assert plain["priority_requested"] is False

    mia = client_for(core.mia)
    page = mia.get("/manage/bio").get_data(as_text=True)
    assert "Investor demo on Friday" in page
    assert f'action="/manage/bio/requests/{created["id"]}/weight"' in page
    response = mia.post(f"/manage/bio/requests/{created['id']}/weight", data={"weight": "6"})
    assert response.status_code == 302
    assert weight_of(created["id"]) == 6
    detail = mia.get(f"/requests/{created['id']}").get_data(as_text=True)
    assert "Investor demo on Friday" in detail

    run = core.solve()
    page = mia.get(f"/proposals/{run.proposal.id}").get_data(as_text=True)
    assert "Investor demo on Friday" in page


def test_weight_form_refuses_members_and_other_managers(core: Core, client_for: Any) -> None:
    req = core.request()
    url = f"/manage/bio/requests/{req.id}/weight"
    assert client_for(core.alice).post(url, data={"weight": "10"}).status_code == 404
    assert client_for(core.otto).post(url, data={"weight": "10"}).status_code == 404
    # A request of another facility cannot be weighed through this facility's page.
    chamber = core.request(
        "Antenna",
        user=core.bob,
        project=core.birch,
        steps=[StepInput(duration_minutes=60, capability="anechoic-chamber")],
    )
    assert (
        client_for(core.mia)
        .post(f"/manage/bio/requests/{chamber.id}/weight", data={"weight": "10"})
        .status_code
        == 404
    )
    for bad in ("eleven", "11", ""):
        response = client_for(core.mia).post(url, data={"weight": bad})
        assert response.status_code == 422
        assert f'id="weight-{req.id}-error"' in response.get_data(as_text=True)
    assert weight_of(req.id) == 1 and weight_of(chamber.id) == 1


def test_service_refuses_weight_for_a_member_who_manages_another_facility(
    core: Core, db: Any
) -> None:
    with pytest.raises(NotFound):
        update_request(core.otto, core.request().id, weight=3)
