"""The app's one interval module, against a model of intervals as sets of covered minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app import intervals
from app.intervals import Interval

BASE = datetime(2027, 3, 1, tzinfo=UTC)


def t(day: int, hour: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, tzinfo=UTC)


def at(minute: int) -> datetime:
    return BASE + timedelta(minutes=minute)


# Intervals with whole-minute ends, empty and reversed ones included.
interval = st.tuples(st.integers(0, 120), st.integers(0, 120)).map(lambda p: (at(p[0]), at(p[1])))
interval_lists = st.lists(interval, max_size=8)


def minutes(items: list[Interval]) -> set[int]:
    """Return the minutes an interval list covers: minute m stands for [m, m + 1)."""
    return {
        m
        for start, end in items
        for m in range(
            int((start - BASE).total_seconds() // 60), int((end - BASE).total_seconds() // 60)
        )
    }


def assert_sorted_disjoint_apart(items: list[Interval]) -> None:
    assert all(start < end for start, end in items), items
    assert all(a[1] < b[0] for a, b in zip(items, items[1:], strict=False)), items


def test_subtract_cuts_holes_out_of_windows() -> None:
    windows = [(t(1, 9), t(1, 18)), (t(2, 9), t(2, 18))]
    assert intervals.subtract(windows, [(t(1, 12), t(1, 13)), (t(2, 0), t(2, 10))]) == [
        (t(1, 9), t(1, 12)),
        (t(1, 13), t(1, 18)),
        (t(2, 10), t(2, 18)),
    ]


def test_merge_joins_overlapping_and_touching_windows() -> None:
    merged = intervals.merge([(t(1, 12), t(1, 14)), (t(1, 9), t(1, 12)), (t(1, 13), t(1, 15))])
    assert merged == [(t(1, 9), t(1, 15))]


def test_clip_keeps_order_and_overlaps_and_drops_what_is_outside() -> None:
    blackouts = [(t(2, 9), t(2, 12)), (t(1, 9), t(1, 12)), (t(1, 10), t(1, 11)), (t(5), t(6))]
    assert intervals.clip(blackouts, t(1, 10), t(3)) == [
        (t(2, 9), t(2, 12)),
        (t(1, 10), t(1, 12)),
        (t(1, 10), t(1, 11)),
    ]


def test_time_covered_twice_counts_once_in_the_total() -> None:
    assert intervals.total_length([(t(1, 9), t(1, 12)), (t(1, 10), t(1, 13))]) == timedelta(
        hours=4
    )


@settings(max_examples=300)
@given(interval_lists)
def test_merge_covers_the_same_minutes_sorted_disjoint_and_apart(items: list[Interval]) -> None:
    merged = intervals.merge(items)
    assert minutes(merged) == minutes(items)
    assert_sorted_disjoint_apart(merged)


@settings(max_examples=300)
@given(interval_lists, interval_lists)
def test_subtract_leaves_exactly_the_minutes_no_hole_covers(
    items: list[Interval], holes: list[Interval]
) -> None:
    left = intervals.subtract(items, holes)
    assert minutes(left) == minutes(items) - minutes(holes)
    assert_sorted_disjoint_apart(left)


@settings(max_examples=300)
@given(interval_lists, interval)
def test_clip_cuts_each_interval_to_the_period(items: list[Interval], period: Interval) -> None:
    clipped = intervals.clip(items, *period)
    assert minutes(clipped) == minutes(items) & minutes([period])
    assert all(period[0] <= start < end <= period[1] for start, end in clipped)
    kept = [i for i in items if minutes([i]) & minutes([period])]
    assert len(clipped) == len(kept)


@settings(max_examples=300)
@given(interval, interval)
def test_overlap_is_the_length_of_the_common_minutes(a: Interval, b: Interval) -> None:
    assert intervals.overlap(a, b) == timedelta(minutes=len(minutes([a]) & minutes([b])))
    assert intervals.overlap(a, b) == intervals.overlap(b, a)


@settings(max_examples=300)
@given(interval_lists)
def test_total_length_counts_each_covered_minute_once(items: list[Interval]) -> None:
    assert intervals.total_length(items) == timedelta(minutes=len(minutes(items)))
