"""Every object page, opened or posted to by the wrong user, is a 404 that leaks nothing."""

from __future__ import annotations

from typing import Any

import pytest

from app.booking import bookings as booking_service
from app.booking import requests as request_service
from app.booking.requests import StepInput
from tests.booking.pages_world import build_world, solve_now


@pytest.fixture
def scene(db: Any) -> dict[str, Any]:
    """A world with Amber's request, booking, run and proposal at the biomedical facility."""
    world = build_world()
    req = request_service.create_request(
        world.alice,
        world.project_a.id,
        title="Amber confidential assay",
        earliest_start=world.at(0),
        deadline=world.at(4, "18:00"),
        steps=[StepInput(duration_minutes=120, capability="lc-ms", facility_id=world.facility.id)],
    )
    booking = booking_service.manual_booking(
        world.mia,
        project_id=world.project_a.id,
        equipment_id=world.lcms1.id,
        start=world.at(2, "09:00"),
        end=world.at(2, "11:00"),
        title="Amber confidential calibration",
    )
    run = solve_now(world.mia, world.facility)
    return {"world": world, "req": req, "booking": booking, "run": run}


def member_pages(s: dict[str, Any]) -> list[tuple[str, str]]:
    req, booking = s["req"], s["booking"]
    return [
        ("GET", f"/requests/{req.id}"),
        ("GET", f"/requests/{req.id}/edit"),
        ("POST", f"/requests/{req.id}/edit"),
        ("POST", f"/requests/{req.id}/withdraw"),
        ("GET", f"/bookings/{booking.id}"),
        ("POST", f"/bookings/{booking.id}/cancel"),
    ]


def manager_pages(s: dict[str, Any]) -> list[tuple[str, str]]:
    world, booking, run = s["world"], s["booking"], s["run"]
    slug = world.facility.slug
    proposal = run.proposal.id
    return [
        ("POST", f"/bookings/{booking.id}/release"),
        ("POST", f"/bookings/{booking.id}/pin"),
        ("GET", f"/manage/{slug}"),
        ("POST", f"/manage/{slug}/solve"),
        ("POST", f"/manage/{slug}/maintenance"),
        ("GET", f"/manage/{slug}/bookings/new"),
        ("POST", f"/manage/{slug}/bookings/new"),
        ("GET", f"/manage/{slug}/trainings"),
        ("POST", f"/manage/{slug}/trainings"),
        ("GET", f"/manage/{slug}/audit"),
        ("GET", f"/runs/{run.id}"),
        ("GET", f"/runs/{run.id}/problem.json"),
        ("GET", f"/runs/{run.id}/result.json"),
        ("GET", f"/proposals/{proposal}"),
        ("POST", f"/proposals/{proposal}/approve"),
        ("POST", f"/proposals/{proposal}/discard"),
    ]


def _call(client: Any, method: str, path: str) -> Any:
    form = {"reason": "because", "title": "x", "email": "alice@amber.example"}
    return client.get(path) if method == "GET" else client.post(path, data=form)


def _assert_hidden(response: Any) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code == 404, (response.status_code, text[:300])
    assert "Amber" not in text


@pytest.mark.parametrize("who", ["bob", "otto"])
def test_another_startup_or_facility_gets_404_on_member_pages(
    client: Any, login: Any, scene: dict[str, Any], who: str
) -> None:
    login(getattr(scene["world"], who))
    for method, path in member_pages(scene):
        _assert_hidden(_call(client, method, path))


@pytest.mark.parametrize("who", ["alice", "bob", "otto"])
def test_only_the_facility_managers_reach_manager_pages(
    client: Any, login: Any, scene: dict[str, Any], who: str
) -> None:
    login(getattr(scene["world"], who))
    for method, path in manager_pages(scene):
        _assert_hidden(_call(client, method, path))


def test_the_right_people_do_reach_them(client: Any, login: Any, scene: dict[str, Any]) -> None:
    world = scene["world"]
    login(world.alice)
    for method, path in member_pages(scene):
        if method == "GET":
            assert client.get(path).status_code == 200, path
    client.post("/logout")
    login(world.mia)
    for method, path in manager_pages(scene):
        if method == "GET":
            assert client.get(path).status_code == 200, path


def test_lists_and_dashboards_never_name_other_startups(
    client: Any, login: Any, scene: dict[str, Any]
) -> None:
    login(scene["world"].bob)
    for path in (
        "/requests",
        "/dashboard",
        f"/equipment/{scene['world'].lcms1.slug}/availability",
    ):
        text = client.get(path).get_data(as_text=True)
        assert "Amber" not in text, path


def test_members_and_other_managers_do_not_see_the_administration(
    client: Any, login: Any, scene: dict[str, Any]
) -> None:
    world = scene["world"]
    for user in (world.alice, world.mia):
        login(user)
        assert client.get("/admin/").status_code == 404
        assert client.post("/admin/accounts", data={}).status_code == 404
        client.post("/logout")
    login(world.bob)
    assert client.get("/manage").status_code == 404
