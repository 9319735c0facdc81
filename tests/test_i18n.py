"""Which language a page, an error, a reminder and a feed speak, and how they write numbers.

A request's language is the user's setting, then the switch cookie, then the browser, then the
default (Chinese). Where there is no request, reminders and feeds speak their recipient's
language. The Chinese catalogue (app/translations) is compiled by tests/conftest.py."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import icalendar
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts.models import User
from app.booking.models import BookingRequest, RequestStatus
from app.dbtypes import utcnow
from app.extensions import db
from app.jobs import outbox
from app.jobs.models import OutboxMessage
from tests import factories
from tests.calendars.conftest import parse_strictly

FEED_LINK = re.compile(r"http://localhost/feeds/([A-Za-z0-9_-]{43})\.ics")


@pytest.fixture
def chinese_default(app: Flask) -> Flask:
    """The app as configured in production: Chinese unless someone chooses otherwise."""
    app.config["BABEL_DEFAULT_LOCALE"] = "zh"
    return app


def _page(client: FlaskClient, path: str = "/facilities", **headers: str) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _speaks(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', html)
    assert match, html[:200]
    if match.group(1) == "zh-CN":
        assert "平台目录" in html and "Catalogue" not in html
        return "zh"
    assert "Catalogue" in html and "平台目录" not in html
    return match.group(1)


def test_chinese_without_any_choice(chinese_default: Flask, client: FlaskClient) -> None:
    assert _speaks(_page(client)) == "zh"


def test_the_browsers_language_when_nobody_chose(
    chinese_default: Flask, client: FlaskClient
) -> None:
    assert _speaks(_page(client, **{"Accept-Language": "en-GB,en;q=0.9"})) == "en"
    assert _speaks(_page(client, **{"Accept-Language": "fr-FR,zh-CN;q=0.8"})) == "zh"


def test_the_switch_cookie_beats_the_browser(chinese_default: Flask, client: FlaskClient) -> None:
    client.set_cookie("lang", "zh")
    assert _speaks(_page(client, **{"Accept-Language": "en"})) == "zh"
    client.set_cookie("lang", "en")
    assert _speaks(_page(client, **{"Accept-Language": "zh-CN"})) == "en"


def test_the_users_setting_beats_cookie_and_browser(
    chinese_default: Flask, client: FlaskClient, login: Any
) -> None:
    login(factories.make_user(locale="en"))
    client.set_cookie("lang", "zh")
    assert _speaks(_page(client, **{"Accept-Language": "zh-CN"})) == "en"


def test_the_switch_is_remembered_on_the_account(
    chinese_default: Flask, client: FlaskClient, login: Any
) -> None:
    user = factories.make_user()
    login(user)
    assert _speaks(_page(client)) == "zh"

    switched = client.post("/lang/en", data={"next": "/facilities"})

    assert switched.status_code == 302 and switched.headers["Location"] == "/facilities"
    assert "lang=en" in switched.headers["Set-Cookie"]
    assert db.session.get(User, user.id).locale == "en"
    # Another browser, without the cookie, still gets the account's language.
    other = chinese_default.test_client()
    login(user, other)
    assert _speaks(_page(other)) == "en"


def test_api_problems_speak_the_callers_language(
    chinese_default: Flask, client: FlaskClient
) -> None:
    chinese = client.get("/api/v1/facilities/no-such-facility")
    english = client.get("/api/v1/facilities/no-such-facility", headers={"Accept-Language": "en"})

    assert chinese.status_code == english.status_code == 404
    assert chinese.mimetype == "application/problem+json"
    assert chinese.get_json()["title"] == "未找到"
    assert english.get_json()["title"] == "Not found"
    assert re.search(r"[\u4e00-\u9fff]", chinese.get_json()["detail"])
    assert not re.search(r"[\u4e00-\u9fff]", english.get_json()["detail"])


def test_an_unknown_address_is_a_404_page_in_the_language(
    chinese_default: Flask, client: FlaskClient
) -> None:
    chinese = client.get("/no/such/page")
    english = client.get("/no/such/page", headers={"Accept-Language": "en"})

    assert chinese.status_code == english.status_code == 404
    assert "404 · 未找到" in chinese.get_data(as_text=True)
    assert "此地址没有对应的页面" in chinese.get_data(as_text=True)
    assert "404 · Not found" in english.get_data(as_text=True)
    assert "There is no page at this address" in english.get_data(as_text=True)
    assert "requested URL" not in english.get_data(as_text=True)


def test_form_errors_beside_the_field_speak_the_language(
    chinese_default: Flask, client: FlaskClient
) -> None:
    factories.make_user(email="li@example.org")
    wrong = {"email": "li@example.org", "password": "not the password"}
    chinese = client.post("/login", data=wrong).get_data(as_text=True)
    english = client.post("/login", data=wrong, headers={"Accept-Language": "en"})

    assert "电子邮箱或密码错误" in chinese
    assert "Email or password is wrong." in english.get_data(as_text=True)
    empty = client.post("/login", data={"email": "", "password": ""}).get_data(as_text=True)
    # WTForms' own messages come from its bundled Chinese catalogue.
    assert "该字段是必填字段" in empty or "此字段必填" in empty, empty


def test_dates_and_numbers_are_written_the_languages_way(
    chinese_default: Flask, client: FlaskClient, login: Any
) -> None:
    facility = factories.make_facility(slug="rates")
    factories.make_equipment(facility, slug="costly", hourly_rate_cny=1234.5)
    login(factories.make_user())

    month_zh = _page(client, "/calendars/month?month=2027-03")
    month_en = _page(client, "/calendars/month?month=2027-03", **{"Accept-Language": "en"})
    client.set_cookie("lang", "en")
    unit_en = _page(client, "/equipment/costly")
    client.set_cookie("lang", "zh")
    unit_zh = _page(client, "/equipment/costly")

    assert "2027年3月" in month_zh and "周一" in month_zh
    assert "March 2027" in month_en and "Mon" in month_en
    assert "1,234.50" in unit_en and "1,234.50" in unit_zh
    assert "CNY per hour" in unit_en and "CNY per hour" not in unit_zh


def _campaign(project: Any, unit: Any, other_unit: Any, by: User) -> BookingRequest:
    """Store a published two-step campaign starting tomorrow, as an approved proposal would."""
    start = (utcnow() + timedelta(hours=20)).replace(minute=0, second=0, microsecond=0)
    request = factories.make_campaign(
        project,
        (unit, other_unit),
        by=by,
        durations=(120, 120),
        title="Ferment then purify",
        earliest_start=start,
        deadline=start + timedelta(days=2),
        status=RequestStatus.BOOKED.value,
    )
    for position, step in enumerate(request.steps):
        step_start = start + timedelta(hours=3 * position)
        factories.make_booking(
            project,
            step.units[0],
            step_start,
            step_start + timedelta(hours=2),
            request=request,
            step_index=position,
            lane=0,
        )
    return request


@pytest.fixture
def campaign_world(chinese_default: Flask) -> dict[str, Any]:
    facility = factories.make_facility(name_zh="江北中试基地", name_en="Jiangbei Pilot Base")
    reactor = factories.make_equipment(facility, name_zh="生物反应器", name_en="Bioreactor")
    column = factories.make_equipment(facility, name_zh="层析系统", name_en="Chromatography")
    project = factories.make_project(name="Helix Bio")
    people = {
        "zh": factories.make_user(name="Li", locale="zh", projects=(project,)),
        "en": factories.make_user(name="Ann", locale="en", projects=(project,)),
        "unset": factories.make_user(name="Wu", locale=None, projects=(project,)),
    }
    _campaign(project, reactor, column, people["zh"])
    return {"project": project, **people}


def test_reminders_speak_their_recipients_language(campaign_world: dict[str, Any]) -> None:
    assert outbox.queue_booking_reminders(utcnow()) == 6
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    by_user: dict[int, list[OutboxMessage]] = {}
    for message in messages:
        by_user.setdefault(message.user_id, []).append(message)

    for language in ("zh", "unset"):
        for message in by_user[campaign_world[language].id]:
            assert message.subject.startswith("提醒：")
            assert "您好" in message.body and "本提醒由 Pilotslot 发送" in message.body
            assert "江北中试基地" in message.body and "Jiangbei" not in message.body
            assert "年" in message.subject
    for message in by_user[campaign_world["en"].id]:
        assert message.subject.startswith("Reminder: ")
        assert "Hello Ann," in message.body and "This reminder was sent by Pilotslot." in (
            message.body
        )
        assert "Jiangbei Pilot Base" in message.body and "江北" not in message.body


def _feed_for(client: FlaskClient, login: Any, user: User, project_id: int) -> Any:
    login(user)
    # No language chosen on the form: the link speaks its owner's language.
    created = client.post("/calendars/links", data={"kind": "project", "target_id": project_id})
    assert created.status_code == 200, created.get_data(as_text=True)
    token = FEED_LINK.search(created.get_data(as_text=True))
    assert token, "no feed link on the page"
    client.post("/logout")
    response = client.get(f"/feeds/{token.group(1)}.ics")
    assert response.status_code == 200
    return parse_strictly(response.data)


def test_feeds_speak_their_owners_language(
    campaign_world: dict[str, Any], client: FlaskClient, login: Any
) -> None:
    project_id = campaign_world["project"].id
    chinese = _feed_for(client, login, campaign_world["zh"], project_id)
    english = _feed_for(client, login, campaign_world["en"], project_id)

    zh_events = sorted(chinese.walk("VEVENT"), key=lambda e: e.decoded("DTSTART"))
    en_events = sorted(english.walk("VEVENT"), key=lambda e: e.decoded("DTSTART"))
    assert [str(e["SUMMARY"]) for e in zh_events] == [
        "生物反应器 · Ferment then purify",
        "层析系统 · Ferment then purify",
    ]
    assert [str(e["SUMMARY"]) for e in en_events] == [
        "Bioreactor · Ferment then purify",
        "Chromatography · Ferment then purify",
    ]
    zh_description = str(zh_events[1]["DESCRIPTION"])
    en_description = str(en_events[1]["DESCRIPTION"])
    assert "设备：层析系统" in zh_description and "第 2 步，共 2 步" in zh_description
    assert "Equipment: Chromatography" in en_description and "Step 2 of 2" in en_description
    assert str(zh_events[0]["LOCATION"]).startswith("江北中试基地")
    assert str(en_events[0]["LOCATION"]).startswith("Jiangbei Pilot Base")
    assert isinstance(chinese, icalendar.Calendar)


def test_a_user_without_a_setting_gets_chinese_feeds(
    campaign_world: dict[str, Any], client: FlaskClient, login: Any
) -> None:
    feed = _feed_for(client, login, campaign_world["unset"], campaign_world["project"].id)

    descriptions = [str(e["DESCRIPTION"]) for e in feed.walk("VEVENT")]
    assert descriptions and all("设备：" in d for d in descriptions)


def test_catalogue_file_problems_speak_the_language(app: Flask) -> None:
    from flask_babel import force_locale

    from app.catalog.schema import read

    text = "version: 1\ncapabilities: {}\n"
    text += "centres:\n  - id: Not A Slug\n    name_zh: 中心\n    name_en: Centre\n"
    text += "facilities: []\n"
    for language, expected in (
        ("zh", "必须是 slug：仅含小写字母、数字和单个连字符"),
        ("en", "must be a slug: lower-case letters, digits and single hyphens"),
    ):
        with force_locale(language):
            catalogue, problems = read(text, "facilities.yaml")
        assert catalogue is None
        assert [p.message for p in problems.items] == [expected]
