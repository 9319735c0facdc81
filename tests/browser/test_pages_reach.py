"""The pages people reach for, in Chromium and in both languages: from a unit to a sent request,
through the login; a confirmation before approving; the language switch keeping typed text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests import factories
from tests.booking.pages_world import World, solve_now
from tests.browser.conftest import CHROMIUM, LiveServer, screenshot

pytestmark = pytest.mark.browser

PASSWORD = factories.PASSWORD

WORDS = {
    "zh": {
        "login": "请先登录再继续。",
        "sent": "已提交",
        "publish": "为 Amber Biologics 发布 {n} 个预约？",
        "published": "已发布 {n} 个预约",
        "title": "新建中试流程",
    },
    "en": {
        "login": "Log in to continue.",
        "sent": "sent",
        "publish": "Publish {n} bookings for Amber Biologics?",
        "published": "{n} bookings published",
        "title": "New campaign",
    },
}


def speak(live_server: LiveServer, user: Any, language: str) -> None:
    """Set the language saved on the user's account."""
    from app.accounts.models import User
    from app.extensions import db

    def change() -> None:
        db.session.get(User, user.id).locale = language
        db.session.commit()

    live_server.run(change)


def open_page(new_page: Any, live_server: LiveServer, language: str) -> Any:
    """Open a page whose browser has chosen the language with the switch before."""
    page = new_page()
    page.context.add_cookies([{"name": "lang", "value": language, "url": live_server.url}])
    return page


def draft_proposal(world: World, live_server: LiveServer, title: str) -> tuple[int, int]:
    """Send two requests of the startup and solve: a draft proposal placing them (and any
    request an earlier test left pending); return its id and how many it places."""
    from app.accounts.models import User
    from app.booking import requests as request_service
    from app.booking.requests import StepInput
    from app.catalog.models import Facility
    from app.extensions import db

    def seed() -> tuple[int, int]:
        for step in (1, 2):
            request_service.create_request(
                db.session.get(User, world.alice.id),
                world.project_a.id,
                title=f"{title}, part {step}",
                earliest_start=world.at(0),
                deadline=world.at(4, "18:00"),
                steps=[StepInput(duration_minutes=60, unit_ids=[world.hplc.id])],
            )
        run = solve_now(
            db.session.get(User, world.mia.id),
            db.session.get(Facility, world.facility.id),
            time_limit=3,
        )
        assert run.proposal is not None, run.error
        return run.proposal.id, len([i for i in run.proposal.items if not i.pinned])

    return live_server.run(seed)  # type: ignore[no-any-return]


