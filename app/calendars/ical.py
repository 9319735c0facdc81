"""Serialise bookings and maintenance windows as an iCalendar feed (RFC 5545, RFC 7986).

Pure: it takes plain data prepared by the caller and returns bytes. The same data always gives
the same bytes (no "now" anywhere), so a feed's ETag is stable and calendar clients see no
spurious changes. The serialiser is hand-written rather than built on the `icalendar` package
because a 5,000-event feed must render in well under a second; the tests parse every feed with
both `icalendar` and Mozilla's ical.js to hold it to the standard.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _

PRODID = "-//Pilotslot//Calendar feeds 1.0//EN"

CONFIRMED = "CONFIRMED"
TENTATIVE = "TENTATIVE"
CANCELLED = "CANCELLED"


# Not frozen: a feed builds thousands of these, and frozen dataclasses construct slowly.
@dataclass(slots=True)
class FeedBooking:
    """One booked (or proposed) step, ready to serialise.

    `key` is the UID's local part: `booking-<id>` for a booking, `proposal-step-<step id>` for a
    step a draft proposal places (stable while successive solves move it)."""

    key: str
    start: datetime
    end: datetime
    timezone: str
    sequence: int
    updated_at: datetime
    status: str
    equipment_name: str
    title: str
    facility_name: str
    facility_address: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    step_position: int = 1
    step_count: int = 1
    # Shown only where the subscriber may see it: their own projects, or a manager's facility.
    project_name: str | None = None
    booking_id: int | None = None
    request_id: int | None = None


@dataclass(slots=True)
class FeedMaintenance:
    """One maintenance window of an equipment unit, ready to serialise."""

    id: int
    start: datetime
    end: datetime
    timezone: str
    sequence: int
    updated_at: datetime
    cancelled: bool
    equipment_name: str
    reason: str
    facility_name: str
    facility_address: str = ""


@dataclass(frozen=True)
class _Labels:
    """Whole translated sentences with %(name)s placeholders, filled in per event."""

    maintenance: str
    cancelled: str
    proposed: str
    proposed_note: str
    equipment: str
    project: str
    step: str
    contact: str
    reason: str


def _labels(locale: str) -> _Labels:
    """Translate the fixed words once per feed, in the subscriber's language."""
    with force_locale(locale):
        return _Labels(
            maintenance=_("Maintenance: %(unit)s"),
            cancelled=_("Cancelled: %(summary)s"),
            proposed=_("Proposed: %(summary)s"),
            proposed_note=_(
                "Proposed by the scheduler; not yet approved by the facility manager."
            ),
            equipment=_("Equipment: %(unit)s"),
            project=_("Project: %(project)s"),
            step=_("Step %(n)s of %(m)s"),
            contact=_("Facility contact: %(contact)s"),
            reason=_("Reason: %(reason)s"),
        )


