"""The facility page's content kept per catalogue version, language and variant: read once,
never carrying one visitor's menu, CSRF token or language to another, renewed by a write and
when the facility's day turns."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.catalog import views
from app.catalog.models import Facility
from app.catalog.sync import SyncReport
from app.dbtypes import utcnow
from tests.statements import recorded_statements

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh"}
PAGE = "/facilities/alpha-poc"


def _catalogue_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM facilities" in s or "FROM equipment" in s]


def _csrf_tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', html))


def test_a_repeated_facility_page_does_not_read_the_catalogue_again(
    client: FlaskClient, synced: SyncReport
) -> None:
    first = client.get(PAGE, headers=EN)
    with recorded_statements() as statements:
        second = client.get(PAGE, headers=EN)

    assert second.status_code == 200
    assert second.get_data(as_text=True) == first.get_data(as_text=True)
    assert _catalogue_reads(statements) == []


def test_each_visitor_gets_their_own_menu_and_csrf_token_around_the_kept_content(
    app: Flask, synced: SyncReport, make_user: Any, login: Any
) -> None:
    wu = make_user(name="Wu Anna", locale="en")
    li = make_user(name="Li Bo", locale="en")
    first, second, anonymous = app.test_client(), app.test_client(), app.test_client()
    login(wu, first)
    login(li, second)

    wu_page = first.get(PAGE).get_data(as_text=True)
    li_page = second.get(PAGE).get_data(as_text=True)
    anonymous_page = anonymous.get(PAGE, headers=EN).get_data(as_text=True)

    assert "Wu Anna" in wu_page and "Li Bo" not in wu_page
    assert "Li Bo" in li_page and "Wu Anna" not in li_page
    assert "Wu Anna" not in anonymous_page and "Li Bo" not in anonymous_page
    assert "Log out" in li_page and "Log out" not in anonymous_page
    assert 'href="/login"' in anonymous_page
    # The same content in all three, each inside its own visitor's page.
    for page in (wu_page, li_page, anonymous_page):
        assert "Alpha Proof-of-Concept Centre" in page and 'id="unit-alpha-lcms"' in page
    tokens = [_csrf_tokens(p) for p in (wu_page, li_page, anonymous_page)]
    assert all(len(t) == 1 for t in tokens)
    assert len(set.union(*tokens)) == 3


def test_each_language_gets_its_own_page(client: FlaskClient, synced: SyncReport) -> None:
    english = client.get(PAGE, headers=EN).get_data(as_text=True)
    chinese = client.get(PAGE, headers=ZH).get_data(as_text=True)
    english_again = client.get(PAGE, headers=EN).get_data(as_text=True)

    assert "Alpha Proof-of-Concept Centre" in english and "王老师" not in english
    assert "王老师" in chinese and "Ms Wang" not in chinese
    assert '<html lang="zh-CN">' in chinese and "Spring Festival" not in chinese
    assert english_again == english.replace(*_csrf_pair(english, english_again))


def _csrf_pair(before: str, after: str) -> tuple[str, str]:
    (old,) = _csrf_tokens(before)
    (new,) = _csrf_tokens(after)
    return old, new


def test_a_users_language_setting_picks_the_page_not_the_last_visitors(
    app: Flask, synced: SyncReport, make_user: Any, login: Any
) -> None:
    reader = app.test_client()
    login(make_user(locale="zh"), reader)
    english_visitor = app.test_client()

    english = english_visitor.get(PAGE, headers=EN).get_data(as_text=True)
    chinese = reader.get(PAGE, headers=EN).get_data(as_text=True)

    assert "Ms Wang" in english
    assert "王老师" in chinese and "Ms Wang" not in chinese


def test_a_catalogue_write_changes_the_kept_page_at_once(
    client: FlaskClient, db: Any, synced: SyncReport
) -> None:
    before = client.get(PAGE, headers=EN).get_data(as_text=True)
    facility = db.session.scalar(select(Facility).where(Facility.slug == "alpha-poc"))
    facility.name_en = "Alpha Renamed"
    facility.equipment[0].name_en = "Renamed unit"
    db.session.commit()

    after = client.get(PAGE, headers=EN).get_data(as_text=True)

    assert "Alpha Renamed" not in before
    assert "<title>Alpha Renamed · Pilotslot</title>" in after
    assert "Renamed unit" in after


def test_a_write_outside_the_catalogue_keeps_the_page(
    client: FlaskClient, make_project: Any, synced: SyncReport
) -> None:
    client.get(PAGE, headers=EN)
    make_project()
    with recorded_statements() as statements:
        assert client.get(PAGE, headers=EN).status_code == 200

    assert _catalogue_reads(statements) == []


def test_the_retired_units_variant_is_kept_apart(client: FlaskClient, synced: SyncReport) -> None:
    plain = client.get(PAGE, headers=EN).get_data(as_text=True)
    with_retired = client.get(f"{PAGE}?retired=1", headers=EN).get_data(as_text=True)
    plain_again = client.get(PAGE, headers=EN).get_data(as_text=True)

    assert 'id="unit-alpha-old"' not in plain and 'id="unit-alpha-old"' not in plain_again
    assert 'id="unit-alpha-old"' in with_retired


def test_a_closure_leaves_the_kept_page_when_its_day_is_over(
    client: FlaskClient, make_facility: Any, monkeypatch: Any
) -> None:
    # A closure's dates are the facility's local days (Asia/Shanghai), not UTC's.
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    closure = {"from": str(today), "to": str(today), "reason_zh": "今天", "reason_en": "Today"}
    facility = make_facility(closures=[closure])
    url = f"/facilities/{facility.slug}"
    assert "Today" in client.get(url, headers=EN).get_data(as_text=True)

    tomorrow = utcnow() + timedelta(days=1)
    monkeypatch.setattr(views, "utcnow", lambda: tomorrow)

    assert "Today" not in client.get(url, headers=EN).get_data(as_text=True)


def test_unknown_facilities_are_not_kept(client: FlaskClient, synced: SyncReport) -> None:
    assert client.get("/facilities/nowhere").status_code == 404
    assert client.get("/facilities/nowhere").status_code == 404
