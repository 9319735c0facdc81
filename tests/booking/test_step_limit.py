"""Step limits, named once in app.booking.requests: steps per request (MAX_STEPS), checked
before thousands of steps are built or parsed, and a step's duration and gaps, each with one
message from the campaign form, the API and the service."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.booking.models import BookingRequest
from app.booking.requests import (
    MAX_LAG_MINUTES,
    MAX_STEP_MINUTES,
    MAX_STEPS,
    MIN_STEP_MINUTES,
    StepInput,
)
from app.errors import ValidationError
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


# ---------------------------------------------------------------- a step's duration and gaps

STEP_DURATION = (
    f"A step lasts from {MIN_STEP_MINUTES} minutes to {MAX_STEP_MINUTES // (24 * 60)} days."
)
LONG_GAP = f"A gap between steps may last at most {MAX_LAG_MINUTES // (24 * 60)} days."


def _field_errors(page: str, field: str) -> list[str]:
    return re.findall(rf'<span class="error" id="{re.escape(field)}-error">([^<]*)</span>', page)


@pytest.mark.parametrize(
    "hours", [str(Decimal(MIN_STEP_MINUTES - 1) / 60), str(MAX_STEP_MINUTES // 60 + 1)]
)
def test_the_form_refuses_a_step_out_of_range_with_the_services_message(
    client: Any, login: Any, db: Any, hours: str
) -> None:
    world = build_world()
    login(world.alice)
    data = _campaign(world, 2)
    data["steps-1-duration_hours"] = hours
    response = client.post("/campaigns/new", data=data)
    assert response.status_code == 200
    assert _field_errors(response.get_data(as_text=True), "steps-1-duration_hours") == [
        STEP_DURATION
    ]
    assert _requests(db) == 0


def test_the_form_refuses_a_gap_too_long_with_the_services_message(
    client: Any, login: Any, db: Any
) -> None:
    world = build_world()
    login(world.alice)
    data = _campaign(world, 2)
    data["steps-1-max_gap_hours"] = str(MAX_LAG_MINUTES // 60 + 1)
    response = client.post("/campaigns/new", data=data)
    assert _field_errors(response.get_data(as_text=True), "steps-1-max_gap_hours") == [LONG_GAP]
    assert _requests(db) == 0


@pytest.mark.parametrize(
    ("step", "field", "message"),
    [
        (
            StepInput(duration_minutes=MIN_STEP_MINUTES - 1, capability="lc-ms"),
            "duration_minutes",
            STEP_DURATION,
        ),
        (
            StepInput(duration_minutes=MAX_STEP_MINUTES + 1, capability="lc-ms"),
            "duration_minutes",
            STEP_DURATION,
        ),
        (
            StepInput(
                duration_minutes=60, capability="lc-ms", min_lag_minutes=MAX_LAG_MINUTES + 1
            ),
            "min_lag_minutes",
            LONG_GAP,
        ),
    ],
)
def test_the_service_refuses_a_step_out_of_range_with_the_same_message(
    core: Core, db: Any, step: StepInput, field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        core.request(steps=[step])
    assert caught.value.errors == {f"steps[0].{field}": message}
    assert _requests(db) == 0


def test_the_shortest_step_is_stored(core: Core, db: Any) -> None:
    req = core.request(steps=[StepInput(duration_minutes=MIN_STEP_MINUTES, capability="lc-ms")])
    assert req.steps[0].duration_minutes == MIN_STEP_MINUTES


def test_the_api_refuses_a_step_shorter_than_the_limit_with_the_same_message(
    app: Flask, core: Core, login: Any, db: Any
) -> None:
    alice = login(core.alice, app.test_client())
    response = alice.post(
        "/api/v1/requests",
        json={
            "project_id": core.amber.id,
            "title": "Quick look",
            "earliest_start": core.at(0).isoformat(),
            "deadline": core.at(4, "18:00").isoformat(),
            "steps": [{"duration_minutes": MIN_STEP_MINUTES - 1, "capability": "lc-ms"}],
        },
    )
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert problem["detail"] == STEP_DURATION, problem
    assert _requests(db) == 0
