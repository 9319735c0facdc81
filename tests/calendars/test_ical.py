"""The pure serialiser: escaping, folding, time zones, determinism (no app, no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from app.calendars.ical import (
    CONFIRMED,
    FeedBooking,
    FeedMaintenance,
    bookings_to_ical,
    escape_text,
    fold,
    vtimezone_lines,
)
from tests.calendars.conftest import icaljs, parse_strictly, utc_z


def _booking(**overrides: object) -> FeedBooking:
    values: dict[str, object] = {
        "key": "booking-1",
        "start": datetime(2027, 3, 1, 1, tzinfo=UTC),
        "end": datetime(2027, 3, 1, 5, tzinfo=UTC),
        "timezone": "Asia/Shanghai",
        "sequence": 0,
        "updated_at": datetime(2027, 2, 1, tzinfo=UTC),
        "status": CONFIRMED,
        "equipment_name": "LC-MS",
        "title": "Peptide batch",
        "facility_name": "Jiangbei Pilot Base",
        "booking_id": 1,
    }
    values.update(overrides)
    return FeedBooking(**values)  # type: ignore[arg-type]


def _ical(bookings: list[FeedBooking], **kwargs: object) -> bytes:
    options: dict[str, object] = {"name": "Test", "locale": "en", "uid_domain": "example.org"}
    options.update(kwargs)
    return bookings_to_ical(bookings, **options)  # type: ignore[arg-type]


def test_text_is_escaped_and_survives_a_round_trip() -> None:
    title = 'Batch 7; pH 6,5 \\ "quoted"\nsecond line\x07'

    body = _ical([_booking(title=title)])

    event = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == f"LC-MS · {title[:-1]}"
    assert escape_text("a;b,c\\d\ne") == "a\\;b\\,c\\\\d\\ne"


def test_long_lines_fold_at_75_octets_without_splitting_characters() -> None:
    title = "液质联用仪肽段分析" * 12

    body = _ical([_booking(title=title)])

    lines = body.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    folded = [line for line in lines if line.startswith(b" ")]
    assert len(folded) >= 4
    assert all(line.decode("utf-8") for line in folded)  # raises if a character was split
    event = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    assert str(event["SUMMARY"]).endswith(title)
    assert fold("short") == "short"


def test_same_data_in_any_order_gives_the_same_bytes() -> None:
    first = _booking()
    second = _booking(key="booking-2", booking_id=2, start=first.start + timedelta(hours=6))

    assert _ical([first, second]) == _ical([second, first]) == _ical([first, second])


def test_calendar_properties_follow_rfc_5545_and_7986() -> None:
    body = _ical([_booking()], refresh_minutes=90)

    assert body.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    for line in (
        b"CALSCALE:GREGORIAN",
        b"METHOD:PUBLISH",
        b"NAME:Test",
        b"X-WR-CALNAME:Test",
        b"REFRESH-INTERVAL;VALUE=DURATION:PT1H30M",
        b"X-PUBLISHED-TTL:PT1H30M",
    ):
        assert line + b"\r\n" in body
    calendar = parse_strictly(body)
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(minutes=90)
    with pytest.raises(ValueError, match="refresh_minutes"):
        _ical([], refresh_minutes=0)


def test_campaign_steps_are_numbered() -> None:
    body = _ical([_booking(step_position=2, step_count=3), _booking(key="booking-2")])

    assert body.count(b"Step 2 of 3") == 1
    assert b"Step 1 of 1" not in body


def test_shanghai_zone_is_one_fixed_offset() -> None:
    lines = vtimezone_lines("Asia/Shanghai", 2027, 2028)

    assert "BEGIN:DAYLIGHT" not in lines
    assert lines.count("BEGIN:STANDARD") == 1
    assert "TZOFFSETTO:+0800" in lines


def test_berlin_zone_has_both_changes_at_their_local_onset() -> None:
    lines = vtimezone_lines("Europe/Berlin", 2027, 2027)

    text = "\n".join(lines)
    # Onsets are written in the local time in force before the change (01:00 UTC both times).
    assert "BEGIN:DAYLIGHT\nDTSTART:20270328T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200" in text
    assert "BEGIN:STANDARD\nDTSTART:20271031T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100" in text


@pytest.mark.parametrize(
    "zone",
    [
        "Asia/Shanghai",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Kolkata",
        "America/Sao_Paulo",
    ],
)
def test_icaljs_reads_our_zones_back_to_the_same_instants(zone: str, tmp_path: Path) -> None:
    start = datetime(2026, 12, 31, 22, 45, tzinfo=UTC)
    bookings = [
        _booking(
            key=f"booking-{n}",
            booking_id=n,
            timezone=zone,
            start=start + timedelta(hours=n * 37),
            end=start + timedelta(hours=n * 37 + 3),
        )
        for n in range(240)  # every ~1.5 days over a year: both DST changes where there are any
    ]

    body = _ical(bookings)

    parse_strictly(body)
    events = icaljs(body, tmp_path)["events"]
    assert [(e["start_utc"], e["end_utc"]) for e in events] == [
        (utc_z(b.start), utc_z(b.end)) for b in bookings
    ]


def test_maintenance_and_cancellations_are_marked(tmp_path: Path) -> None:
    window = FeedMaintenance(
        id=4,
        start=datetime(2027, 3, 2, 1, tzinfo=UTC),
        end=datetime(2027, 3, 2, 9, tzinfo=UTC),
        timezone="Asia/Shanghai",
        sequence=2,
        updated_at=datetime(2027, 2, 1, tzinfo=UTC),
        cancelled=True,
        equipment_name="LC-MS",
        reason="Detector swap",
        facility_name="Jiangbei Pilot Base",
    )
    body = _ical([replace(_booking(), status="CANCELLED", sequence=3)], maintenance=[window])

    events = {e["uid"]: e for e in icaljs(body, tmp_path)["events"]}
    assert events["maintenance-4@example.org"]["status"] == "CANCELLED"
    assert events["maintenance-4@example.org"]["sequence"] == 2
    assert "Detector swap" in events["maintenance-4@example.org"]["description"]
    assert events["booking-1@example.org"]["status"] == "CANCELLED"
    assert events["booking-1@example.org"]["summary"].startswith("Cancelled: ")


def test_urls_come_from_the_given_function() -> None:
    body = _ical(
        [_booking()], url_for_booking=lambda b: f"https://pilotslot.example/b/{b.booking_id}"
    )

    event = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    assert str(event["URL"]) == "https://pilotslot.example/b/1"
