"""A startup, a facility manager and an administrator, in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests import factories
from tests.booking.pages_world import World, solve_now
from tests.browser.conftest import LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser

PASSWORD = factories.PASSWORD


def fresh(row: Any) -> Any:
    """Return the row loaded in the current session (the world's rows are detached)."""
    from app.extensions import db

    return db.session.get(type(row), row.id)


def test_campaign_is_solved_approved_and_seen_by_the_startup(
    new_page: Any, world: World, live_server: LiveServer
) -> None:
    from playwright.sync_api import expect

    alice = new_page()
    log_in(alice, world.alice.email, PASSWORD)
    alice.goto("/campaigns/new")
    alice.fill("#title", "Purity then impurity ID")
    alice.select_option("#facility_id", str(world.facility.id))
    alice.fill("#earliest_start", world.local(0, "09:00"))
    alice.fill("#deadline", world.local(4, "18:00"))
    alice.select_option("#steps-0-capability", "hplc")
    alice.fill("#steps-0-duration_hours", "12")
    alice.uncheck("#steps-0-attended")
    # The server rendered a spare row; the script adds (and numbers) a third one.
    alice.click("#add-step")
    expect(alice.locator("fieldset.step")).to_have_count(3)
    alice.locator("fieldset.step").nth(2).locator(".remove-step").click()
    expect(alice.locator("fieldset.step")).to_have_count(2)
    alice.select_option("#steps-1-capability", "lc-ms")
    alice.fill("#steps-1-duration_hours", "3")
    alice.fill("#steps-1-max_gap_hours", "48")
    screenshot(alice, "campaign-builder")
    alice.click("button[value=save]")
    alice.wait_for_url(re.compile(r"/requests/\d+$"))
    expect(alice.locator("h1 .status")).to_have_text("pending")
    expect(alice.locator("table tbody tr")).to_have_count(2)
    request_url = alice.url
    screenshot(alice, "request-pending")

    mia = new_page()
    log_in(mia, world.mia.email, PASSWORD)
    mia.goto("/manage")
    expect(mia.locator(f"tr[data-facility='{world.facility.slug}'] .count-pending")).to_have_text(
        "1"
    )
    screenshot(mia, "manage-home")
    mia.click(f"tr[data-facility='{world.facility.slug}'] a")
    screenshot(mia, "facility-manage")
    mia.click("#solve")
    mia.wait_for_url(re.compile(r"/runs/\d+$"))
    # The run page polls the API and goes to the proposal once the worker has finished.
    mia.wait_for_url(re.compile(r"/proposals/\d+$"), timeout=60_000)
    expect(mia.locator("svg.timeline > .bar.proposed")).to_have_count(2)
    screenshot(mia, "proposal")
    mia.click("text=Approve and publish")
    expect(mia.locator("#confirm-dialog-message")).to_contain_text("Publish 2 bookings")
    screenshot(mia, "proposal-approve-confirm")
    mia.click("#confirm-dialog-yes")
    expect(mia.locator(".flash")).to_contain_text("2 bookings published")

    alice.goto("/dashboard")
    expect(alice.locator("#upcoming li")).to_have_count(2)
    screenshot(alice, "dashboard-booked")
    alice.goto(request_url)
    expect(alice.locator("h1 .status")).to_have_text("booked")
    alice.click("table.bookings a >> nth=0")
    screenshot(alice, "booking-detail")


def test_a_request_that_cannot_be_placed_shows_its_reason(
    new_page: Any, world: World, live_server: LiveServer
) -> None:
    from playwright.sync_api import expect

    from app.booking import requests as request_service
    from app.booking.requests import StepInput
    from app.extensions import db

    def seed() -> int:
        # Ten attended hours fit the unit's own 08:00-20:00 when sent (an impossible request
        # is refused then); the catalogue then gives it the facility's 09:00-18:00 back.
        unit = fresh(world.lcms2)
        unit.opening_hours = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        db.session.commit()
        req = request_service.create_request(
            fresh(world.alice),
            world.project_a.id,
            title="Ten-hour attended marathon",
            earliest_start=world.at(0),
            deadline=world.at(4, "18:00"),
            steps=[
                StepInput(
                    duration_minutes=600, unit_ids=[world.lcms2.id], facility_id=world.facility.id
                )
            ],
        )
        unit.opening_hours = None
        db.session.commit()
        solve_now(fresh(world.mia), fresh(world.facility), time_limit=3)
        return req.id

    request_id = live_server.run(seed)
    alice = new_page()
    log_in(alice, world.alice.email, PASSWORD)
    alice.goto(f"/requests/{request_id}")
    expect(alice.locator("h1 .status")).to_have_text("unplaced")
    expect(alice.locator("#unplaced-reason")).not_to_be_empty()
    screenshot(alice, "request-unplaced")


def test_a_startup_cannot_open_another_startups_request(
    new_page: Any, world: World, live_server: LiveServer
) -> None:
    from playwright.sync_api import expect

    from app.booking import requests as request_service
    from app.booking.requests import StepInput

    def seed() -> int:
        return request_service.create_request(
            fresh(world.alice),
            world.project_a.id,
            title="Amber secret",
            earliest_start=world.at(0),
            deadline=world.at(4, "18:00"),
            steps=[
                StepInput(duration_minutes=60, capability="lc-ms", facility_id=world.facility.id)
            ],
        ).id

    request_id = live_server.run(seed)
    bob = new_page()
    log_in(bob, world.bob.email, PASSWORD)
    response = bob.goto(f"/requests/{request_id}")
    assert response is not None and response.status == 404
    expect(bob.locator("h1")).to_contain_text("404")
    expect(bob.locator("body")).not_to_contain_text("Amber")
    screenshot(bob, "not-found")


def test_a_form_error_shows_beside_its_field(new_page: Any, world: World) -> None:
    from playwright.sync_api import expect

    alice = new_page()
    log_in(alice, world.alice.email, PASSWORD)
    alice.goto("/requests/new")
    alice.fill("#earliest_start", world.local(2, "09:00"))
    alice.fill("#deadline", world.local(1, "09:00"))
    alice.select_option("#steps-0-capability", "lc-ms")
    alice.fill("#steps-0-duration_hours", "2")
    alice.click("button[value=save]")
    title_field = alice.locator(".field.has-error", has=alice.locator("#title"))
    expect(title_field.locator(".error")).to_be_visible()
    expect(alice.locator("#title")).to_have_attribute("aria-invalid", "true")
    screenshot(alice, "form-error")
    alice.fill("#title", "Now with a title")
    alice.click("button[value=save]")
    window_error = alice.locator(".field.has-error .error")
    expect(window_error.first).to_be_visible()
    screenshot(alice, "form-error-window")


def test_availability_week_and_administration_render(new_page: Any, world: World) -> None:
    from playwright.sync_api import expect

    alice = new_page()
    log_in(alice, world.alice.email, PASSWORD)
    alice.goto(f"/equipment/{world.lcms1.slug}/availability?week={world.monday.isoformat()}")
    expect(alice.locator("svg.timeline")).to_be_visible()
    screenshot(alice, "availability")
    admin = new_page()
    log_in(admin, world.admin.email, PASSWORD)
    admin.goto("/admin/")
    expect(admin.locator("table.accounts tr[data-user='alice@amber.example']")).to_be_visible()
    screenshot(admin, "admin")


def test_a_startup_asks_for_priority_and_the_manager_sets_the_weight(
    new_page: Any, world: World, live_server: LiveServer
) -> None:
    from playwright.sync_api import expect

    alice = new_page()
    log_in(alice, world.alice.email, PASSWORD)
    alice.goto("/requests/new")
    alice.fill("#title", "Investor demo sample")
    alice.fill("#earliest_start", world.local(0, "09:00"))
    alice.fill("#deadline", world.local(4, "18:00"))
    alice.select_option("#steps-0-capability", "lc-ms")
    alice.fill("#steps-0-duration_hours", "2")
    alice.fill("#priority_reason", "Investors visit on Friday")
    alice.click("button[value=save]")
    alice.wait_for_url(re.compile(r"/requests/\d+$"))
    expect(alice.locator("p.priority")).to_contain_text("Investors visit on Friday")
    expect(alice.locator("#weight")).to_have_text("1")
    request_id = int(alice.url.rsplit("/", 1)[1])

    mia = new_page()
    log_in(mia, world.mia.email, PASSWORD)
    mia.goto(f"/manage/{world.facility.slug}")
    row = mia.locator(f"tr[data-request='{request_id}']")
    expect(row.locator(".priority")).to_contain_text("Investors visit on Friday")
    row.locator("input[name=weight]").fill("12")
    row.locator("form.weight button").click()
    expect(mia.locator(f"#weight-{request_id}-error")).to_contain_text("1 to 10")
    row = mia.locator(f"tr[data-request='{request_id}']")
    row.locator("input[name=weight]").fill("6")
    row.locator("form.weight button").click()
    expect(mia.locator(".flash")).to_contain_text("set to 6")
    expect(row.locator("input[name=weight]")).to_have_value("6")
    screenshot(mia, "facility-manage-weight")
    alice.reload()
    expect(alice.locator("#weight")).to_have_text("6")
