"""The real catalogue in Chromium: Chinese pages carry no Latin-script place, holiday, contact
or maintenance text and no raw capability slug; English pages carry no Han characters there;
headers and badges hold Chinese on one line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import factories
from tests.browser.conftest import LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser

CATALOGUE = Path(__file__).resolve().parents[2] / "facilities.yaml"
LATIN = re.compile(r"[A-Za-z]")
HAN = re.compile(r"[\u3400-\u9fff]")
# Where the catalogue's own words are shown (not names that are Latin in Chinese too,
# like "LC-MS", or e-mail addresses).
PLACE_FIELDS = (".place", ".address", ".hosts li", ".contact-name", ".closure-reason")
# Texts that must stay one line: a per-character break reads "容/量", "待处/理".
ONE_LINE = "th, .status, .kind-badge, .tag"


@pytest.fixture(scope="module")
def catalogue(live_server: LiveServer) -> None:
    from app.catalog.sync import sync_catalogue

    live_server.run(lambda: sync_catalogue(CATALOGUE))


@pytest.fixture
def page_in(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """Return a factory of pages whose browser asks for one language."""
    contexts: list[Any] = []

    def _open(language: str, width: int = 1280) -> Any:
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": 900},
            locale="zh-CN" if language == "zh" else "en-GB",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def texts(page: Any, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts() if t.strip()]


def lines_of(page: Any, selector: str) -> dict[str, int]:
    """Return each matching element's text with the number of lines it is laid out on."""
    return dict(
        page.eval_on_selector_all(
            selector,
            """els => els.filter(el => el.offsetParent !== null).map(el => {
                const range = document.createRange();
                range.selectNodeContents(el);
                const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                return [el.innerText.trim(), tops.size];
            })""",
        )
    )


@pytest.mark.parametrize("slug", ["njbio-poc", "sip-nanox"])
def test_chinese_facility_page_has_no_latin_place_holiday_or_contact_text(
    catalogue: None, page_in: Any, slug: str
) -> None:
    page = page_in("zh")
    page.goto(f"/facilities/{slug}")
    assert page.locator("html").get_attribute("lang").startswith("zh")
    shown = {selector: texts(page, selector) for selector in PLACE_FIELDS}

    for selector, found in shown.items():
        assert not [t for t in found if LATIN.search(t)], (selector, found)
    assert shown[".place"] and shown[".address"] and shown[".contact-name"], shown
    capabilities = page.eval_on_selector_all(
        ".capability", "els => els.map(el => [el.dataset.slug, el.innerText.trim()])"
    )
    assert capabilities and not [c for c in capabilities if c[0] == c[1]], capabilities
    screenshot(page, f"catalogue-{slug}-zh")


def test_chinese_holidays_are_named_in_chinese(catalogue: None, page_in: Any) -> None:
    page = page_in("zh")
    page.goto("/facilities/njbio-poc")

    reasons = texts(page, ".closure-reason")
    assert "春节" in reasons and "劳动节" in reasons, reasons
    assert "2027年2月6日" in page.locator("#closures").inner_text()


@pytest.mark.parametrize("slug", ["njbio-poc", "sip-nanox"])
def test_english_facility_page_has_no_han_place_holiday_or_contact_text(
    catalogue: None, page_in: Any, slug: str
) -> None:
    page = page_in("en")
    page.goto(f"/facilities/{slug}")
    shown = {selector: texts(page, selector) for selector in PLACE_FIELDS}

    for selector, found in shown.items():
        assert not [t for t in found if HAN.search(t)], (selector, found)
    assert shown[".place"] and shown[".address"] and shown[".contact-name"], shown
    screenshot(page, f"catalogue-{slug}-en")


def test_catalogue_list_names_places_in_the_pages_language(catalogue: None, page_in: Any) -> None:
    chinese = page_in("zh")
    chinese.goto("/facilities")
    english = page_in("en")
    english.goto("/facilities")

    zh_places = texts(chinese, ".place-name")
    en_places = texts(english, ".place-name")
    assert zh_places and not [t for t in zh_places if LATIN.search(t)], zh_places
    assert en_places and not [t for t in en_places if HAN.search(t)], en_places
    cities = texts(chinese, "#city option")
    assert "南京" in cities and "Nanjing" not in cities
    screenshot(chinese, "catalogue-list-zh")


def test_maintenance_reasons_are_in_the_pages_language(
    catalogue: None, page_in: Any, live_server: LiveServer
) -> None:
    from app.extensions import db
    from tests import factories
    from tests.browser.conftest import log_in

    def reader(language: str) -> str:
        user = factories.make_user(locale=language)
        db.session.commit()
        return str(user.email)

    pages = {}
    for language in ("zh", "en"):
        # Reasons are managers' free text: shown to signed-in readers only.
        page = page_in(language)
        log_in(page, live_server.run(lambda lang=language: reader(lang)), factories.PASSWORD)
        page.goto("/equipment/njbio-lcms-2")
        pages[language] = page
    chinese, english = pages["zh"], pages["en"]

    assert texts(chinese, ".maintenance-reason") == ["离子源清洗与质量校准"]
    assert texts(english, ".maintenance-reason") == ["Ion source cleaning and mass calibration"]


@pytest.mark.parametrize("width", [1280, 800])
def test_chinese_headers_and_badges_stay_on_one_line(
    catalogue: None, page_in: Any, width: int
) -> None:
    page = page_in("zh", width)
    page.goto("/facilities/njbio-poc?retired=1")

    laid_out = lines_of(page, ONE_LINE)
    assert "容量" in laid_out, laid_out
    assert {text: n for text, n in laid_out.items() if n > 1} == {}
    screenshot(page, f"catalogue-njbio-poc-zh-{width}")


def test_chinese_request_list_keeps_moments_headers_and_badges_on_one_line(
    world: Any, live_server: LiveServer, page_in: Any
) -> None:
    from app.accounts.models import User
    from app.booking import requests as request_service
    from app.booking.requests import StepInput
    from app.extensions import db

    def seed() -> None:
        alice = db.session.get(User, world.alice.id)
        alice.locale = "zh"
        request_service.create_request(
            alice,
            world.project_a.id,
            title="Glycan profiling of the second clone batch",
            earliest_start=world.at(0),
            deadline=world.at(4, "18:00"),
            steps=[
                StepInput(duration_minutes=120, capability="lc-ms", facility_id=world.facility.id)
            ],
        )

    live_server.run(seed)
    page = page_in("zh", 800)
    log_in(page, world.alice.email, factories.PASSWORD)
    page.goto("/requests")

    laid_out = lines_of(page, f"{ONE_LINE}, .moment")
    start = world.at(0)
    assert f"{start.month}月{start.day}日" in " ".join(laid_out), laid_out
    assert {text: n for text, n in laid_out.items() if n > 1} == {}
    screenshot(page, "requests-zh-800")
