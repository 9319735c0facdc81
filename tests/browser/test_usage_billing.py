"""A manager checks a booking in and out on the day sheet; a startup reads its statement in
both languages and prints it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests import factories
from tests.browser.conftest import LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        from app.billing import services as billing
        from app.dbtypes import utcnow
        from app.usage import services as usage
        from tests.usage.conftest import build_site

        site = build_site()
        now_booking = site.book(utcnow() - timedelta(minutes=5))
        start = utcnow().replace(day=1, hour=2, minute=0, second=0, microsecond=0)
        start -= timedelta(days=20)
        past = site.book(start)
        usage.check_in(site.manager, past.id, now=start)
        usage.check_out(site.manager, past.id, now=start + timedelta(minutes=90))
        statement = billing.issue_statement(
            site.manager, site.facility.id, site.project.id, start.date()
        )
        return {
            "manager": site.manager.email,
            "member": site.member.email,
            "facility": site.facility.slug,
            "booking": now_booking.id,
            "statement": statement.id,
            "number": statement.number,
        }

    return live_server.run(build)  # type: ignore[no-any-return]


def test_a_manager_checks_a_booking_in_and_out_on_the_day_sheet(
    new_page: Any, seeded: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    page = new_page()
    log_in(page, seeded["manager"], factories.PASSWORD)
    page.goto(f"/manage/{seeded['facility']}/day-sheet")
    row = page.locator(f"tr[data-booking='{seeded['booking']}']")
    expect(row).to_contain_text("not checked in")
    row.locator("button.check-in").click()
    expect(page.locator(".flash")).to_have_text("Checked in.")
    expect(row).to_contain_text("checked in")
    screenshot(page, "day-sheet-checked-in")
    row.locator("button.check-out").click()
    expect(row).to_contain_text("checked out")
    expect(row.locator("button")).to_have_count(0)


def test_the_statement_reads_in_both_languages_and_prints_cleanly(
    new_page: Any, seeded: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    page = new_page()
    log_in(page, seeded["member"], factories.PASSWORD)
    page.goto(f"/statements/{seeded['statement']}")
    expect(page.locator("#statement-number")).to_have_text(seeded["number"])
    expect(page.locator("#payable")).to_have_text("225.00")
    expect(page.locator("#statement-lines")).to_contain_text("Amount payable")
    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#statement-lines")).to_contain_text("应付金额")
    expect(page.locator("#payable")).to_have_text("225.00")
    screenshot(page, "statement-zh")
    page.click("#print-link")
    page.emulate_media(media="print")
    expect(page.locator(".no-print")).to_be_hidden()
    expect(page.locator("#statement-lines")).to_be_visible()
    expect(page.locator("#statement-lines")).to_contain_text("创新券抵扣")
