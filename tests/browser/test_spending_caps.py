"""A founder states a spending cap in the browser: a bad amount is refused beside the field,
the corrected cap is listed, and the page reads in Chinese too."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.browser.conftest import LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        from tests.usage.conftest import build_site

        site = build_site()
        return {"member": site.member.email, "project": site.project.id}

    return live_server.run(build)  # type: ignore[no-any-return]


def test_a_founder_states_a_cap_and_a_bad_amount_is_refused_beside_the_field(
    new_page: Any, seeded: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    page = new_page()
    log_in(page, seeded["member"], factories.PASSWORD)
    page.goto("/spending-caps")
    page.select_option("#project_id", str(seeded["project"]))
    page.fill("#amount_yuan", "12.345")
    page.fill("#month", "2027-04")
    page.click("#cap-form button[type=submit]")
    expect(page.locator("#amount_yuan-error")).to_have_text(
        "Enter an amount in yuan with at most two decimals."
    )
    page.fill("#amount_yuan", "8000")
    page.click("#cap-form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Spending cap of 8,000.00 yuan set")
    expect(page.locator("#caps")).to_contain_text("8,000.00")
    screenshot(page, "spending-caps")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("支出上限")
    expect(page.locator("#caps")).to_contain_text("8,000.00")
