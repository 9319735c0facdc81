"""Catalogue words on the booking pages: capability names, not slugs, and maintenance reasons
in the reader's language, or marked with the language they were written in."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from app.catalog.models import Capability, MaintenanceWindow
from app.extensions import db
from tests.booking.pages_world import World, build_world
from tests.booking.test_pages import make_request


@pytest.fixture
def world(db: Any) -> World:
    built = build_world()
    db.session.add_all(
        [
            Capability(slug="lc-ms", name_zh="液相色谱-质谱分析", name_en="LC-MS analysis"),
            Capability(slug="hplc", name_zh="高效液相色谱分析", name_en="HPLC analysis"),
        ]
    )
    db.session.commit()
    return built


def _in(user: Any, language: str) -> None:
    user.locale = language
    db.session.commit()


def test_request_form_and_request_page_name_capabilities_in_chinese(
    client: Any, login: Any, world: World
) -> None:
    _in(world.alice, "zh")
    req = make_request(world)
    login(world.alice)

    form = client.get("/requests/new").get_data(as_text=True)
    detail = client.get(f"/requests/{req.id}").get_data(as_text=True)

    assert re.search(r'<option [^>]*value="lc-ms"[^>]*>液相色谱-质谱分析</option>', form), form
    assert '<span class="tag">液相色谱-质谱分析</span>' in detail
    assert ">lc-ms<" not in form and ">lc-ms<" not in detail


def test_catalogue_pages_name_capabilities_in_english(client: Any, world: World) -> None:
    page = client.get("/facilities/bio-poc", headers={"Accept-Language": "en"})

    text = page.get_data(as_text=True)
    assert ">LC-MS analysis</span>" in text and ">lc-ms<" not in text


def test_a_reason_in_english_only_is_shown_marked_on_chinese_pages(
    client: Any, login: Any, world: World
) -> None:
    _in(world.mia, "zh")
    login(world.mia)
    data = {
        "maintenance-equipment_id": world.lcms1.id,
        "maintenance-start": world.local(3, "09:00"),
        "maintenance-end": world.local(3, "18:00"),
        "maintenance-reason_zh": "",
        "maintenance-reason_en": "Pump swap",
    }
    assert client.post("/manage/bio-poc/maintenance", data=data).status_code == 302
    window = db.session.query(MaintenanceWindow).one()
    assert (window.reason_zh, window.reason_en) == ("", "Pump swap")

    manage = client.get("/manage/bio-poc").get_data(as_text=True)
    unit_zh = client.get("/equipment/lcms-1").get_data(as_text=True)
    client.set_cookie("lang", "en")
    _in(world.mia, "en")
    unit_en = client.get("/equipment/lcms-1").get_data(as_text=True)

    marked = '<span lang="en">Pump swap</span> <span class="lang-tag">(英文原文)</span>'
    assert marked in manage and marked in unit_zh
    assert '<td class="maintenance-reason">Pump swap</td>' in unit_en


def test_a_reason_in_both_languages_shows_each_page_its_own(
    client: Any, login: Any, world: World
) -> None:
    login(world.mia)
    answer = client.post(
        "/api/v1/facilities/bio-poc/maintenance",
        json={
            "equipment": "lcms-1",
            "start": world.at(3).isoformat(),
            "end": world.at(3, "18:00").isoformat(),
            "reason_zh": "更换真空泵",
            "reason_en": "Pump swap",
        },
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["reason_zh"] == "更换真空泵"

    english = client.get("/equipment/lcms-1", headers={"Accept-Language": "en"})
    _in(world.mia, "zh")
    chinese = client.get("/equipment/lcms-1")

    assert "Pump swap" in english.get_data(as_text=True)
    assert "更换真空泵" not in english.get_data(as_text=True)
    assert "更换真空泵" in chinese.get_data(as_text=True)
    assert "Pump swap" not in chinese.get_data(as_text=True)


def test_maintenance_form_asks_for_a_reason_in_some_language(
    client: Any, login: Any, world: World
) -> None:
    login(world.mia)
    data = {
        "maintenance-equipment_id": world.lcms1.id,
        "maintenance-start": world.local(3, "09:00"),
        "maintenance-end": world.local(3, "18:00"),
        "maintenance-reason_zh": "  ",
        "maintenance-reason_en": "",
    }
    page = client.post("/manage/bio-poc/maintenance", data=data)

    assert page.status_code == 422
    assert "Say why, in Chinese, in English or in both." in html.unescape(
        page.get_data(as_text=True)
    )
    assert db.session.query(MaintenanceWindow).count() == 0
