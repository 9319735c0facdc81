"""From a need in a founder's own words to a sent campaign, and a broker moving it along, in
Chromium, in both languages."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser

CATALOGUE = Path(__file__).resolve().parents[2] / "facilities.yaml"
FOUNDER = "sun.yu@sgan.example"
BROKER = "wu.qian@broker.example"


@pytest.fixture(scope="module")
def demo_world(live_server: LiveServer) -> None:
    from sqlalchemy import select

    from app import demo
    from app.accounts.models import Training, User
    from app.catalog.models import Equipment
    from app.catalog.sync import sync_catalogue
    from app.extensions import db

    def seed() -> None:
        sync_catalogue(CATALOGUE)
        demo.load()
        founder = db.session.scalar(select(User).where(User.email == FOUNDER))
        prober = db.session.scalar(select(Equipment).where(Equipment.slug == "sip3g-prober-2"))
        db.session.add(
            Training(user_id=founder.id, equipment_id=prober.id, trained_on=date(2026, 9, 1))
        )
        db.session.commit()

    live_server.run(seed)


def _in_language(page: Any, language: str) -> None:
    current = page.get_attribute("html", "lang") or "en"
    if current[:2] != language:
        page.click("#lang-switch")
        page.wait_for_load_state()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_founder_turns_a_chinese_need_into_a_campaign_and_a_broker_serves_it(
    demo_world: None, new_page: Any, language: str
) -> None:
    title = f"氮化镓器件测试 {language}"
    page = new_page()
    log_in(page, FOUNDER, "pilotslot-demo")
    page.goto("/needs/new")
    _in_language(page, language)
    centre = page.locator("#centre_id option", has_text=re.compile("园易联|Yuanyilian"))
    page.select_option("#centre_id", centre.get_attribute("value"))
    page.fill("#title", title)
    page.fill("#text", "我们的氮化镓功率器件要耐高温和高电压，先测功率器件参数，再做高压测试")
    page.fill("#budget_yuan", "20000")
    page.click("#need-form button.primary")

    page.wait_for_selector(".need-match")
    assert page.locator('.need-match[data-capability="power-device-test"]').count() == 1
    row = page.locator('.need-match[data-capability="power-device-test"] .match-unit').first
    assert row.locator(".rate").inner_text().startswith("¥")
    assert re.search(r"\d", row.locator(".earliest").inner_text())
    assert "氮化镓" in page.locator(".need-match .why").first.inner_text()
    screenshot(page, f"need-suggestions-{language}")

    page.check('input[name="choice"][value^="high-voltage-test:"]')
    page.locator(
        '.need-match[data-capability="power-device-test"] input[name="choice"]'
    ).first.check()
    page.click("#make-draft")
    page.wait_for_selector("#send-draft")
    assert page.locator("#steps-0-capability").input_value() == "power-device-test"
    assert page.locator("#steps-1-capability").input_value() == "high-voltage-test"
    page.fill("#steps-0-duration_hours", "2")
    page.fill("#steps-1-duration_hours", "3")
    page.click("#send-draft")
    page.wait_for_url(re.compile(r"/requests/\d+$"))

    broker = new_page()
    log_in(broker, BROKER, "pilotslot-demo")
    broker.goto("/brokers/board")
    _in_language(broker, language)
    broker.locator('#state-requested a[href^="/needs/"]', has_text=title).click()
    broker.wait_for_selector("#move-form")
    broker.select_option("#state", "served")
    broker.click("#move-form button.primary")
    broker.wait_for_selector("#need-state")
    served = "已服务" if language == "zh" else "served"
    assert broker.locator("#need-state").inner_text().strip() == served
    screenshot(broker, f"need-served-{language}")
    broker.goto("/demand")
    assert broker.locator("#table-months tbody tr").count() >= 1
