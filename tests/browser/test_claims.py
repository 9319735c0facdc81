"""An administrator prepares the issuer's claim from the form, submits it through the
confirmation dialog, reads it in both languages and prints it cleanly to PDF."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.browser.conftest import LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        from tests.claims.conftest import BUREAU, MARCH, build_claim_site

        cs = build_claim_site()
        cs.draw(cs.use(factories.at("2027-03-01 01:00"), 90), 11_250)
        cs.draw(
            cs.use(factories.at("2027-03-02 06:00"), 60, project=cs.site.other_project),
            7_500,
            cs.other_voucher,
        )
        cs.bill(MARCH)
        cs.bill(MARCH, cs.site.other_project)
        return {"admin": cs.admin.email, "issuer": BUREAU, "voucher": cs.voucher.number}

    return live_server.run(build)  # type: ignore[no-any-return]


def test_an_administrator_prepares_submits_and_prints_a_claim_in_both_languages(
    new_page: Any, seeded: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    page = new_page()
    log_in(page, seeded["admin"], factories.PASSWORD)
    page.click("nav >> text=Voucher claims")
    page.select_option("#claim-issuer-field", seeded["issuer"])
    page.fill("#claim-period-start", "2027-03-31")
    page.fill("#claim-period-end", "2027-03-01")
    page.click("#claim-prepare")
    expect(page.locator("#period-end-error")).to_contain_text("ends on or after")
    page.fill("#claim-period-start", "2027-03-01")
    page.fill("#claim-period-end", "2027-03-31")
    page.click("#claim-prepare")

    expect(page.locator("#claim-state")).to_have_text("Draft")
    lines = page.locator("#claim-lines tbody tr")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("Kestrel Bio")
    expect(lines.nth(0)).to_contain_text(seeded["voucher"])
    expect(lines.nth(0)).to_contain_text("09:00–10:30")
    expect(lines.nth(1)).to_contain_text("Heron Devices")
    expect(page.locator("#claim-total")).to_have_text("187.50")

    page.click("#claim-submit")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Its lines and total are locked")
    page.click("#confirm-dialog-yes")
    expect(page.locator("#claim-state")).to_have_text("Submitted")
    expect(page.locator("#claim-submit")).to_have_count(0)

    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#claim-state")).to_have_text("已提交")
    expect(page.locator("#claim-lines")).to_contain_text("申请兑付合计")
    expect(page.locator("#claim-total")).to_have_text("187.50")
    screenshot(page, "claim-zh")

    page.click("#print-link")
    page.emulate_media(media="print")
    expect(page.locator(".no-print")).to_be_hidden()
    expect(page.locator("#claim-lines")).to_be_visible()
    expect(page.locator("#claim-lines")).to_contain_text("创新券支付（元）")
    # Every column fits the printed page's width: A4 less its margins, at 96 px per inch.
    printable = int((210 - 2 * 15) / 25.4 * 96)
    page.set_viewport_size({"width": printable, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= printable
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    screenshot(page, "claim-print-zh")

    page.emulate_media(media="screen")
    page.click("text=返回兑付申请")
    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("#print-link")
    page.emulate_media(media="print")
    expect(page.locator("#claim-lines")).to_contain_text("Voucher pays (CNY)")
    expect(page.locator("#claim-lines")).to_contain_text("Total claimed")
    expect(page.locator("#claim-state")).to_have_text("Submitted")
    assert page.pdf(format="A4").startswith(b"%PDF")
    screenshot(page, "claim-print-en")
