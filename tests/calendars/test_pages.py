"""The feeds page, one booking as .ics, and the week and month calendars."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.calendars.models import FeedToken
from app.extensions import db
from tests.calendars.conftest import UID_DOMAIN, icaljs, make_booking, parse_strictly
from tests.factories import at

LINK = re.compile(r"(webcal|https?)://localhost/feeds/([A-Za-z0-9_-]{43})\.ics")


def _create_link(client, kind: str, target_id: int, locale: str = "en"):
    return client.post(
        "/calendars/links", data={"kind": kind, "target_id": target_id, "locale": locale}
    )


def test_feeds_page_lists_the_users_calendars(client, login, team) -> None:
    login(team.member)

    page = client.get("/calendars").get_data(as_text=True)

    assert "All my projects" in page and "Helix Bio" in page
    assert "Jiangbei Pilot Base" not in page
    assert "No link yet" in page


def test_managers_see_their_facility_and_units(client, login, team) -> None:
    login(team.manager)

    page = client.get("/calendars").get_data(as_text=True)

    assert "Bioreactor 50L" in page or "50升生物反应器" in page
    assert 'value="facility"' in page and 'value="equipment"' in page


def test_new_link_is_shown_once_as_webcal_and_web_address(client, login, team) -> None:
    login(team.member)

    created = _create_link(client, "project", team.project.id)

    page = created.get_data(as_text=True)
    assert created.status_code == 200
    links = LINK.findall(page)
    assert {scheme for scheme, _token in links} == {"webcal", "http"}
    assert len({token for _scheme, token in links}) == 1
    assert 'data-copy="feed-webcal"' in page and "calendars.js" in page
    raw = links[0][1]
    assert client.get(f"/feeds/{raw}.ics").status_code == 200
    later = client.get("/calendars").get_data(as_text=True)
    assert raw not in later and "Link active since" in later and "Rotate link" in later


def test_rotating_on_the_page_shows_a_new_link_and_kills_the_old(client, login, team) -> None:
    login(team.member)
    old = LINK.findall(_create_link(client, "project", team.project.id).get_data(as_text=True))
    new = LINK.findall(_create_link(client, "project", team.project.id).get_data(as_text=True))

    assert old[0][1] != new[0][1]
    assert client.get(f"/feeds/{old[0][1]}.ics").status_code == 404
    assert client.get(f"/feeds/{new[0][1]}.ics").status_code == 200


def test_revoking_on_the_page_kills_the_link(client, login, team) -> None:
    login(team.member)
    raw = LINK.findall(_create_link(client, "project", team.project.id).get_data(as_text=True))
    token_id = db.session.scalar(select(FeedToken.id))

    response = client.post(f"/calendars/links/{token_id}/revoke")

    assert response.status_code == 302
    assert client.get(f"/feeds/{raw[0][1]}.ics").status_code == 404
    assert "No link yet" in client.get("/calendars").get_data(as_text=True)


def test_bad_language_is_shown_beside_the_language_field(client, login, team) -> None:
    login(team.member)

    response = _create_link(client, "project", team.project.id, locale="fr")

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    row = page[page.index(f'id="feed-project-{team.project.id}"') :]
    assert 'class="error" id="locale-project-' in row.split("</tr>")[0]
    assert db.session.scalar(select(db.func.count(FeedToken.id))) == 0


def test_the_link_speaks_the_chosen_language(client, login, team) -> None:
    make_booking(team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"))
    login(team.member)
    raw = LINK.findall(
        _create_link(client, "project", team.project.id, locale="zh").get_data(as_text=True)
    )

    assert "50升生物反应器" in client.get(f"/feeds/{raw[0][1]}.ics").get_data(as_text=True)


def test_feeds_page_needs_a_login(client) -> None:
    assert client.get("/calendars").location == "/login?next=/calendars"


def test_navigation_offers_calendars(client, login, team) -> None:
    login(team.member)

    assert 'href="/calendars"' in client.get("/calendars/week").get_data(as_text=True)


def test_one_booking_downloads_as_ics(client, login, team, tmp_path: Path) -> None:
    booking = make_booking(
        team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00")
    )
    login(team.member)

    response = client.get(f"/bookings/{booking.id}.ics")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert f'filename="booking-{booking.id}.ics"' in response.headers["Content-Disposition"]
    parse_strictly(response.data)
    (event,) = icaljs(response.data, tmp_path)["events"]
    assert event["uid"] == f"booking-{booking.id}@{UID_DOMAIN}"
    assert event["start_utc"] == "2027-03-01T01:00:00Z"


def test_booking_ics_is_404_to_other_startups_and_other_managers(
    client, login, team, make_user, make_project, make_facility
) -> None:
    booking = make_booking(
        team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00")
    )
    outsiders = [make_user(projects=(make_project(),)), make_user(manages=(make_facility(),))]
    for outsider in outsiders:
        login(outsider)
        response = client.get(f"/bookings/{booking.id}.ics")
        assert response.status_code == 404
        assert b"Peptide" not in response.data
    login(team.manager)
    assert client.get(f"/bookings/{booking.id}.ics").status_code == 200
    assert client.get("/bookings/999999.ics").status_code == 404


def test_week_shows_the_teams_bookings_in_local_time(client, login, team, make_project) -> None:
    make_booking(
        team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"), title="Ours"
    )
    make_booking(
        make_project(), team.lcms, at("2027-03-01 01:00"), at("2027-03-01 05:00"), title="Theirs"
    )
    login(team.member)

    page = client.get("/calendars/week?date=2027-03-03").get_data(as_text=True)

    assert "Week of Mar 1, 2027" in page
    assert "Ours" in page and "09:00–13:00" in page
    assert "Theirs" not in page
    assert "date=2027-02-22" in page and "date=2027-03-08" in page


def test_long_run_shows_on_every_day_it_takes(client, login, team) -> None:
    make_booking(
        team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-03 01:00"), title="Run"
    )
    login(team.member)

    page = client.get("/calendars/week?date=2027-03-01").get_data(as_text=True)

    # 09:00 on the 1st to 09:00 on the 3rd, Nanjing time: three days.
    assert page.count('class="calendar-entry"') == 3


def test_month_shows_the_teams_bookings(client, login, team) -> None:
    make_booking(
        team.project, team.reactor, at("2027-03-15 01:00"), at("2027-03-15 02:00"), title="Mid"
    )
    make_booking(
        team.project, team.reactor, at("2027-05-15 01:00"), at("2027-05-15 02:00"), title="Later"
    )
    login(team.member)

    page = client.get("/calendars/month?month=2027-03").get_data(as_text=True)

    assert "March 2027" in page and "Mid" in page and "Later" not in page
    assert "month=2027-02" in page and "month=2027-04" in page


def test_bad_dates_are_400_naming_the_parameter(client, login, team) -> None:
    login(team.member)

    week = client.get("/calendars/week?date=2027-13-01")
    month = client.get("/calendars/month?month=March")

    assert week.status_code == 400 and "YYYY-MM-DD" in week.get_data(as_text=True)
    assert month.status_code == 400 and "YYYY-MM" in month.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "gone"),
    [
        ("/calendars/month?month=2000-01", "prev"),
        ("/calendars/month?month=2100-12", "next"),
        ("/calendars/week?date=2000-01-05", "prev"),
        ("/calendars/week?date=2100-12-29", "next"),
    ],
)
def test_the_calendar_offers_no_link_past_the_supported_dates(
    client, login, team, path, gone
) -> None:
    """Finding: at the range's ends the previous/next link led to a 400 page."""
    login(team.member)
    page = client.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'rel="{gone}"' not in text
    kept = "next" if gone == "prev" else "prev"
    link = re.search(rf'<a href="([^"]+)" rel="{kept}"', text)
    assert link is not None
    assert client.get(link.group(1).replace("&amp;", "&")).status_code == 200
