"""The pure computations, on small hand-made facts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.reports import metrics
from app.reports.metrics import BookingFact, ProposalFact, RequestFact, Unit


def t(day: int, hour: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, tzinfo=UTC)


def booking(**kw: object) -> BookingFact:
    values: dict[str, object] = {
        "id": 1,
        "unit_id": 1,
        "facility_id": 10,
        "project_id": 100,
        "request_id": 1000,
        "start": t(1, 9),
        "end": t(1, 12),
        "active": True,
        "attended": None,
        "created_at": t(1),
        "manual": False,
    }
    values.update(kw)
    return BookingFact(**values)  # type: ignore[arg-type]


def test_booked_hours_are_clipped_to_the_period() -> None:
    unit = Unit(1, 10, "u", 1, (), ((t(1, 9), t(1, 18)),))
    loads = metrics.unit_loads([unit], [booking(start=t(1, 7), end=t(1, 11))], (t(1, 10), t(2)))
    assert loads[1].booked_hours == pytest.approx(1.0)
    assert loads[1].capacity_hours == pytest.approx(8.0)


def test_capacity_multiplies_open_hours_and_cancelled_bookings_do_not_count() -> None:
    unit = Unit(1, 10, "u", 3, (), ((t(1, 9), t(1, 19)),))
    bookings = [booking(), booking(active=False, start=t(1, 12), end=t(1, 18))]
    load = metrics.unit_loads([unit], bookings, (t(1), t(2)))[1]
    assert (load.booked_hours, load.capacity_hours) == (3.0, 30.0)
    assert load.ratio == pytest.approx(0.1)


def test_a_unit_never_open_has_no_ratio() -> None:
    assert metrics.Load(2.0, 0.0).ratio is None


def test_iso_weeks_are_clipped_to_the_period() -> None:
    weeks = metrics.iso_weeks((t(3), t(12)), [t(1), t(8), t(15)])
    assert [(w.label, w.start, w.end) for w in weeks] == [
        ("2027-W09", t(3), t(8)),
        ("2027-W10", t(8), t(12)),
    ]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 90, 5.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 50, 3.0),
        ([10.0, 20.0], 90, 19.0),
        ([0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0], 90, 90.0),
    ],
)
def test_percentile_interpolates_between_ranks(
    values: list[float], q: float, expected: float
) -> None:
    assert metrics.percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_none() -> None:
    assert metrics.percentile([], 90) is None


def _request(
    i: int, created: datetime, booked: datetime | None, manual: bool = False
) -> RequestFact:
    return RequestFact(i, 10, created, 1, 1.0, (t(1), t(20)), False, booked, manual)


def test_waiting_counts_requests_first_booked_in_the_period_and_skips_manual_ones() -> None:
    requests = [
        _request(1, t(1, 0), t(1, 10)),
        _request(2, t(1, 0), t(2, 6)),
        _request(3, t(1, 0), t(1, 1), manual=True),
        _request(4, t(1, 0), None),
        _request(5, t(1, 0), t(25)),
    ]
    waiting = metrics.waiting_times(requests, (t(1), t(20)))[10]
    assert waiting.count == 2
    assert waiting.median_hours == pytest.approx(20.0)
    assert waiting.p90_hours == pytest.approx(10 + 0.9 * 20)


def test_a_released_no_show_counts_as_a_no_show_not_a_cancellation() -> None:
    a = metrics.attendance([booking(attended=False, active=False)], (t(1), t(20)))[10]
    assert (a.bookings, a.no_shows, a.cancellations) == (1, 1, 0)


def test_attendance_shares() -> None:
    bookings = [
        booking(attended=False),
        booking(attended=True),
        booking(),
        booking(active=False, start=t(2, 9), end=t(2, 11)),
    ]
    a = metrics.attendance(bookings, (t(1), t(20)))[10]
    assert (a.bookings, a.no_shows, a.cancellations) == (3, 1, 1)
    assert (a.no_show_hours, a.cancelled_hours) == (3.0, 2.0)
    assert a.no_show_share == pytest.approx(1 / 3)
    assert a.cancellation_share == pytest.approx(1 / 4)


def test_startups_served_counts_distinct_projects_with_active_bookings() -> None:
    bookings = [
        booking(project_id=1),
        booking(project_id=1),
        booking(project_id=2),
        booking(project_id=3, active=False),
        booking(project_id=4, start=t(25), end=t(26)),
    ]
    assert metrics.startups_served(bookings, (t(1), t(20))) == {10: {1, 2}}


def _proposal(metrics_: dict[str, object]) -> ProposalFact:
    return ProposalFact(7, 10, "draft", t(1), {1: 9.0, 2: 4.0}, 5, metrics_)


@pytest.mark.parametrize(
    "stored",
    [
        {"fcfs": {"accepted_weight": 2, "accepted_hours": 9.0, "accepted_requests": 1}},
        {
            "first_come_first_served": {
                "accepted_weight": 2,
                "accepted_hours": 9,
                "accepted_requests": 1,
            }
        },
        {"fcfs_accepted_weight": 2, "fcfs_accepted_hours": 9.0, "fcfs_accepted_requests": 1},
    ],
)
def test_solver_outcome_reads_first_come_first_served_in_any_stored_shape(
    stored: dict[str, object],
) -> None:
    outcome = metrics.solver_outcome(_proposal(stored))
    assert (outcome.placed_requests, outcome.placed_hours, outcome.placed_weight) == (2, 13.0, 5)
    assert (outcome.fcfs_requests, outcome.fcfs_hours, outcome.fcfs_weight) == (1, 9.0, 2)
    assert outcome.weight_ratio == pytest.approx(2.5)


@pytest.mark.parametrize(
    "stored",
    [
        {},
        {"fcfs": "n/a"},
        {"fcfs": {"accepted_weight": None}},
        {"fcfs": {"accepted_weight": True}},
    ],
)
def test_solver_outcome_survives_missing_or_odd_metrics(stored: dict[str, object]) -> None:
    outcome = metrics.solver_outcome(_proposal(stored))
    assert outcome.fcfs_weight is None
    assert outcome.weight_ratio is None
    assert outcome.placed_weight == 5
