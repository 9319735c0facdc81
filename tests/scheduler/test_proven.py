"""Facility-sized problems are proven optimal, and the solve stops as soon as they are."""

from scheduler_instances import at, problem_dict, request, step

from scheduler import Status, problem_from_dict, solve

DAY = 24 * 60


def _lab(requests: int) -> dict[str, object]:
    """Two LC-MS units staffed 08:30-17:30 on ten weekdays; every request wants a whole day.

    A 9-hour window holds one 8-hour step, not 1.125 of them: only that proves the plan."""
    days = [d for d in range(14) if d % 7 < 5]
    hours = [[at(d * DAY + 510), at(d * DAY + 1050)] for d in days]
    units = [{"id": f"ms-{k}", "open": hours, "changeover_minutes": 30 + 15 * k} for k in (1, 2)]
    asks = [
        request(
            f"r{i}",
            step(480, "ms-1", "ms-2", attended=True),
            project=f"p{i % 4}",
            weight=1 + i % 3,
        )
        for i in range(requests)
    ]
    return problem_dict(units, asks, hours=14 * 24, granularity_minutes=15)


def test_a_facility_with_more_day_long_requests_than_days_is_proven_optimal():
    data = _lab(24)
    result = solve(problem_from_dict(data), work_limit=300, seed=0)
    # 20 windows, one request each: the 20 heaviest of weights 1-3 (eight of each).
    assert result.objective == 8 * 3 + 8 * 2 + 4 * 1
    assert result.status is Status.OPTIMAL
    assert result.bound == result.objective
    assert result.stats["proven"] is True
