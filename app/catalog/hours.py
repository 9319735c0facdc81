"""Opening hours and closures as concrete UTC windows: pure functions over the model objects.

Hours are wall-clock times in the facility's time zone, placed on each local day with zoneinfo,
so "08:30" stays 08:30 local on both sides of a daylight-saving change."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from app.intervals import Interval, clip, merge, subtract

if TYPE_CHECKING:
    from app.catalog.models import Equipment, Facility

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "always"
RETIRED = "retired"


class Closure(NamedTuple):
    """A closure of a facility: whole local days, as a UTC span."""

    start: datetime
    end: datetime
    reason_zh: str
    reason_en: str


def _local(day: date, clock: str, zone: ZoneInfo) -> datetime:
    """Return the UTC moment of a wall-clock "HH:MM" on a local day ("24:00" is the next 0:00)."""
    hour, minute = (int(part) for part in clock.split(":"))
    if hour == 24:
        return datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return datetime.combine(day, time(hour, minute), zone).astimezone(UTC)


def _days(start: datetime, end: datetime, zone: ZoneInfo) -> Iterable[date]:
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def weekly_windows(
    hours: dict[str, Any], timezone: str, start: datetime, end: datetime
) -> list[Interval]:
    """Return the UTC windows in [start, end) of a weekly map {"mon": [["09:00", "18:00"]]}."""
    zone = ZoneInfo(timezone)
    windows = [
        (_local(day, opens, zone), _local(day, closes, zone))
        for day in _days(start, end, zone)
        for opens, closes in hours.get(DAYS[day.weekday()]) or []
    ]
    # Join windows that touch, e.g. Monday 24:00 and Tuesday 00:00.
    return merge(clip(windows, start, end))


def closures_between(facility: Facility, start: datetime, end: datetime) -> list[Closure]:
    """Return the facility's closures that overlap [start, end), whole, sorted by start."""
    zone = ZoneInfo(facility.timezone)
    found = []
    for closure in facility.closures or []:
        first = date.fromisoformat(closure["from"])
        last = date.fromisoformat(closure["to"])
        closed_from = datetime.combine(first, time(0), zone).astimezone(UTC)
        closed_to = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
        if closed_from < end and closed_to > start:
            found.append(
                Closure(
                    closed_from,
                    closed_to,
                    closure.get("reason_zh", ""),
                    closure.get("reason_en", ""),
                )
            )
    return sorted(found)


def open_windows(equipment: Equipment, start: datetime, end: datetime) -> list[Interval]:
    """Return the UTC windows in [start, end) when a unit can be used, sorted and disjoint.

    A unit's own hours (or "always") override its facility's; the facility's closures apply to
    every unit; a retired unit or a facility no longer in the catalogue is never open.
    Maintenance is not subtracted: it is a booking-like block the caller places itself."""
    facility = equipment.facility
    if equipment.status == RETIRED or facility.active is False or start >= end:
        return []
    hours = equipment.opening_hours
    if hours == ALWAYS:
        windows = [(start, end)]
    else:
        windows = weekly_windows(
            hours or facility.opening_hours or {}, facility.timezone, start, end
        )
    closed = [(c.start, c.end) for c in closures_between(facility, start, end)]
    return subtract(windows, closed)


def staffed_windows(equipment: Equipment, start: datetime, end: datetime) -> list[Interval]:
    """Return the UTC windows in [start, end) when staff are there for an attended step.

    A unit's own weekly hours are its staffed hours; a unit open "always" (or with no hours of
    its own) runs unattended around the clock, but its staff keep the facility's hours. The
    facility's closures apply either way."""
    facility = equipment.facility
    if equipment.status == RETIRED or facility.active is False or start >= end:
        return []
    hours = equipment.opening_hours
    if not isinstance(hours, dict) or not hours:
        hours = facility.opening_hours or {}
    windows = weekly_windows(hours, facility.timezone, start, end)
    closed = [(c.start, c.end) for c in closures_between(facility, start, end)]
    return subtract(windows, closed)


def weekly_table(hours: dict[str, Any] | None) -> list[tuple[str, list[str]]]:
    """Return (day, ["08:30-17:30", ...]) for each weekday, empty when closed, for display."""
    hours = hours or {}
    return [(day, [f"{a}-{b}" for a, b in hours.get(day) or []]) for day in DAYS]
