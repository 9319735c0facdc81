"""A request that could never be placed is refused when it is sent, with the solver's reason;
the step's duration limit is one constant for form, API and service."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from wtforms.validators import NumberRange

from app.booking.models import BookingRequest
from app.booking.requests import MAX_STEP_MINUTES, MIN_STEP_MINUTES, StepInput, update_request
from app.errors import ValidationError
from tests.booking.conftest import Core
from tests.booking.test_pages import field_error


def count(db: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(BookingRequest))


def body(core: Core, minutes: int, start: Any, deadline: Any) -> dict[str, Any]:
    return {
        "project_id": core.amber.id,
        "title": "Long attended run",
        "earliest_start": start.isoformat(),
        "deadline": deadline.isoformat(),
        "steps": [{"duration_minutes": minutes, "capability": "lc-ms", "attended": True}],
    }


def test_a_40_hour_step_in_a_32_hour_window_is_refused_at_once_through_the_api(
    core: Core, db: Any, client: Any, login: Any
) -> None:
    """Finding: it was "sent" and could only fail at solve time."""
    login(core.alice)
    response = client.post(
        "/api/v1/requests",
        json=body(core, 40 * 60, core.at(0, "09:00"), core.at(1, "17:00")),
    )
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert problem["field"] == "deadline"
    assert "could never be placed" in problem["detail"] and "40 h" in problem["detail"]
    assert count(db) == 0


def test_an_attended_step_longer_than_any_opening_names_the_step_on_the_form(
    core: Core, db: Any, client: Any, login: Any
) -> None:
    login(core.alice)
    response = client.post(
        "/requests/new",
        data={
            "project_id": core.amber.id,
            "title": "Overnight run",
            "facility_id": core.bio.id,
            "earliest_start": core.at(0, "09:00").strftime("%Y-%m-%dT%H:%M"),
            "deadline": core.at(4, "18:00").strftime("%Y-%m-%dT%H:%M"),
            "priority_reason": "",
            "steps-0-capability": "lc-ms",
            "steps-0-duration_hours": "12",
            "steps-0-attended": "y",
            "action": "save",
        },
    )
    assert response.status_code in (200, 422)
    message = field_error(response.get_data(as_text=True), "steps-0-duration_hours")
    assert message and "could never be placed" in message and "open long enough" in message
    assert count(db) == 0


def test_the_same_step_unattended_is_accepted(core: Core, db: Any) -> None:
    core.request(
        steps=[StepInput(duration_minutes=12 * 60, capability="lc-ms", attended=False)],
    )
    assert count(db) == 1


def test_an_edit_that_makes_a_request_impossible_is_refused_and_changes_nothing(
    core: Core, db: Any
) -> None:
    req = core.request()
    with pytest.raises(ValidationError) as caught:
        update_request(core.alice, req.id, deadline=core.at(0, "11:00"))
    assert caught.value.field == "deadline"
    db.session.expire_all()
    assert db.session.get(BookingRequest, req.id).deadline == core.at(4, "18:00")


def _duration_schemas(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = (
            [node["duration_minutes"]] if isinstance(node.get("duration_minutes"), dict) else []
        )
        return found + [s for value in node.values() for s in _duration_schemas(value)]
    if isinstance(node, list):
        return [s for value in node for s in _duration_schemas(value)]
    return []


def test_form_api_and_service_share_one_step_duration_limit(client: Any) -> None:
    """Finding: the form allowed 672 h while the server allowed 14 days."""
    from app.booking.forms import StepForm

    (limit,) = [
        v for v in StepForm.duration_hours.kwargs["validators"] if isinstance(v, NumberRange)
    ]
    assert limit.max * 60 == MAX_STEP_MINUTES
    document = client.get("/api/v1/openapi.json").get_json()
    inputs = [s for s in _duration_schemas(document) if s.get("minimum") == MIN_STEP_MINUTES]
    assert inputs and all(s.get("maximum") == MAX_STEP_MINUTES for s in inputs)