def bookings_to_ical(
    bookings: Iterable[FeedBooking],
    *,
    name: str,
    locale: str,
    uid_domain: str,
    maintenance: Iterable[FeedMaintenance] = (),
    url_for_booking: Callable[[FeedBooking], str] | None = None,
    refresh_minutes: int = 60,
    default_timezone: str = "Asia/Shanghai",
) -> bytes:
    """Return the iCalendar bytes of a feed named `name`, its text in `locale`.

    UIDs are `<key>@<uid_domain>`; `url_for_booking` gives each booking's absolute page URL;
    an empty feed carries `default_timezone`'s VTIMEZONE, the one
    component RFC 5545 requires."""
    labels = _labels(locale)
    booking_list = list(bookings)
    maintenance_list = list(maintenance)
    events: list[tuple[datetime, str, list[str]]] = []
    for booking in booking_list:
        url = url_for_booking(booking) if url_for_booking else ""
        events.append(
            (booking.start, booking.key, _booking_lines(booking, uid_domain, url, labels))
        )
    for window in maintenance_list:
        key = f"maintenance-{window.id}"
        events.append((window.start, key, _maintenance_lines(window, uid_domain, labels)))
    events.sort(key=lambda event: (event[0], event[1]))

    spans: dict[str, tuple[date, date]] = {}
    for item in (*booking_list, *maintenance_list):
        first, last = spans.get(item.timezone, (date.max, date.min))
        spans[item.timezone] = (min(first, item.start.date()), max(last, item.end.date()))
    if not spans:
        # Any fixed year will do: the zone is there only to make the calendar non-empty.
        spans[default_timezone] = (date(2000, 1, 1), date(2000, 1, 1))

    duration = _duration(refresh_minutes)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"NAME:{escape_text(name)}",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"REFRESH-INTERVAL;VALUE=DURATION:{duration}",
        f"X-PUBLISHED-TTL:{duration}",
    ]
    for tzid in sorted(spans):
        first, last = spans[tzid]
        lines.extend(vtimezone_lines(tzid, first.year, last.year))
    for _start, _key, event_lines in events:
        lines.extend(event_lines)
    lines.append("END:VCALENDAR")
    # Most lines are short ASCII and need no folding (a character takes at most 4 octets).
    folded = [
        line if len(line) <= 18 or (len(line) <= 75 and line.isascii()) else fold(line)
        for line in lines
    ]
    return ("\r\n".join(folded) + "\r\n").encode()


def _booking_lines(booking: FeedBooking, uid_domain: str, url: str, labels: _Labels) -> list[str]:
    summary = f"{booking.equipment_name} · {booking.title}"
    if booking.project_name:
        summary = f"{booking.equipment_name} · {booking.project_name}: {booking.title}"
    if booking.status == CANCELLED:
        summary = labels.cancelled % {"summary": summary}
    elif booking.status == TENTATIVE:
        summary = labels.proposed % {"summary": summary}

    description = [labels.equipment % {"unit": booking.equipment_name}]
    if booking.project_name:
        description.append(labels.project % {"project": booking.project_name})
    if booking.step_count > 1:
        description.append(labels.step % {"n": booking.step_position, "m": booking.step_count})
    contact = ", ".join(
        part
        for part in (booking.contact_name, booking.contact_email, booking.contact_phone)
        if part
    )
    if contact:
        description.append(labels.contact % {"contact": contact})
    if booking.status == TENTATIVE:
        description.append(labels.proposed_note)
    if url:
        description.append(url)

    stamp = utc_stamp(booking.updated_at)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{booking.key}@{uid_domain}",
        f"DTSTAMP:{stamp}",
        f"LAST-MODIFIED:{stamp}",
        f"SEQUENCE:{booking.sequence}",
        f"STATUS:{booking.status}",
        f"DTSTART;TZID={booking.timezone}:{local_stamp(booking.start, booking.timezone)}",
        f"DTEND;TZID={booking.timezone}:{local_stamp(booking.end, booking.timezone)}",
        f"SUMMARY:{escape_text(summary)}",
        f"LOCATION:{escape_text(_location(booking.facility_name, booking.facility_address))}",
        f"DESCRIPTION:{escape_text(chr(10).join(description))}",
        # A cancelled booking no longer takes the team's time.
        f"TRANSP:{'TRANSPARENT' if booking.status == CANCELLED else 'OPAQUE'}",
    ]
    if url:
        lines.append(f"URL:{_uri(url)}")
    lines.append("END:VEVENT")
    return lines


def _maintenance_lines(window: FeedMaintenance, uid_domain: str, labels: _Labels) -> list[str]:
    summary = labels.maintenance % {"unit": window.equipment_name}
    if window.cancelled:
        summary = labels.cancelled % {"summary": summary}
    description = [labels.equipment % {"unit": window.equipment_name}]
    if window.reason:
        description.append(labels.reason % {"reason": window.reason})
    return [
        "BEGIN:VEVENT",
        f"UID:maintenance-{window.id}@{uid_domain}",
        f"DTSTAMP:{utc_stamp(window.updated_at)}",
        f"LAST-MODIFIED:{utc_stamp(window.updated_at)}",
        f"SEQUENCE:{window.sequence}",
        f"STATUS:{CANCELLED if window.cancelled else CONFIRMED}",
        f"DTSTART;TZID={window.timezone}:{local_stamp(window.start, window.timezone)}",
        f"DTEND;TZID={window.timezone}:{local_stamp(window.end, window.timezone)}",
        f"SUMMARY:{escape_text(summary)}",
        f"LOCATION:{escape_text(_location(window.facility_name, window.facility_address))}",
        f"DESCRIPTION:{escape_text(chr(10).join(description))}",
        f"TRANSP:{'TRANSPARENT' if window.cancelled else 'OPAQUE'}",
        "END:VEVENT",
    ]


