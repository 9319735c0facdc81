"""Opening hours, "always" units, closures and daylight-saving changes as UTC windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.catalog.hours import Closure, closures_between, open_windows, weekly_windows
from app.catalog.models import Equipment, Facility

SHANGHAI_WEEK = {
    "mon": [["08:30", "12:00"], ["13:00", "17:30"]],
    "tue": [["08:30", "17:30"]],
    "wed": [["08:30", "17:30"]],
    "thu": [["08:30", "17:30"]],
    "fri": [["08:30", "17:30"]],
}


def z(text: str) -> datetime:
    """Parse '2027-03-01 00:30' as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _facility(**values: Any) -> Facility:
    defaults: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "opening_hours": SHANGHAI_WEEK,
        "closures": [],
        "active": True,
    }
    defaults.update(values)
    return Facility(**defaults)


def _unit(facility: Facility, **values: Any) -> Equipment:
    defaults: dict[str, Any] = {"status": "active", "opening_hours": None}
    defaults.update(values)
    return Equipment(facility=facility, **defaults)


# Monday 1 March 2027 00:00 to Monday 8 March 00:00, Shanghai time (UTC+8, no DST).
WEEK_START = z("2027-02-28 16:00")
WEEK_END = z("2027-03-07 16:00")
WEDNESDAY_OFF = {
    "from": "2027-03-03",
    "to": "2027-03-03",
    "reason_zh": "开放日",
    "reason_en": "Open day",
}


def test_a_week_of_facility_hours_skips_the_closure_day_and_the_weekend() -> None:
    unit = _unit(_facility(closures=[WEDNESDAY_OFF]))

    windows = open_windows(unit, WEEK_START, WEEK_END)

    assert windows == [
        (z("2027-03-01 00:30"), z("2027-03-01 04:00")),
        (z("2027-03-01 05:00"), z("2027-03-01 09:30")),
        (z("2027-03-02 00:30"), z("2027-03-02 09:30")),
        (z("2027-03-04 00:30"), z("2027-03-04 09:30")),
        (z("2027-03-05 00:30"), z("2027-03-05 09:30")),
    ]


def test_an_always_unit_is_open_around_the_clock_except_on_closure_days() -> None:
    unit = _unit(_facility(closures=[WEDNESDAY_OFF]), opening_hours="always")

    windows = open_windows(unit, WEEK_START, WEEK_END)

    assert windows == [
        (WEEK_START, z("2027-03-02 16:00")),
        (z("2027-03-03 16:00"), WEEK_END),
    ]


def test_a_unit_with_its_own_hours_ignores_the_facility_hours() -> None:
    unit = _unit(_facility(), opening_hours={"sat": [["10:00", "14:00"]]})

    assert open_windows(unit, WEEK_START, WEEK_END) == [
        (z("2027-03-06 02:00"), z("2027-03-06 06:00"))
    ]


def test_windows_are_clipped_to_the_period() -> None:
    unit = _unit(_facility())

    windows = open_windows(unit, z("2027-03-02 03:00"), z("2027-03-02 05:00"))

    assert windows == [(z("2027-03-02 03:00"), z("2027-03-02 05:00"))]


def test_berlin_hours_keep_their_wall_clock_across_the_march_change() -> None:
    # Europe/Berlin moves from UTC+1 to UTC+2 on Sunday 28 March 2027.
    unit = _unit(
        _facility(
            timezone="Europe/Berlin",
            opening_hours={
                "fri": [["08:00", "16:00"]],
                "sun": [["00:00", "24:00"]],
                "mon": [["08:00", "16:00"]],
            },
        )
    )

    windows = open_windows(unit, z("2027-03-26 00:00"), z("2027-03-30 00:00"))

    assert windows == [
        (z("2027-03-26 07:00"), z("2027-03-26 15:00")),
        (z("2027-03-27 23:00"), z("2027-03-28 22:00")),
        (z("2027-03-29 06:00"), z("2027-03-29 14:00")),
    ]
    assert windows[1][1] - windows[1][0] == timedelta(hours=23)


def test_a_berlin_closure_covers_the_whole_local_day_of_23_hours() -> None:
    facility = _facility(
        timezone="Europe/Berlin",
        closures=[
            {
                "from": "2027-03-28",
                "to": "2027-03-28",
                "reason_zh": "复活节",
                "reason_en": "Easter",
            }
        ],
    )

    closures = closures_between(facility, z("2027-03-01 00:00"), z("2027-04-01 00:00"))

    assert closures == [Closure(z("2027-03-27 23:00"), z("2027-03-28 22:00"), "复活节", "Easter")]


def test_closures_between_returns_whole_overlapping_closures_in_order() -> None:
    facility = _facility(
        closures=[
            {
                "from": "2027-02-06",
                "to": "2027-02-12",
                "reason_zh": "春节",
                "reason_en": "Spring Festival",
            },
            {
                "from": "2027-01-01",
                "to": "2027-01-01",
                "reason_zh": "元旦",
                "reason_en": "New Year",
            },
            {
                "from": "2027-05-01",
                "to": "2027-05-05",
                "reason_zh": "劳动节",
                "reason_en": "Labour Day",
            },
        ]
    )

    found = closures_between(facility, z("2026-12-31 20:00"), z("2027-02-07 00:00"))

    assert found == [
        (z("2026-12-31 16:00"), z("2027-01-01 16:00"), "元旦", "New Year"),
        (z("2027-02-05 16:00"), z("2027-02-12 16:00"), "春节", "Spring Festival"),
    ]


def test_a_retired_unit_or_an_inactive_facility_is_never_open() -> None:
    assert open_windows(_unit(_facility(), status="retired"), WEEK_START, WEEK_END) == []
    assert open_windows(_unit(_facility(active=False)), WEEK_START, WEEK_END) == []


def test_touching_ranges_and_midnight_become_one_window() -> None:
    hours = {
        "mon": [["08:00", "12:00"], ["12:00", "24:00"]],
        "tue": [["00:00", "06:00"]],
    }

    windows = weekly_windows(hours, "Asia/Shanghai", WEEK_START, WEEK_END)

    assert windows == [(z("2027-03-01 00:00"), z("2027-03-01 22:00"))]
