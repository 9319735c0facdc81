"""An administrator discards a draft claim through the confirmation dialog, in Chinese; its
charges are unclaimed again, and the period is prepared anew."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.browser.conftest import LiveServer, log_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        from app.vouchers import claims
        from tests.claims.conftest import BUREAU, MARCH, MARCH_31, build_claim_site

        cs = build_claim_site()
        cs.draw(cs.use(factories.at("2027-03-01 01:00"), 90), 11_250)
        cs.bill(MARCH)
        claim = claims.prepare_claim(cs.admin, BUREAU, MARCH, MARCH_31)
        return {"admin": cs.admin.email, "claim": claim.id, "number": claim.number}

    return live_server.run(build)  # type: ignore[no-any-return]


def test_an_administrator_discards_a_draft_claim_through_the_dialog(
    new_page: Any, seeded: dict[str, Any], live_server: LiveServer
) -> None:
    from playwright.sync_api import expect

    page = new_page()
    log_in(page, seeded["admin"], factories.PASSWORD)
    page.click("nav >> text=Voucher claims")
    page.click(f"text={seeded['number']}")
    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    page.click("#claim-discard")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("恢复为未申请")
    page.click("#confirm-dialog-yes")
    expect(page.locator("body")).to_contain_text(f"草稿兑付申请 {seeded['number']} 已放弃")

    def unclaimed() -> tuple[int, int]:
        from sqlalchemy import func, select

        from app.extensions import db
        from app.vouchers.models import Claim, VoucherDraw

        return (
            db.session.scalar(select(func.count(Claim.id))),
            db.session.scalar(
                select(func.count(VoucherDraw.id)).where(VoucherDraw.claim_id.is_(None))
            ),
        )

    assert live_server.run(unclaimed) == (0, 1)
