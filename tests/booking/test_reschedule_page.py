"""The manager's reschedule page: pick a booking, choose a new time or unit, see conflicts."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.booking import bookings as booking_service
from app.booking.models import AuditEvent, Booking
from tests.booking.pages_world import World, build_world
from tests.booking.test_pages import field_error


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


def book(world: World, project: Any, unit: Any, day: int, start: str, end: str) -> Booking:
    return booking_service.manual_booking(
        world.mia,
        project_id=project.id,
        equipment_id=unit.id,
        start=world.at(day, start),
        end=world.at(day, end),
        title=f"{project.name} run",
    )


def form(world: World, unit: Any, day: int, start: str, end: str) -> dict[str, Any]:
    return {
        "equipment_id": unit.id,
        "start": world.local(day, start),
        "end": world.local(day, end),
    }


def test_manager_moves_a_booking_to_another_unit_and_time_with_an_audit_entry(
    client: Any, login: Any, world: World, db: Any
) -> None:
    booking = book(world, world.project_a, world.lcms1, 1, "09:00", "12:00")
    login(world.mia)
    detail = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert f'href="/bookings/{booking.id}/reschedule"' in detail
    page = client.get(f"/bookings/{booking.id}/reschedule").get_data(as_text=True)
    assert world.local(1, "09:00") in page and "LC-MS No. 1" in page
    response = client.post(
        f"/bookings/{booking.id}/reschedule", data=form(world, world.lcms2, 2, "13:00", "16:00")
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/bookings/{booking.id}")
    db.session.expire_all()
    moved = db.session.get(Booking, booking.id)
    assert (moved.equipment_id, moved.start, moved.end) == (
        world.lcms2.id,
        world.at(2, "13:00"),
        world.at(2, "16:00"),
    )
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "booking.reschedule"))
    assert event.actor_id == world.mia.id and event.object_id == booking.id
    assert event.details["before"]["equipment"] == "lcms-1"
    assert event.details["after"]["equipment"] == "lcms-2"


def test_a_clash_is_named_beside_the_start_and_nothing_moves(
    client: Any, login: Any, world: World, db: Any
) -> None:
    mine = book(world, world.project_a, world.lcms1, 1, "09:00", "12:00")
    theirs = book(world, world.project_b, world.lcms2, 2, "09:00", "12:00")
    login(world.mia)
    response = client.post(
        f"/bookings/{mine.id}/reschedule", data=form(world, world.lcms2, 2, "10:00", "11:00")
    )
    assert response.status_code == 409
    message = field_error(response.get_data(as_text=True), "start")
    assert message and "already booked" in message and f"#{theirs.id}" in message
    db.session.expire_all()
    unchanged = db.session.get(Booking, mine.id)
    assert (unchanged.equipment_id, unchanged.start) == (world.lcms1.id, world.at(1, "09:00"))
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.action == "booking.reschedule"))
        is None
    )


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"start": "tomorrow"}, "start"),
        ({"end": ""}, "end"),
        ({"equipment_id": "abc"}, "equipment_id"),
        ({"equipment_id": "999999"}, "equipment_id"),
        ({"start": "2030-01-07T09:10"}, "start"),
    ],
)
def test_bad_input_is_shown_beside_its_field_never_a_500(
    client: Any, login: Any, world: World, db: Any, changes: dict[str, str], name: str
) -> None:
    booking = book(world, world.project_a, world.lcms1, 1, "09:00", "12:00")
    login(world.mia)
    data = {**form(world, world.lcms1, 3, "09:00", "12:00"), **changes}
    response = client.post(f"/bookings/{booking.id}/reschedule", data=data)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), name)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).start == world.at(1, "09:00")


def test_a_unit_of_another_facility_cannot_be_chosen(
    client: Any, login: Any, world: World, db: Any
) -> None:
    booking = book(world, world.project_a, world.lcms1, 1, "09:00", "12:00")
    login(world.mia)
    response = client.post(
        f"/bookings/{booking.id}/reschedule", data=form(world, world.chamber, 3, "09:00", "12:00")
    )
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "equipment_id")
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).equipment_id == world.lcms1.id


@pytest.mark.parametrize("who", ["alice", "bob", "otto"])
def test_only_the_facilitys_managers_may_reschedule(
    client: Any, login: Any, world: World, db: Any, who: str
) -> None:
    booking = book(world, world.project_a, world.lcms1, 1, "09:00", "12:00")
    login(getattr(world, who))
    assert client.get(f"/bookings/{booking.id}/reschedule").status_code == 404
    response = client.post(
        f"/bookings/{booking.id}/reschedule", data=form(world, world.lcms1, 3, "09:00", "12:00")
    )
    assert response.status_code == 404
    assert "Amber" not in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).start == world.at(1, "09:00")
    if who == "alice":
        detail = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
        assert "/reschedule" not in detail
