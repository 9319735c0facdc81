"""What a need's words suggest: capabilities, the units across all centres that offer them,
each unit's rate and its earliest free slot (opening hours, closures, maintenance and bookings
as the booking pages' availability tells them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from app import intervals
from app.billing import services as billing
from app.booking import bookings as booking_service
from app.catalog import matching
from app.catalog.hours import open_windows
from app.dbtypes import utcnow
from app.intervals import Interval

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.catalog.models import Equipment

# How many of the matcher's capabilities a need's page suggests, and how many of them count as
# what the need demands (the demand picture).
SUGGESTIONS_PER_NEED = 5
DEMANDED_PER_NEED = 3
# A free slot is an hour at least, within the next 60 days.
SLOT_MINUTES = 60
SLOT_HORIZON = timedelta(days=60)


def unit_rate_fen(unit: Equipment, customer_kind: str) -> int:
    """Return what an hour on the unit costs this kind of customer, in fen (its rate card)."""
    return billing.rate_card(unit).hourly_fen(customer_kind)


def match_text(text: str) -> list[matching.Match]:
    """Return the matcher's capabilities for a need's words, best first."""
    if not text.strip():
        return []
    return matching.current_matcher().match(text, SUGGESTIONS_PER_NEED)


def _busy(unit: Equipment, start: datetime, end: datetime, viewer: User | None) -> list[Interval]:
    """Return when the unit cannot take one more booking: closures, maintenance, and the
    times its bookings fill every place of it."""
    from app.accounts.models import User

    who = viewer if viewer is not None else User(id=0, is_admin=False)
    blocks = booking_service.availability(unit, start, end, who)
    busy = [(b["start"], b["end"]) for b in blocks if b["kind"] != "booking"]
    booked = [(b["start"], b["end"]) for b in blocks if b["kind"] == "booking"]
    capacity = max(unit.capacity, 1)
    if capacity == 1:
        return busy + booked
    # Where `capacity` bookings overlap, the unit is full.
    edges = sorted([(s, 1) for s, _e in booked] + [(e, -1) for _s, e in booked])
    running, full_from = 0, None
    for moment, step in edges:
        running += step
        if running >= capacity and full_from is None:
            full_from = moment
        elif running < capacity and full_from is not None:
            busy.append((full_from, moment))
            full_from = None
    return busy


def earliest_free_slot(
    unit: Equipment, *, after: datetime | None = None, viewer: User | None = None
) -> datetime | None:
    """Return when the unit is next free for SLOT_MINUTES, on the booking grid; None if not
    within SLOT_HORIZON."""
    grid = booking_service.GRID
    now = after or utcnow()
    start = datetime.fromtimestamp(
        -(-now.timestamp() // grid.total_seconds()) * grid.total_seconds(), tz=now.tzinfo
    )
    end = start + SLOT_HORIZON
    for free_start, free_end in intervals.subtract(
        open_windows(unit, start, end), _busy(unit, start, end, viewer)
    ):
        if free_end - free_start >= timedelta(minutes=SLOT_MINUTES):
            return free_start
    return None


def any_free_time(matches: Sequence[matching.Match]) -> bool:
    """Tell whether any unit of the matches has a free slot within the horizon."""
    units = matching.units_of(matches)
    return any(earliest_free_slot(unit) is not None for unit in units.values())


@dataclass(frozen=True)
class UnitSuggestion:
    unit: Equipment
    capability: str
    rate_fen: int
    earliest: datetime | None
    in_city: bool


@dataclass(frozen=True)
class Suggestion:
    capability: str
    score: float
    why: tuple[str, ...]
    units: list[UnitSuggestion]


def suggest(
    text: str,
    *,
    city: str = "",
    viewer: User | None = None,
    customer_kind: str = "incubated",
) -> list[Suggestion]:
    """Return the need's suggested capabilities, each with its units: those in the preferred
    city first, then the matcher's order."""
    found = match_text(text)
    units = matching.units_of(found)
    now = utcnow()
    wanted = city.strip().lower()
    result = []
    for match in found:
        offered = [units[slug] for slug in match.units if slug in units]
        ranked = sorted(
            enumerate(offered),
            key=lambda pair: (not _in_city(pair[1], wanted), pair[0]),
        )
        result.append(
            Suggestion(
                match.capability,
                match.score,
                match.why,
                [
                    UnitSuggestion(
                        unit,
                        match.capability,
                        unit_rate_fen(unit, customer_kind),
                        earliest_free_slot(unit, after=now, viewer=viewer),
                        _in_city(unit, wanted),
                    )
                    for _i, unit in ranked
                ],
            )
        )
    return result


def _in_city(unit: Equipment, wanted: str) -> bool:
    facility = unit.facility
    return bool(wanted) and wanted in (facility.city_zh.lower(), facility.city_en.lower())


def step_order(text: str, capabilities: Sequence[str]) -> list[tuple[int, int]]:
    """Return a sort key per chosen capability: where its matched words first appear in the
    need's text (what a founder names first usually comes first), then the matcher's rank."""
    found = match_text(text)
    rank = {m.capability: i for i, m in enumerate(found)}
    why = {m.capability: m.why for m in found}
    lowered = matching.normalise(text)
    keys = []
    for capability in capabilities:
        places = [lowered.find(matching.normalise(w)) for w in why.get(capability, ())]
        first = min((p for p in places if p >= 0), default=len(lowered))
        keys.append((first, rank.get(capability, len(rank))))
    return keys
