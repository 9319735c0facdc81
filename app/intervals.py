"""Arithmetic on half-open [start, end) intervals of aware datetimes: the app's one copy.

Opening hours, closures, maintenance, the solver's bookable time and the reports' usable hours
all go through these functions. An interval whose end is not after its start is empty and is
dropped from every result. The solver keeps its own copy over integer minutes
(`scheduler/instance.py`: it must not import the app), and `scheduler/check.py` keeps another
on purpose, so the checker does not share a bug with what it checks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

Interval = tuple[datetime, datetime]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Return the union of intervals as sorted, disjoint intervals; touching ones are joined."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(intervals: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """Return the parts of the intervals that no hole covers, sorted and disjoint."""
    remaining = merge(intervals)
    for hole_start, hole_end in merge(holes):
        remaining = [
            piece
            for start, end in remaining
            for piece in ((start, min(end, hole_start)), (max(start, hole_end), end))
            if piece[0] < piece[1]
        ]
    return remaining


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """Return each interval cut to [start, end), in the given order, dropping what is outside.

    Overlaps between the intervals are kept (a list of blackouts stays a list of blackouts);
    merge the result for a union."""
    cut = ((max(a, start), min(b, end)) for a, b in intervals)
    return [(a, b) for a, b in cut if a < b]


def overlap(a: Interval, b: Interval) -> timedelta:
    """Return how long two intervals overlap (zero when they do not)."""
    return max(timedelta(0), min(a[1], b[1]) - max(a[0], b[0]))


def total_length(intervals: Iterable[Interval]) -> timedelta:
    """Return the length of the union of the intervals: time covered twice counts once."""
    return sum((end - start for start, end in merge(intervals)), timedelta(0))
