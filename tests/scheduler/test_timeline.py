"""A unit's timeline answers "is this free, and if not, where to try next" exactly as a
slot-by-slot count would, however its bookings lie (the answers the greedy planners rely on)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.timeline import _Timeline

bookings = st.lists(
    st.tuples(st.integers(0, 200), st.integers(1, 40)), min_size=0, max_size=40
).map(lambda xs: [(a, a + d) for a, d in xs])


def _count_next_try(
    booked: list[tuple[int, int]], capacity: int, start: int, duration: int
) -> int | None:
    """None if every slot of [start, start+duration) is below capacity, else one past the
    last full slot in it."""
    full = [
        t for t in range(start, start + duration) if sum(a <= t < b for a, b in booked) >= capacity
    ]
    return None if not full else full[-1] + 1


@settings(max_examples=300, deadline=None)
@given(
    booked=bookings,
    capacity=st.integers(2, 4),
    start=st.integers(0, 240),
    duration=st.integers(1, 40),
)
def test_a_shared_unit_finds_the_next_try_as_a_slot_count_does(
    booked: list[tuple[int, int]], capacity: int, start: int, duration: int
) -> None:
    line = _Timeline(capacity, 0)
    for a, b in booked:
        line.add(a, b, 0)
    assert line.next_try(start, duration, 0) == _count_next_try(booked, capacity, start, duration)


def test_a_long_booking_far_back_still_counts() -> None:
    # Only bookings that start after (start - longest) can reach `start`: the longest one
    # added decides how far back to look, even when short ones were added after it.
    line = _Timeline(2, 0)
    line.add(0, 100, 0)
    for a in range(10, 90, 10):
        line.add(a, a + 2, 0)
    line.add(95, 97, 0)
    assert line.next_try(96, 1, 0) == 97
    assert line.next_try(97, 3, 0) is None
    line.remove(0, 100)
    assert line.next_try(96, 1, 0) is None
