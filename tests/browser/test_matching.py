"""A founder describes a need on the catalogue, in Chromium, in both languages: the suggested
capabilities are named in the page's language, with the matched words and units that link on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, screenshot

pytestmark = pytest.mark.browser

CATALOGUE = Path(__file__).resolve().parents[2] / "facilities.yaml"
HAN = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def catalogue(live_server: LiveServer) -> None:
    from app.catalog.sync import sync_catalogue

    live_server.run(lambda: sync_catalogue(CATALOGUE))


@pytest.fixture
def page_in(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    contexts: list[Any] = []

    def _open(language: str) -> Any:
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": 1280, "height": 900},
            locale="zh-CN" if language == "zh" else "en-GB",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def _names(page: Any) -> list[str]:
    return [t.strip() for t in page.locator(".need-match h3").all_inner_texts()]


def test_a_need_typed_on_the_catalogue_finds_capabilities_in_english(
    catalogue: None, page_in: Any
) -> None:
    page = page_in("en")
    page.goto("/facilities")
    page.fill("#need", "our GaN power devices must survive heat and high voltage")
    page.click(".need-form button")

    page.wait_for_selector(".need-match")
    names = _names(page)
    assert {"Power-device testing", "High-voltage testing", "Temperature cycling"} <= set(
        names[:3]
    ), names
    assert not [n for n in names if HAN.search(n)], names
    assert "high voltage" in page.locator(".why-term").all_inner_texts()
    screenshot(page, "match-en")
    page.click(".match-unit a[href^='/equipment/']")
    assert "/equipment/" in page.url


def test_a_chinese_need_finds_capabilities_named_in_chinese(catalogue: None, page_in: Any) -> None:
    page = page_in("zh")
    page.goto("/facilities")
    page.fill("#need", "船用零件在海边容易生锈")
    page.click(".need-form button")

    page.wait_for_selector(".need-match")
    names = _names(page)
    assert names[0] == "盐雾试验" and "腐蚀试验" in names[:3], names
    assert "南通" in page.locator(".match-unit").first.inner_text()
    screenshot(page, "match-zh")
