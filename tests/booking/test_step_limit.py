"""Steps per request: one limit (MAX_STEPS) for the campaign form, the API, its OpenAPI document
and the service, checked before thousands of steps are built or parsed, with one message."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.booking.models import BookingRequest
from app.booking.requests import MAX_STEPS
from tests.booking.conftest import Core
from tests.booking.pages_world import World, build_world

TOO_MANY = f"A request has at most {MAX_STEPS} steps."
THOUSANDS = 3000


def _campaign(world: World, rows: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "project_id": world.project_a.id,
        "title": "Long pilot run",
        "facility_id": world.facility.id,
        "earliest_start": world.local(0),
        "deadline": world.local(13, "18:00"),
        "priority_reason": "",
        "action": "save",
    }
    for i in range(rows):
        data[f"steps-{i}-capability"] = "lc-ms"
        data[f"steps-{i}-duration_hours"] = "1"
        data[f"steps-{i}-attended"] = "y"
    return data


def _requests(db: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(BookingRequest)))


def test_a_campaign_form_of_thousands_of_rows_is_refused_without_building_them(
    client: Any, login: Any, db: Any
) -> None:
    world = build_world()
    login(world.alice)
    response = client.post("/campaigns/new", data=_campaign(world, THOUSANDS))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert TOO_MANY in page
    rows = set(re.findall(r'name="steps-(\d+)-duration_hours"', page))
    assert len(rows) <= MAX_STEPS + 1, f"{len(rows)} step rows were built and rendered"
    assert _requests(db) == 0


def test_a_campaign_of_the_most_steps_and_its_spare_row_is_stored(
    client: Any, login: Any, db: Any
) -> None:
    world = build_world()
    login(world.alice)
    data = _campaign(world, MAX_STEPS)
    data.update({f"steps-{MAX_STEPS}-capability": "", f"steps-{MAX_STEPS}-duration_hours": ""})
    response = client.post("/campaigns/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert len(db.session.scalars(select(BookingRequest)).one().steps) == MAX_STEPS


def test_one_step_too_many_is_refused_with_the_same_message(
    client: Any, login: Any, db: Any
) -> None:
    world = build_world()
    login(world.alice)
    response = client.post("/campaigns/new", data=_campaign(world, MAX_STEPS + 1))
    assert response.status_code == 200
    assert TOO_MANY in response.get_data(as_text=True)
    assert _requests(db) == 0


def test_the_api_counts_steps_before_it_parses_them(
    app: Flask, core: Core, login: Any, db: Any
) -> None:
    alice = login(core.alice, app.test_client())
    steps: list[Any] = [{"duration_minutes": 60, "capability": "lc-ms"}] * THOUSANDS
    steps[-1] = {"duration_minutes": "an hour"}
    response = alice.post(
        "/api/v1/requests",
        json={
            "project_id": core.amber.id,
            "title": "Long pilot run",
            "earliest_start": core.at(0).isoformat(),
            "deadline": core.at(4, "18:00").isoformat(),
            "steps": steps,
        },
    )
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert problem["field"] == "steps" and problem["detail"] == TOO_MANY, problem
    assert _requests(db) == 0


def test_the_openapi_document_states_the_same_limit(client: Any) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    limits = {
        name: schema["properties"]["steps"]["maxItems"]
        for name, schema in schemas.items()
        if "steps" in schema.get("properties", {}) and "maxItems" in schema["properties"]["steps"]
    }
    assert limits and set(limits.values()) == {MAX_STEPS}, limits
