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


def test_full_stretches_a_board_remembers_give_the_placements_a_fresh_board_gives() -> None:
    """A board remembers stretches a walk found full, per unit, duration, attended and (on a
    unit with a changeover) project, and later walks skip them: every request must still get
    exactly the placement a board that remembers nothing gives, pins, changeovers, units of
    capacity two and requests of the same project side by side included."""
    from scheduler_instances import at, busy_week

    from scheduler import first_come_first_served, problem_from_dict
    from scheduler.instance import compile_problem
    from scheduler.timeline import Board

    data = busy_week(units=12, requests=260, days=3, seed=7)
    for i, req in enumerate(data["requests"]):
        req["project"] = f"p{i % 5}"
    fcfs = first_come_first_served(problem_from_dict(data))
    data["pinned"] = [
        {"request": a.request, "step": a.step, "resource": a.resource, "start": at(a.start)}
        for a in fcfs.assignments[::30]
    ]
    inst = compile_problem(problem_from_dict(data))
    order = sorted(
        (r for r in inst.requests if not r.impossible and not r.pinned),
        key=lambda r: (-r.weight, r.index),
    )
    remembering = Board.with_pins(inst)
    placed = []
    skipped_full = 0
    for req in order:
        known = sum(len(k[0]) for line in remembering.lines for k in line.known.values())
        got = remembering.earliest_request(req)
        fresh = Board.with_pins(inst)
        for other, places in placed:
            fresh.book(other, places)
        assert got == fresh.earliest_request(req), req.id
        if got is not None:
            remembering.book(req, got)
            placed.append((req, got))
        skipped_full += known > 0
    assert len(placed) > 100
    assert skipped_full > 100
    assert any(key[2] >= 0 for line in remembering.lines for key in line.known), (
        "no unit with a changeover remembered anything per project"
    )


@settings(max_examples=300, deadline=None)
@given(
    gaps=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=12),
    lo=st.integers(-3, 90),
    hi=st.integers(-3, 90),
)
def test_clipping_a_start_set_keeps_exactly_its_slots_in_the_range(
    gaps: list[tuple[int, int]], lo: int, hi: int
) -> None:
    """``spans_clip`` skips by bisection the spans ending before the range: it must keep
    exactly the slots a slot-by-slot filter keeps, as sorted disjoint spans."""
    from scheduler.instance import spans_clip

    spans, t = [], 0
    for gap, length in gaps:
        spans.append((t + gap, t + gap + length))
        t += gap + length + 1
    clipped = spans_clip(spans, lo, hi)
    slots = [s for a, b in clipped for s in range(a, b + 1)]
    assert slots == [s for a, b in spans for s in range(a, b + 1) if lo <= s <= hi]
    assert all(a <= b for a, b in clipped)
