"""A manager moves a booking on the reschedule page, in a real browser."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.booking.pages_world import World
from tests.browser.conftest import LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser


def test_manager_reschedules_a_booking_after_a_refused_clash(
    new_page: Any, world: World, live_server: LiveServer
) -> None:
    from playwright.sync_api import expect

    from app.booking import bookings as booking_service
    from app.booking.models import AuditEvent, Booking
    from app.extensions import db

    def seed() -> tuple[int, int]:
        mia = db.session.get(type(world.mia), world.mia.id)
        mine, theirs = (
            booking_service.manual_booking(
                mia,
                project_id=project.id,
                equipment_id=unit.id,
                start=world.at(day, "09:00"),
                end=world.at(day, "12:00"),
                title=title,
            ).id
            for project, unit, day, title in (
                (world.project_a, world.lcms1, 1, "Amber peptide map"),
                (world.project_b, world.lcms2, 2, "Birch calibration"),
            )
        )
        return mine, theirs

    mine, theirs = live_server.run(seed)
    page = new_page()
    log_in(page, world.mia.email, factories.PASSWORD)
    page.goto(f"/bookings/{mine}")
    page.click("#reschedule-link")
    page.wait_for_url(f"**/bookings/{mine}/reschedule")
    expect(page.locator("#start")).to_have_value(world.local(1, "09:00"))
    page.select_option("#equipment_id", str(world.lcms2.id))
    page.fill("#start", world.local(2, "10:00"))
    page.fill("#end", world.local(2, "13:00"))
    page.click("#reschedule-form button.primary")
    clash = page.locator("#start-error")
    expect(clash).to_contain_text("already booked")
    expect(clash).to_contain_text(f"#{theirs}")
    screenshot(page, "reschedule-clash")
    page.fill("#start", world.local(3, "13:00"))
    page.fill("#end", world.local(3, "16:00"))
    page.click("#reschedule-form button.primary")
    page.wait_for_url(f"**/bookings/{mine}")
    expect(page.locator("body")).to_contain_text("Booking moved")
    expect(page.locator("body")).to_contain_text("LC-MS No. 2")
    screenshot(page, "reschedule-done")

    def check() -> None:
        booking = db.session.get(Booking, mine)
        assert booking is not None
        assert (booking.equipment_id, booking.start, booking.end) == (
            world.lcms2.id,
            world.at(3, "13:00"),
            world.at(3, "16:00"),
        )
        events = db.session.query(AuditEvent).filter_by(action="booking.reschedule").all()
        assert [(e.object_id, e.actor_id) for e in events] == [(mine, world.mia.id)]

    live_server.run(check)
