"""The range of dates Pilotslot supports, named once, and the checks every reader of a date uses.

Python's dates end at 0001-01-01 and 9999-12-31: a date near either end overflows as soon as a
week is laid out around it or a time is moved to UTC. Nothing a facility plans lies outside
2000-2100, so every date a person gives (forms, API, page parameters, facilities.yaml) is
checked against this range before anything computes with it."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from app.errors import AppError, BadRequest, ValidationError

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)

Day = TypeVar("Day", bound=date)

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def today_in(timezone: str) -> date:
    """Today's date where a facility is (its time zone's), not UTC's: between midnight and 08:00
    in Shanghai the UTC date is still yesterday's."""
    return datetime.now(ZoneInfo(timezone)).date()


def supported(day: date) -> bool:
    """Tell whether a date (or the calendar date of a date and time) lies in the range."""
    if isinstance(day, datetime):
        day = day.date()
    return FIRST_DAY <= day <= LAST_DAY


def range_message() -> str:
    """Say the range, for a message shown beside a form field."""
    return _(
        "Give a date from %(first)s to %(last)s.",
        first=FIRST_DAY.isoformat(),
        last=LAST_DAY.isoformat(),
    )


def field_message(name: str) -> str:
    """Say the range naming the parameter or field, for a page or an API problem."""
    return _(
        "%(name)s must be a date from %(first)s to %(last)s.",
        name=name,
        first=FIRST_DAY.isoformat(),
        last=LAST_DAY.isoformat(),
    )


def check(value: Day, name: str, error: type[AppError] = ValidationError) -> Day:
    """Return the date (or date and time) if supported; raise `error` naming the field if not.

    A date and time is judged by its calendar date as written, before any conversion: that is
    what overflows, and what the person sees."""
    if not supported(value):
        raise error(field_message(name), field=name)
    return value


def parse_day(text: str, name: str) -> date:
    """Read a YYYY-MM-DD query parameter; BadRequest naming it when malformed or out of range."""
    problem = BadRequest(_("%(name)s must be a date written YYYY-MM-DD.", name=name), field=name)
    if not _ISO_DAY.fullmatch(text):
        raise problem
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise problem from None
    check(day, name, BadRequest)
    return day


def openapi_description() -> str:
    """Say the range in the OpenAPI document."""
    return f"from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}; others are refused"
