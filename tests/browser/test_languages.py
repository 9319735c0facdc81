"""Every kind of page in Chinese and English, switched with the switch on the page, in Chromium.

The browser asks for English (en-GB); the switch turns a page Chinese, the choice holds on the
next pages (a cookie, and the account for a logged-in user), and switching back restores English.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests import factories
from tests.booking.pages_world import World, solve_now
from tests.browser.conftest import LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser

PASSWORD = factories.PASSWORD


@pytest.fixture(scope="module")
def proposal_id(world: World, live_server: LiveServer) -> int:
    """A draft proposal for the manager, from one pending request of the startup."""
    from app.accounts.models import User
    from app.booking import requests as request_service
    from app.booking.requests import StepInput
    from app.catalog.models import Facility
    from app.extensions import db

    def seed() -> int:
        request_service.create_request(
            db.session.get(User, world.alice.id),
            world.project_a.id,
            title="Peptide map",
            earliest_start=world.at(0),
            deadline=world.at(4, "18:00"),
            steps=[
                StepInput(duration_minutes=120, capability="lc-ms", facility_id=world.facility.id)
            ],
        )
        run = solve_now(
            db.session.get(User, world.mia.id),
            db.session.get(Facility, world.facility.id),
            time_limit=3,
        )
        assert run.proposal is not None, run.error
        return run.proposal.id

    return int(live_server.run(seed))


def switch(page: Any, to: str) -> None:
    """Press the language switch and wait for the page to come back in the other language."""
    from playwright.sync_api import expect

    label = "中文" if to == "zh" else "English"
    expect(page.locator("#lang-switch")).to_have_text(label)
    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if to == "zh" else "en")


def chinese(page: Any, *words: str) -> None:
    """Check the page is the Chinese one: the words are there, the English navigation is not."""
    from playwright.sync_api import expect

    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#lang-switch")).to_have_text("English")
    text = page.inner_text("body")
    for word in words:
        assert word in text, (word, page.url)
    assert "Log in" not in text and "Log out" not in text and "Catalogue" not in text


def english(page: Any, *words: str) -> None:
    """Check the page is the English one: the words are there, no Chinese interface words."""
    from playwright.sync_api import expect

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#lang-switch")).to_have_text("中文")
    text = page.inner_text("body")
    for word in words:
        assert word in text, (word, page.url)
    assert "平台目录" not in text and "登录" not in text and "退出登录" not in text


def test_public_pages_switch_and_the_choice_holds(new_page: Any, world: World) -> None:
    visitor = new_page()
    visitor.goto("/facilities")
    english(visitor, "Facilities and equipment", "Bio Proof-of-Concept Centre", "Catalogue")

    switch(visitor, "zh")
    chinese(visitor, "平台与设备", "生物概念验证中心", "平台目录")
    assert visitor.url.endswith("/facilities")
    screenshot(visitor, "catalogue-zh")

    # The choice holds on the next page without pressing the switch again.
    visitor.click(f"a[href='/facilities/{world.facility.slug}']")
    chinese(visitor, "生物概念验证中心", "设备", "开放时间")
    screenshot(visitor, "facility-zh")
    switch(visitor, "en")
    assert visitor.url.endswith(f"/facilities/{world.facility.slug}")
    english(visitor, "Bio Proof-of-Concept Centre", "Equipment", "Opening hours")
    visitor.goto("/facilities")
    english(visitor, "Facilities and equipment")


def test_error_page_in_both_languages(new_page: Any) -> None:
    visitor = new_page()
    response = visitor.goto("/no/such/page")
    assert response is not None and response.status == 404
    english(visitor, "404 · Not found", "There is no page at this address")
    switch(visitor, "zh")
    chinese(visitor, "404 · 未找到", "此地址没有对应的页面", "返回首页")


def test_login_form_shows_its_field_error_in_both_languages(new_page: Any, world: World) -> None:
    from playwright.sync_api import expect

    visitor = new_page()
    visitor.goto("/login")
    switch(visitor, "zh")
    chinese(visitor, "电子邮箱", "密码")
    visitor.fill("#email", world.alice.email)
    visitor.fill("#password", "not the password")
    visitor.click("button.primary")
    expect(visitor.locator(".field.has-error .error")).to_have_text("电子邮箱或密码错误。")
    screenshot(visitor, "login-error-zh")
    switch(visitor, "en")
    visitor.fill("#email", world.alice.email)
    visitor.fill("#password", "not the password")
    visitor.click("button.primary")
    expect(visitor.locator(".field.has-error .error")).to_have_text("Email or password is wrong.")


def test_startup_pages_in_both_languages_and_the_account_remembers(
    new_page: Any, world: World, proposal_id: int
) -> None:
    from playwright.sync_api import expect

    alice = new_page()
    log_in(alice, world.alice.email, PASSWORD)
    alice.goto("/requests/new")
    english(alice, "New request", "Title")
    switch(alice, "zh")
    chinese(alice, "新建申请", "标题")
    alice.click("button[value=save]")
    expect(alice.locator("#title-error")).to_have_text("该字段是必填字段。")
    screenshot(alice, "request-form-zh")

    alice.goto("/requests")
    chinese(alice, "预约申请", "Peptide map")
    screenshot(alice, "request-list-zh")

    # Another browser (no cookie, asking for English) gets the account's choice.
    again = new_page()
    log_in(again, world.alice.email, PASSWORD)
    again.goto("/requests")
    chinese(again, "预约申请")
    switch(again, "en")
    english(again, "Requests", "Peptide map")


def test_manager_and_administrator_pages_in_both_languages(
    new_page: Any, world: World, proposal_id: int
) -> None:
    mia = new_page()
    log_in(mia, world.mia.email, PASSWORD)
    mia.goto(f"/proposals/{proposal_id}")
    english(mia, f"Proposal {proposal_id}", "How good is it?", "Timeline")
    switch(mia, "zh")
    chinese(mia, f"排程方案 {proposal_id}", "方案效果如何？", "时间线", "生物概念验证中心")
    screenshot(mia, "proposal-zh")

    mia.goto("/reports/")
    chinese(mia, "报表", "利用率")
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", mia.inner_text(".report-head"))
    screenshot(mia, "reports-zh")
    switch(mia, "en")
    english(mia, "Reports", "Utilisation")

    ada = new_page()
    log_in(ada, world.admin.email, PASSWORD)
    ada.goto("/admin/")
    english(ada, "Administration", "Accounts")
    switch(ada, "zh")
    chinese(ada, "系统管理", "账号")
    screenshot(ada, "admin-zh")