def hidden(page: Any, selector: str) -> bool:
    return bool(page.locator(selector).evaluate("element => element.hidden"))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_from_an_equipment_page_through_the_login_to_a_sent_request(
    new_page: Any, world: World, live_server: LiveServer, language: str
) -> None:
    from playwright.sync_api import expect

    speak(live_server, world.alice, language)
    visitor = open_page(new_page, live_server, language)
    visitor.goto(f"/equipment/{world.lcms2.slug}")
    screenshot(visitor, f"equipment-{language}")
    visitor.click("#availability-link")
    # Not a 401 about bearer tokens: the login page, which leads back afterwards.
    visitor.wait_for_url(re.compile(r"/login\?next="))
    expect(visitor.locator(".flash")).to_have_text(WORDS[language]["login"])
    assert "Bearer" not in visitor.inner_text("body")
    screenshot(visitor, f"login-to-continue-{language}")
    visitor.fill("#email", world.alice.email)
    visitor.fill("#password", PASSWORD)
    visitor.click("main button.primary")
    visitor.wait_for_url(f"**/equipment/{world.lcms2.slug}/availability")
    expect(visitor.locator("svg.timeline")).to_be_visible()

    visitor.goto(f"/equipment/{world.lcms2.slug}/availability?week={world.monday.isoformat()}")
    screenshot(visitor, f"availability-{language}")
    visitor.click("#request-unit")
    visitor.wait_for_url(re.compile(rf"/requests/new\?unit={world.lcms2.slug}&week="))
    expect(visitor.locator("#facility_id")).to_have_value(str(world.facility.id))
    expect(visitor.locator("#steps-0-unit_ids")).to_have_values([str(world.lcms2.id)])
    expect(visitor.locator("#earliest_start")).to_have_value(world.local(0, "00:00"))
    expect(visitor.locator("#deadline")).to_have_value(world.local(7, "00:00"))
    # Only the chosen facility's units are offered, and its capabilities.
    assert hidden(visitor, f"#steps-0-unit_ids option[value='{world.chamber.id}']")
    assert not hidden(visitor, f"#steps-0-unit_ids option[value='{world.lcms1.id}']")
    assert hidden(visitor, "#steps-0-capability option[value='anechoic-chamber']")
    screenshot(visitor, f"request-this-unit-{language}")

    visitor.fill("#title", f"Impurity check {language}")
    visitor.fill("#steps-0-duration_hours", "2")
    visitor.click("button[value=save]")
    visitor.wait_for_url(re.compile(r"/requests/\d+$"))
    expect(visitor.locator(".flash")).to_contain_text(WORDS[language]["sent"])
    expect(visitor.locator("h1 .status.pending")).to_be_visible()
    expect(visitor.locator("body")).to_contain_text("LC-MS No. 2" if language == "en" else "设备")
    screenshot(visitor, f"request-sent-{language}")
    speak(live_server, world.alice, "en")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_approving_says_what_will_be_published_before_it_is(
    new_page: Any, world: World, live_server: LiveServer, language: str
) -> None:
    from playwright.sync_api import expect

    proposal_id, count = draft_proposal(world, live_server, f"Purity {language}")
    words = {key: text.format(n=count) for key, text in WORDS[language].items()}
    speak(live_server, world.mia, language)
    mia = open_page(new_page, live_server, language)
    mia.goto(f"/login?next=/proposals/{proposal_id}")
    mia.fill("#email", world.mia.email)
    mia.fill("#password", PASSWORD)
    mia.click("main button.primary")
    mia.wait_for_url(f"**/proposals/{proposal_id}")

    approve = mia.locator("form[action$='/approve'] button")
    approve.click()
    dialog = mia.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(mia.locator("#confirm-dialog-message")).to_contain_text(words["publish"])
    screenshot(mia, f"approve-confirm-{language}")
    mia.click("#confirm-dialog-no")
    expect(dialog).to_be_hidden()
    expect(mia.locator("h1 .status.draft")).to_be_visible()
    assert mia.url.endswith(f"/proposals/{proposal_id}")

    approve.click()
    mia.click("#confirm-dialog-yes")
    mia.wait_for_url(f"**/manage/{world.facility.slug}")
    expect(mia.locator(".flash")).to_contain_text(words["published"])
    speak(live_server, world.mia, "en")


def test_without_javascript_the_server_asks_before_approving(
    browser: Any, world: World, live_server: LiveServer
) -> None:
    from playwright.sync_api import expect

    assert CHROMIUM
    proposal_id, count = draft_proposal(world, live_server, "Purity without scripts")
    words = {key: text.format(n=count) for key, text in WORDS["en"].items()}
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, locale="en-GB"
    )
    try:
        mia = context.new_page()
        mia.goto(f"/login?next=/proposals/{proposal_id}")
        mia.fill("#email", world.mia.email)
        mia.fill("#password", PASSWORD)
        mia.click("main button.primary")
        mia.wait_for_url(f"**/proposals/{proposal_id}")
        mia.click("form[action$='/approve'] button")
        expect(mia.locator("#confirm-message")).to_contain_text(words["publish"])
        expect(mia.locator("main")).not_to_contain_text(words["published"])
        screenshot(mia, "approve-confirm-page-en")
        mia.click("#confirm-yes")
        mia.wait_for_url(f"**/manage/{world.facility.slug}")
        expect(mia.locator(".flash")).to_contain_text(words["published"])
    finally:
        context.close()


