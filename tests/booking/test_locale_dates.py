"""Dates on the request pages follow each language's own patterns, never English word order."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.extensions import db
from tests.booking.pages_world import World, build_world
from tests.booking.test_pages import make_request


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


def test_request_page_dates_read_month_then_day_in_chinese(
    client: Any, login: Any, world: World
) -> None:
    req = make_request(world)
    world.alice.locale = "zh"
    db.session.commit()
    login(world.alice)
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    start = world.at(0)
    assert f"{start.month}月{start.day}日 09:00" in page
    # "8 12月" and "于 4 12月 2026": a day number before a Chinese month name.
    assert not re.search(r"\b\d{1,2} \d{1,2}月", page)


def test_request_page_dates_in_english_name_the_month(
    client: Any, login: Any, world: World
) -> None:
    req = make_request(world)
    login(world.alice)
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    start = world.at(0)
    assert f"{start:%b} {start.day}, 09:00" in page


def test_manager_lists_write_dates_the_chinese_way(client: Any, login: Any, world: World) -> None:
    make_request(world)
    world.mia.locale = "zh"
    db.session.commit()
    login(world.mia)
    page = client.get("/requests").get_data(as_text=True)
    start = world.at(0)
    assert f"{start.month}月{start.day}日" in page
    assert not re.search(r"\b\d{1,2} \d{1,2}月", page)
