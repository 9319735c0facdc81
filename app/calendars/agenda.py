"""The team's bookings laid out by day in each facility's local time, for week and month pages."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import access, dates
from app.accounts.models import User
from app.booking.models import Booking, BookingRequest, BookingStatus
from app.catalog.models import Equipment
from app.errors import BadRequest
from app.extensions import db


@dataclass(frozen=True)
class AgendaEntry:
    """A booking with its start and end in its facility's time zone."""

    booking: Booking
    start: datetime
    end: datetime


def parse_day(value: str | None, today: date) -> date:
    """Read a `date=YYYY-MM-DD` parameter (today when absent)."""
    if not value:
        return today
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(_("Give the date as YYYY-MM-DD."), field="date") from None
    return dates.check(day, "date", BadRequest)


def parse_month(value: str | None, today: date) -> date:
    """Read a `month=YYYY-MM` parameter as the month's first day (this month when absent)."""
    if not value:
        return today.replace(day=1)
    try:
        year, month = (int(part) for part in value.split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise BadRequest(_("Give the month as YYYY-MM."), field="month") from None
    return dates.check(first, "month", BadRequest)


def week_days(day: date) -> list[date]:
    """Return Monday to Sunday of the week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=n) for n in range(7)]


def month_weeks(first: date) -> list[list[date]]:
    """Return the Monday-first weeks that cover the month starting on `first`."""
    return calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)


def team_agenda(user: User, first: date, last: date) -> dict[date, list[AgendaEntry]]:
    """Return the active bookings of the user's projects by local day, from `first` to `last`."""
    # A day of margin each side: local days start up to 14 hours away from UTC midnight.
    begin = datetime.combine(first - timedelta(days=1), time(), UTC)
    finish = datetime.combine(last + timedelta(days=2), time(), UTC)
    bookings = db.session.scalars(
        select(Booking)
        .where(
            access.team_bookings(user),
            Booking.status == BookingStatus.ACTIVE.value,
            Booking.start < finish,
            Booking.end > begin,
        )
        .options(
            joinedload(Booking.request).joinedload(BookingRequest.project),
            joinedload(Booking.equipment).joinedload(Equipment.facility),
        )
        .order_by(Booking.start, Booking.id)
    )
    days: dict[date, list[AgendaEntry]] = defaultdict(list)
    for booking in bookings:
        zone = ZoneInfo(booking.equipment.facility.timezone)
        entry = AgendaEntry(booking, booking.start.astimezone(zone), booking.end.astimezone(zone))
        # A run over several days (a bioreactor campaign step) shows on each day it occupies.
        day = max(entry.start.date(), first)
        final = min((entry.end - timedelta(microseconds=1)).date(), last)
        while day <= final:
            days[day].append(entry)
            day += timedelta(days=1)
    return dict(days)
