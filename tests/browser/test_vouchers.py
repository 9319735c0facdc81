"""A startup reads the voucher deduction on its statement in both languages; the administrator
sees a form error beside its field and the voucher's draws."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests import factories
from tests.browser.conftest import LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser

ISSUER = "苏州工业园区科技创新局"


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        from app.billing import services as billing
        from app.dbtypes import utcnow
        from app.usage import services as usage
        from app.vouchers import services as vouchers
        from tests.usage.conftest import build_site
        from tests.vouchers.conftest import admin, capabilities

        capabilities()
        site = build_site()
        start = utcnow().replace(day=1, hour=2, minute=0, second=0, microsecond=0)
        start -= timedelta(days=20)
        boss = admin()
        voucher = vouchers.record_voucher(
            boss,
            {
                "project_id": str(site.project.id),
                "issuer": ISSUER,
                "number": "SIP-KJQ-0042",
                "amount": "1000",
                "valid_from": f"{start.year - 1}-01-01",
                "valid_until": f"{start.year + 1}-12-31",
                "share_percent": "40",
                "facilities": [str(site.facility.id)],
            },
        )
        booking = site.book(start)
        usage.check_in(site.manager, booking.id, now=start)
        usage.check_out(site.manager, booking.id, now=start + timedelta(minutes=90))
        statement = billing.issue_statement(
            site.manager, site.facility.id, site.project.id, start.date()
        )
        return {
            "member": site.member.email,
            "admin": boss.email,
            "statement": statement.id,
            "voucher": voucher.id,
        }

    return live_server.run(build)  # type: ignore[no-any-return]


def test_the_statement_shows_the_voucher_deduction_in_both_languages(
    new_page: Any, seeded: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    page = new_page()
    log_in(page, seeded["member"], factories.PASSWORD)
    page.goto(f"/statements/{seeded['statement']}")
    # 90 minutes at 150.00/h is 225.00; the voucher pays 40 %: 90.00.
    deduction = page.locator("#statement-lines tr.deduction")
    expect(deduction).to_contain_text(f"Voucher {ISSUER} No. SIP-KJQ-0042")
    expect(deduction).to_contain_text("-90.00")
    expect(page.locator("#voucher-deductions")).to_have_text("-90.00")
    expect(page.locator("#payable")).to_have_text("135.00")
    screenshot(page, "statement-voucher-deduction-en")
    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(deduction).to_contain_text(f"{ISSUER} 科技创新券 SIP-KJQ-0042")
    expect(page.locator("#statement-lines")).to_contain_text("应付金额")
    expect(page.locator("#payable")).to_have_text("135.00")
    screenshot(page, "statement-voucher-deduction-zh")
    page.goto("/vouchers")
    expect(page.locator("#voucher-table")).to_contain_text("SIP-KJQ-0042")
    expect(page.locator("#voucher-table .balance")).to_have_text("910.00")
    expect(page.locator("#new-voucher")).to_have_count(0)


def test_the_administrator_sees_errors_beside_fields_and_the_draws(
    new_page: Any, seeded: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    page = new_page()
    log_in(page, seeded["admin"], factories.PASSWORD)
    page.goto("/vouchers/new")
    page.fill("#voucher-issuer", ISSUER)
    page.fill("#voucher-number", "SIP-KJQ-0042")
    page.fill("#voucher-amount", "12.345")
    page.click("#voucher-form button[type=submit]")
    expect(page.locator("#field-number .error")).to_contain_text("already recorded")
    expect(page.locator("#field-amount .error")).to_contain_text("two decimals")
    expect(page.locator("#voucher-issuer")).to_have_value(ISSUER)
    page.goto(f"/vouchers/{seeded['voucher']}")
    expect(page.locator("#voucher-balance")).to_have_text("910.00")
    expect(page.locator("#draws")).to_contain_text("90.00")
    expect(page.locator("#drawn-notice")).to_be_visible()