@pytest.mark.parametrize(("first", "then"), [("en", "zh"), ("zh", "en")])
def test_switching_language_keeps_what_was_typed(
    new_page: Any, world: World, live_server: LiveServer, first: str, then: str
) -> None:
    from playwright.sync_api import expect

    speak(live_server, world.alice, first)
    alice = open_page(new_page, live_server, first)
    alice.goto("/login?next=/campaigns/new")
    alice.fill("#email", world.alice.email)
    alice.fill("#password", PASSWORD)
    alice.click("main button.primary")
    alice.wait_for_url("**/campaigns/new")
    expect(alice.locator("h1")).to_have_text(WORDS[first]["title"])

    # The first step has no previous step, so no gaps to set; the second has.
    expect(alice.locator("#steps-0-min_gap_hours")).to_be_hidden()
    expect(alice.locator("#steps-1-max_gap_hours")).to_be_visible()
    alice.fill("#title", "Purity then impurity 纯度")
    alice.select_option("#facility_id", str(world.facility.id))
    alice.fill("#earliest_start", world.local(0, "09:00"))
    alice.select_option("#steps-0-capability", "hplc")
    alice.fill("#steps-0-duration_hours", "12")
    alice.uncheck("#steps-0-attended")
    alice.select_option("#steps-1-unit_ids", [str(world.lcms1.id), str(world.lcms2.id)])
    alice.fill("#steps-1-max_gap_hours", "48")
    alice.click("#add-step")
    alice.fill("#steps-2-note", "bring the column")
    alice.fill("#priority_reason", "Investor demo on Friday")

    alice.click("#lang-switch")
    expect(alice.locator("h1")).to_have_text(WORDS[then]["title"])
    expect(alice.locator("#title")).to_have_value("Purity then impurity 纯度")
    expect(alice.locator("#facility_id")).to_have_value(str(world.facility.id))
    expect(alice.locator("#earliest_start")).to_have_value(world.local(0, "09:00"))
    expect(alice.locator("#steps-0-capability")).to_have_value("hplc")
    expect(alice.locator("#steps-0-duration_hours")).to_have_value("12")
    expect(alice.locator("#steps-0-attended")).not_to_be_checked()
    expect(alice.locator("#steps-1-unit_ids")).to_have_values(
        [str(world.lcms1.id), str(world.lcms2.id)]
    )
    expect(alice.locator("#steps-1-max_gap_hours")).to_have_value("48")
    expect(alice.locator("#steps-2-note")).to_have_value("bring the column")
    expect(alice.locator("#priority_reason")).to_have_value("Investor demo on Friday")
    screenshot(alice, f"language-kept-{then}")

    # Removing the first step makes the next one first: its gaps go away too.
    alice.locator("fieldset.step").nth(0).locator(".remove-step").click()
    expect(alice.locator("#steps-0-max_gap_hours")).to_be_hidden()
    expect(alice.locator("#steps-0-unit_ids")).to_have_values(
        [str(world.lcms1.id), str(world.lcms2.id)]
    )
    # What was kept is sent like anything typed.
    alice.fill("#deadline", world.local(4, "18:00"))
    alice.fill("#steps-0-duration_hours", "3")
    alice.select_option("#steps-1-capability", "hplc")
    alice.fill("#steps-1-duration_hours", "1")
    alice.click("button[value=save]")
    alice.wait_for_url(re.compile(r"/requests/\d+$"))
    expect(alice.locator("table tbody tr")).to_have_count(2)
    speak(live_server, world.alice, "en")


def test_typing_before_the_language_script_runs_is_not_overwritten(
    new_page: Any, world: World, live_server: LiveServer
) -> None:
    """On a loaded machine the deferred script can run after the first keystrokes."""
    from playwright.sync_api import Route, expect

    visitor = open_page(new_page, live_server, "en")
    visitor.goto("/login")
    visitor.fill("#email", "kept before the switch")
    held: list[Route] = []
    visitor.route("**/formkeep.js*", lambda route: held.append(route))
    visitor.click("#lang-switch", no_wait_after=True)
    expect(visitor.locator("html")).to_have_attribute("lang", "zh-CN")
    visitor.wait_for_function("document.readyState === 'interactive'")
    # The page is shown, its script has not arrived: the visitor types a new address now.
    visitor.fill("#email", world.alice.email)
    while not held:
        visitor.wait_for_timeout(20)
    held[0].continue_()
    visitor.wait_for_load_state("load")
    expect(visitor.locator("#email")).to_have_value(world.alice.email)