def _location(name: str, address: str) -> str:
    return f"{name}, {address}" if address else name


def _uri(url: str) -> str:
    # A URI value is not TEXT: no escaping, but a line break would end the property.
    return _CONTROL.sub("", url).replace("\n", "").replace("\t", "")


# Control characters other than TAB and LF are not allowed in TEXT; CR only comes in CRLF pairs.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 §3.3.11)."""
    if not value.isprintable():
        value = _CONTROL.sub("", value.replace("\r\n", "\n"))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    limit = 75
    start = 0
    while start < len(encoded):
        end = min(start + limit, len(encoded))
        # Step back off UTF-8 continuation bytes so each part decodes on its own.
        while end < len(encoded) and encoded[end] & 0xC0 == 0x80:
            end -= 1
        parts.append(encoded[start:end].decode())
        start = end
        limit = 74  # continuation lines begin with a space
    return "\r\n ".join(parts)


def utc_stamp(value: datetime) -> str:
    """Format an aware datetime as a UTC DATE-TIME (…Z)."""
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def local_stamp(value: datetime, tzid: str) -> str:
    """Format an aware datetime as a local DATE-TIME in the zone `tzid`."""
    return value.astimezone(ZoneInfo(tzid)).strftime("%Y%m%dT%H%M%S")


def _duration(minutes: int) -> str:
    if minutes <= 0:
        raise ValueError("refresh_minutes must be positive")
    hours, rest = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{rest}M" if rest else "")


def _offset(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


@lru_cache(maxsize=64)
def vtimezone_lines(tzid: str, first_year: int, last_year: int) -> tuple[str, ...]:
    """Return a VTIMEZONE for `tzid` from zoneinfo, covering the given years.

    Each observance's DTSTART is the onset in the local time before it (RFC 5545 §3.6.5); whole
    years are covered so the component does not change when an event moves within the year."""
    zone = ZoneInfo(tzid)
    begin = datetime(first_year, 1, 1, tzinfo=UTC)
    finish = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]

    def observance(at: datetime, before: timedelta) -> None:
        local = at.astimezone(zone)
        after = local.utcoffset() or timedelta(0)
        kind = "DAYLIGHT" if local.dst() else "STANDARD"
        lines.extend(
            [
                f"BEGIN:{kind}",
                f"DTSTART:{(at + before).strftime('%Y%m%dT%H%M%S')}",
                f"TZOFFSETFROM:{_offset(before)}",
                f"TZOFFSETTO:{_offset(after)}",
                f"TZNAME:{escape_text(local.tzname() or tzid)}",
                f"END:{kind}",
            ]
        )

    def offset_at(at: datetime) -> timedelta:
        return at.astimezone(zone).utcoffset() or timedelta(0)

    observance(begin, offset_at(begin))
    day = begin
    while day < finish:
        following = day + timedelta(days=1)
        if offset_at(following) != offset_at(day):
            # Zone changes happen on whole minutes: bisect for the first minute of the new offset.
            low, high = 0, 24 * 60
            while high - low > 1:
                middle = (low + high) // 2
                if offset_at(day + timedelta(minutes=middle)) == offset_at(day):
                    low = middle
                else:
                    high = middle
            observance(day + timedelta(minutes=high), offset_at(day))
        day = following
    lines.append("END:VTIMEZONE")
    return tuple(lines)
