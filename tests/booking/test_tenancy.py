"""Tenancy of the booking API: every object endpoint answers 404 to a member of another project
and to a manager of another facility, and lists never carry other startups' names or titles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app.booking import bookings as booking_service
from app.booking.requests import StepInput
from tests.booking.conftest import Core

SECRET_TITLE = "Amber confidential glycan assay"


@dataclass
class Objects:
    request: int
    booking: int
    run: int
    proposal: int


@pytest.fixture
def objects(core: Core) -> Objects:
    """Amber's request, its proposal and a published booking, all at the Bio facility."""
    req = core.request(SECRET_TITLE)
    run = core.solve()
    assert run.proposal is not None
    booking = booking_service.manual_booking(
        core.mia,
        project_id=core.amber.id,
        equipment_id=core.lcms2.id,
        start=core.at(3),
        end=core.at(3, "11:00"),
        title=SECRET_TITLE,
    )
    assert req.id
    return Objects(request=req.id, booking=booking.id, run=run.id, proposal=run.proposal.id)


def object_calls(o: Objects, core: Core) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every object endpoint of the API, with a body that would be valid for an insider."""
    when = {"start": core.at(4).isoformat(), "end": core.at(4, "10:00").isoformat()}
    return [
        ("GET", f"/api/v1/requests/{o.request}", None),
        ("PATCH", f"/api/v1/requests/{o.request}", {"title": "Hijacked"}),
        ("POST", f"/api/v1/requests/{o.request}/withdraw", None),
        ("GET", f"/api/v1/runs/{o.run}", None),
        ("GET", f"/api/v1/runs/{o.run}/problem.json", None),
        ("GET", f"/api/v1/runs/{o.run}/result.json", None),
        ("POST", f"/api/v1/runs/{o.run}/cancel", None),
        ("GET", f"/api/v1/proposals/{o.proposal}", None),
        ("POST", f"/api/v1/proposals/{o.proposal}/approve", None),
        ("POST", f"/api/v1/proposals/{o.proposal}/discard", None),
        ("GET", f"/api/v1/bookings/{o.booking}", None),
        ("PATCH", f"/api/v1/bookings/{o.booking}", when),
        ("POST", f"/api/v1/bookings/{o.booking}/cancel", {"reason": "x"}),
        ("POST", f"/api/v1/bookings/{o.booking}/release", {"reason": "x"}),
        ("POST", f"/api/v1/bookings/{o.booking}/pin", None),
        ("POST", "/api/v1/facilities/bio/solve", {}),
        ("POST", "/api/v1/facilities/bio/maintenance", {"equipment": "lcms-1", **when}),
        ("POST", "/api/v1/equipment/lcms-1/trainings", {"email": "bob@birch.test"}),
        ("DELETE", "/api/v1/equipment/lcms-1/trainings", {"email": "alice@amber.test"}),
        ("GET", "/api/v1/audit?facility=bio", None),
    ]


@pytest.mark.parametrize("outsider", ["bob", "otto"])
def test_every_object_endpoint_is_404_to_outsiders(
    core: Core, objects: Objects, client_for: Any, outsider: str
) -> None:
    client = client_for(getattr(core, outsider))
    for method, url, body in object_calls(objects, core):
        response = client.open(url, method=method, json=body)
        assert response.status_code == 404, (method, url, response.get_json())
        text = response.get_data(as_text=True)
        assert SECRET_TITLE not in text and "Amber" not in text, (method, url)
    # Nothing changed behind the 404s.
    insider = client_for(core.alice)
    req = insider.get(f"/api/v1/requests/{objects.request}").get_json()
    assert req["title"] == SECRET_TITLE and req["status"] == "proposed"
    booking = insider.get(f"/api/v1/bookings/{objects.booking}").get_json()
    assert booking["status"] == "active" and booking["sequence"] == 0


@pytest.mark.parametrize("outsider", ["bob", "otto"])
def test_lists_and_availability_never_show_other_startups(
    core: Core, objects: Objects, client_for: Any, outsider: str
) -> None:
    client = client_for(getattr(core, outsider))
    for url in (
        "/api/v1/requests",
        "/api/v1/requests?facility=bio",
        f"/api/v1/requests?project={core.amber.id}",
        "/api/v1/bookings",
        "/api/v1/bookings?facility=bio",
        f"/api/v1/bookings?project={core.amber.id}&include_cancelled=true",
        "/api/v1/equipment/lcms-2/availability?start="
        + core.at(0, "00:00").isoformat().replace("+", "%2B")
        + "&end="
        + core.at(7, "00:00").isoformat().replace("+", "%2B"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        assert SECRET_TITLE not in text and "Amber" not in text, url
    blocks = client.get(
        "/api/v1/equipment/lcms-2/availability?start="
        + core.at(0, "00:00").isoformat().replace("+", "%2B")
    ).get_json()["blocks"]
    assert [b["title"] for b in blocks] == ["Booked"]


def test_insiders_see_what_outsiders_cannot(core: Core, objects: Objects, client_for: Any) -> None:
    alice, mia = client_for(core.alice), client_for(core.mia)
    assert alice.get(f"/api/v1/requests/{objects.request}").status_code == 200
    assert alice.get(f"/api/v1/runs/{objects.run}").status_code == 404
    assert mia.get(f"/api/v1/runs/{objects.run}").status_code == 200
    assert mia.get(f"/api/v1/proposals/{objects.proposal}").status_code == 200
    titles = [b["title"] for b in mia.get("/api/v1/bookings").get_json()["bookings"]]
    assert titles == [SECRET_TITLE]


def test_a_startup_cannot_file_requests_for_another(core: Core, client_for: Any) -> None:
    response = client_for(core.bob).post(
        "/api/v1/requests",
        json={
            "project_id": core.amber.id,
            "title": "Sneaky",
            "earliest_start": core.at(0).isoformat(),
            "deadline": core.at(2).isoformat(),
            "steps": [{"duration_minutes": 60, "capability": "lc-ms"}],
        },
    )
    assert response.status_code == 404


def test_a_manager_cannot_book_units_of_another_facility(core: Core, client_for: Any) -> None:
    response = client_for(core.otto).post(
        "/api/v1/bookings",
        json={
            "project_id": core.birch.id,
            "equipment": "lcms-1",
            "start": core.at(0).isoformat(),
            "end": core.at(0, "10:00").isoformat(),
            "title": "Borrowed",
        },
    )
    assert response.status_code == 404


def test_campaign_steps_cannot_reach_into_another_facility(core: Core) -> None:
    from app.errors import ValidationError

    with pytest.raises(ValidationError):
        core.request(
            steps=[
                StepInput(duration_minutes=60, capability="lc-ms"),
                StepInput(duration_minutes=60, unit_ids=[core.chamber.id]),
            ]
        )
