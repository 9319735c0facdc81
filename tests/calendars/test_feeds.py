"""Feeds over HTTP: content both parsers accept, stable identities, revocable links, caching."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.calendars.feeds import CANCELLED_KEPT_DAYS
from app.dbtypes import utcnow
from tests.calendars.conftest import (
    ONE_HOUR,
    UID_DOMAIN,
    cancel,
    icaljs,
    issue,
    make_booking,
    make_draft_proposal,
    make_maintenance,
    make_request,
    parse_strictly,
    reschedule,
    utc_z,
)
from tests.factories import at


def test_project_feed_is_valid_for_icalendar_and_icaljs(client, team, tmp_path: Path) -> None:
    first = make_booking(
        team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00")
    )
    second = make_booking(team.project, team.lcms, at("2027-03-02 02:00"), at("2027-03-02 03:30"))
    url = issue(team.member, "project", team.project.id)

    response = client.get(url)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    calendar = parse_strictly(response.data)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == [
        f"booking-{first.id}@{UID_DOMAIN}",
        f"booking-{second.id}@{UID_DOMAIN}",
    ]
    parsed = icaljs(response.data, tmp_path)
    assert parsed["calendar"]["refresh"] == "PT1H"
    assert [(e["uid"], e["start_utc"], e["end_utc"]) for e in parsed["events"]] == [
        (f"booking-{b.id}@{UID_DOMAIN}", utc_z(b.start), utc_z(b.end)) for b in (first, second)
    ]
    event = parsed["events"][0]
    assert event["status"] == "CONFIRMED"
    assert event["summary"] == "Bioreactor 50L · Peptide batch"
    assert event["location"] == "Jiangbei Pilot Base, 1 Pilot Road, Nanjing"
    assert "Li Wei, liwei@example.cn" in event["description"]
    assert event["url"].startswith("http://localhost/")


def test_feed_text_follows_the_subscribers_language(client, team) -> None:
    make_booking(team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"))
    chinese = client.get(issue(team.member, "project", team.project.id, locale="zh"))
    english = client.get(issue(team.manager, "facility", team.facility.id, locale="en"))

    assert "50升生物反应器" in chinese.get_data(as_text=True)
    assert "江北中试基地" in chinese.get_data(as_text=True)
    assert "Bioreactor 50L" in english.get_data(as_text=True)
    assert "50升" not in english.get_data(as_text=True)


def test_same_data_gives_identical_bytes(client, team) -> None:
    make_booking(team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"))
    make_maintenance(team.reactor, at("2027-03-03 01:00"), at("2027-03-03 09:00"))
    url = issue(team.manager, "equipment", team.reactor.id)

    first, second = client.get(url), client.get(url)

    assert first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"]
    assert b"DTSTAMP:20270101T000000Z" in first.data


def test_reschedule_keeps_the_uid_and_raises_the_sequence(client, team, tmp_path: Path) -> None:
    booking = make_booking(
        team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00")
    )
    url = issue(team.member, "project", team.project.id)
    before = icaljs(client.get(url).data, tmp_path)["events"][0]

    reschedule(booking, at("2027-03-04 02:00"), at("2027-03-04 06:00"), at("2027-02-10 12:00"))
    after = icaljs(client.get(url).data, tmp_path)["events"][0]

    assert after["uid"] == before["uid"] == f"booking-{booking.id}@{UID_DOMAIN}"
    assert (before["sequence"], after["sequence"]) == (0, 1)
    assert (after["start_utc"], after["end_utc"]) == (
        "2027-03-04T02:00:00Z",
        "2027-03-04T06:00:00Z",
    )


def test_cancelled_booking_stays_cancelled_for_30_days_then_goes(client, team, tmp_path) -> None:
    kept = make_booking(team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"))
    gone = make_booking(team.project, team.lcms, at("2027-03-02 01:00"), at("2027-03-02 05:00"))
    cancel(kept, utcnow() - timedelta(days=CANCELLED_KEPT_DAYS - 1))
    cancel(gone, utcnow() - timedelta(days=CANCELLED_KEPT_DAYS + 1))

    response = client.get(issue(team.member, "project", team.project.id))

    events = icaljs(response.data, tmp_path)["events"]
    assert [(e["uid"], e["status"], e["sequence"]) for e in events] == [
        (f"booking-{kept.id}@{UID_DOMAIN}", "CANCELLED", 1)
    ]
    assert events[0]["transp"] == "TRANSPARENT"


def test_times_cross_a_dst_change_in_berlin(
    client, make_facility, make_equipment, make_project, make_user, tmp_path: Path
) -> None:
    facility = make_facility(timezone="Europe/Berlin", name_en="Berlin Lab")
    unit = make_equipment(facility)
    project = make_project()
    member = make_user(projects=(project,))
    # Winter time, the night clocks go forward (28 March 2027), and summer time.
    spans = [
        (at("2027-03-27 08:00"), at("2027-03-27 10:00")),
        (at("2027-03-28 00:30"), at("2027-03-28 03:00")),
        (at("2027-07-01 07:00"), at("2027-07-01 09:00")),
    ]
    for start, end in spans:
        make_booking(project, unit, start, end)

    body = client.get(issue(member, "project", project.id)).data

    assert b"DTSTART;TZID=Europe/Berlin:20270328T013000" in body
    assert b"DTEND;TZID=Europe/Berlin:20270328T050000" in body
    assert b"DTSTART;TZID=Europe/Berlin:20270701T090000" in body
    assert b"BEGIN:DAYLIGHT" in body
    parse_strictly(body)
    events = icaljs(body, tmp_path)["events"]
    assert [(e["start_utc"], e["end_utc"]) for e in events] == [
        (utc_z(start), utc_z(end)) for start, end in spans
    ]


def test_times_in_shanghai_have_no_daylight_saving(client, team, tmp_path: Path) -> None:
    booking = make_booking(
        team.project, team.reactor, at("2027-07-01 01:00"), at("2027-07-01 09:30")
    )

    body = client.get(issue(team.member, "user", team.member.id)).data

    assert b"DTSTART;TZID=Asia/Shanghai:20270701T090000" in body
    assert b"DTEND;TZID=Asia/Shanghai:20270701T173000" in body
    assert b"BEGIN:DAYLIGHT" not in body
    event = icaljs(body, tmp_path)["events"][0]
    assert (event["start_utc"], event["end_utc"]) == (utc_z(booking.start), utc_z(booking.end))


def test_campaign_steps_say_which_step_they_are(client, team, tmp_path: Path) -> None:
    campaign = make_request(team.project, [team.reactor, team.lcms], title="Pilot run 3")
    make_booking(
        team.project,
        team.reactor,
        at("2027-03-01 01:00"),
        at("2027-03-01 05:00"),
        request=campaign,
        step_index=0,
    )
    make_booking(
        team.project,
        team.lcms,
        at("2027-03-01 06:00"),
        at("2027-03-01 07:00"),
        request=campaign,
        step_index=1,
    )

    events = icaljs(client.get(issue(team.member, "project", team.project.id)).data, tmp_path)

    assert ["Step 1 of 2" in e["description"] for e in events["events"]] == [True, False]
    assert "Step 2 of 2" in events["events"][1]["description"]


def test_maintenance_appears_in_unit_and_facility_feeds_only(client, team, tmp_path) -> None:
    window = make_maintenance(team.reactor, at("2027-03-03 01:00"), at("2027-03-03 09:00"))
    make_booking(team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"))

    unit_feed = icaljs(
        client.get(issue(team.manager, "equipment", team.reactor.id)).data, tmp_path
    )
    facility_feed = client.get(issue(team.manager, "facility", team.facility.id)).data
    team_feed = client.get(issue(team.member, "project", team.project.id)).data

    uid = f"maintenance-{window.id}@{UID_DOMAIN}"
    assert uid in [e["uid"] for e in unit_feed["events"]]
    maintenance = next(e for e in unit_feed["events"] if e["uid"] == uid)
    assert maintenance["transp"] == "OPAQUE" and maintenance["summary"].startswith("Maintenance")
    assert uid.encode() in facility_feed
    assert b"maintenance-" not in team_feed
    parse_strictly(facility_feed)


def test_manager_feeds_name_the_projects(client, team) -> None:
    make_booking(team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"))

    body = client.get(issue(team.manager, "facility", team.facility.id)).get_data(as_text=True)

    assert "Helix Bio" in body


def test_draft_proposal_items_are_tentative_in_the_team_feeds_only(
    client, team, tmp_path: Path
) -> None:
    request = make_request(team.project, [team.lcms], title="Metabolite screen", status="pending")
    make_draft_proposal(
        team.facility,
        [(request.steps[0], team.lcms, at("2027-03-05 02:00"), at("2027-03-05 02:00") + ONE_HOUR)],
    )

    events = icaljs(client.get(issue(team.member, "user", team.member.id)).data, tmp_path)
    manager_feed = client.get(issue(team.manager, "facility", team.facility.id)).data

    (event,) = events["events"]
    assert event["uid"] == f"proposal-step-{request.steps[0].id}@{UID_DOMAIN}"
    assert event["status"] == "TENTATIVE"
    assert event["summary"].startswith("Proposed: ")
    assert b"proposal-step-" not in manager_feed


def test_a_later_proposal_moves_the_tentative_event(client, team, tmp_path: Path) -> None:
    request = make_request(team.project, [team.lcms], status="pending")
    step = request.steps[0]
    make_draft_proposal(
        team.facility, [(step, team.lcms, at("2027-03-05 02:00"), at("2027-03-05 03:00"))]
    )
    make_draft_proposal(
        team.facility, [(step, team.lcms, at("2027-03-06 02:00"), at("2027-03-06 03:00"))]
    )

    events = icaljs(client.get(issue(team.member, "project", team.project.id)).data, tmp_path)

    assert [(e["uid"], e["start_utc"]) for e in events["events"]] == [
        (f"proposal-step-{step.id}@{UID_DOMAIN}", "2027-03-06T02:00:00Z")
    ]


def test_empty_feed_is_still_a_valid_calendar(client, team, tmp_path: Path) -> None:
    body = client.get(issue(team.member, "project", team.project.id)).data

    calendar = parse_strictly(body)
    assert calendar.walk("VTIMEZONE") and not calendar.walk("VEVENT")
    assert icaljs(body, tmp_path)["events"] == []


def test_public_base_url_names_the_links_but_not_the_uids(
    app, client, team, tmp_path: Path
) -> None:
    booking = make_booking(
        team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00")
    )
    url = issue(team.member, "project", team.project.id)
    local_etag = client.get(url).headers["ETag"]
    app.config["PUBLIC_BASE_URL"] = "https://pilotslot.example/"

    response = client.get(url, headers={"If-None-Match": local_etag})

    assert response.status_code == 200
    (event,) = icaljs(response.data, tmp_path)["events"]
    assert event["uid"] == f"booking-{booking.id}@{UID_DOMAIN}"
    assert event["url"] == f"https://pilotslot.example/bookings/{booking.id}"


def test_uids_stay_the_same_whichever_host_name_the_feed_is_read_by(
    app, client, team, tmp_path: Path
) -> None:
    # Each new UID would be a second copy of the booking in a subscriber's calendar.
    booking = make_booking(
        team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00")
    )
    window = make_maintenance(team.reactor, at("2027-03-03 01:00"), at("2027-03-03 05:00"))
    url = issue(team.manager, "equipment", team.reactor.id)
    expected = {f"booking-{booking.id}@{UID_DOMAIN}", f"maintenance-{window.id}@{UID_DOMAIN}"}

    bodies = [
        client.get(url, base_url="http://pilot.example.cn").data,
        client.get(url, base_url="https://10.0.0.7:8443").data,
    ]
    app.config["PUBLIC_BASE_URL"] = "https://pilotslot.example/"
    bodies.append(client.get(url, base_url="http://localhost").data)

    for body in bodies:
        assert {str(e["UID"]) for e in parse_strictly(body).walk("VEVENT")} == expected
        assert {e["uid"] for e in icaljs(body, tmp_path)["events"]} == expected


def test_an_operator_keeps_the_uids_subscribers_already_have(
    app, client, team, tmp_path: Path
) -> None:
    # Feeds served before the fixed domain said "@<the host they were read by>"; naming that
    # host as the UID domain keeps those UIDs, and a change of it changes the feed's ETag.
    booking = make_booking(
        team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00")
    )
    url = issue(team.member, "project", team.project.id)
    etag = client.get(url).headers["ETag"]
    app.config["CALENDAR_UID_DOMAIN"] = "pilot.example.cn"

    response = client.get(url, headers={"If-None-Match": etag})

    assert response.status_code == 200
    (event,) = icaljs(response.data, tmp_path)["events"]
    assert event["uid"] == f"booking-{booking.id}@pilot.example.cn"


def test_uid_domain_comes_from_the_environment_and_is_checked() -> None:
    from app.config import ConfigError, from_environment

    assert from_environment({})["CALENDAR_UID_DOMAIN"] == UID_DOMAIN
    config = from_environment({"PILOTSLOT_UID_DOMAIN": "Pilot.Example.CN"})
    assert config["CALENDAR_UID_DOMAIN"] == "pilot.example.cn"
    # A line break would let the setting write its own iCalendar lines.
    for bad in ("pilot example", "x\r\nUID:evil", "https://pilot.example.cn/", "-x.cn"):
        with pytest.raises(ConfigError, match="PILOTSLOT_UID_DOMAIN"):
            from_environment({"PILOTSLOT_UID_DOMAIN": bad})


def test_feeds_give_maintenance_and_places_in_the_feeds_language(client, team) -> None:
    make_maintenance(
        team.reactor,
        at("2027-03-03 01:00"),
        at("2027-03-03 09:00"),
        reason_zh="更换真空泵",
        reason_en="",
    )
    make_booking(team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"))

    def unfolded(locale: str, kind: str, target: int, user) -> str:
        body = client.get(issue(user, kind, target, locale=locale)).get_data(as_text=True)
        return body.replace("\r\n ", "")

    english = unfolded("en", "equipment", team.reactor.id, team.manager)
    chinese = unfolded("zh", "equipment", team.reactor.id, team.manager)
    team_en = unfolded("en", "project", team.project.id, team.member)
    team_zh = unfolded("zh", "project", team.project.id, team.member)

    assert "更换真空泵 (in Chinese)" in english
    assert "更换真空泵" in chinese and "(in Chinese)" not in chinese
    assert "1 Pilot Road" in team_en and "南京市中试路1号" not in team_en
    assert "南京市中试路1号" in team_zh and "Li Wei" not in team_zh
