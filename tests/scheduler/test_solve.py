import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from scheduler_instances import at, busy_week, jobshop, problem_dict, request, step, violations

from scheduler import Progress, Result, Status, problem_from_dict, result_to_dict, solve
from scheduler.instance import compile_problem
from scheduler.solve import components

JOBSHOP = Path("/work/shared/benchmarks/jobshop/instances")
FT06 = """6 6
2 1 0 3 1 6 3 7 5 3 4 6
1 8 2 5 4 10 5 10 0 10 3 4
2 5 3 4 5 8 0 9 1 1 4 7
1 5 0 5 2 5 3 3 4 8 5 9
2 9 1 3 4 5 5 4 0 3 3 1
1 3 3 3 5 9 0 10 4 4 2 1
"""


def test_ft06_is_solved_to_its_optimum_of_55():
    result = solve(problem_from_dict(jobshop(FT06)), work_limit=2000)
    assert result.status is Status.OPTIMAL
    assert result.objective == result.bound == 55


def test_makespan_with_a_request_that_cannot_fit_is_infeasible():
    data = problem_dict(
        [{"id": "a", "blackouts": [["2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00"]]}],
        [request("r1", step(60, "a"))],
        objective="min_makespan",
    )
    assert solve(problem_from_dict(data)).status is Status.INFEASIBLE


def test_independent_units_become_separate_components():
    data = problem_dict(
        [{"id": u} for u in "abcd"],
        [
            request("r1", step(60, "a", "b")),
            request("r2", step(60, "b")),
            request("r3", step(60, "c")),
            request("r4", step(60, "d"), step(60, "c")),
        ],
    )
    comps = components(compile_problem(problem_from_dict(data)))
    assert sorted(sorted(c.units) for c in comps) == [[0, 1], [2, 3]]


def test_busy_week_plan_is_valid_and_beats_the_greedy_floor():
    data = busy_week(units=40, requests=1000, days=5, seed=5)
    result = solve(problem_from_dict(data), work_limit=40)
    assert result.status in (Status.FEASIBLE, Status.OPTIMAL)
    assert violations(data, result_to_dict(result)) == []
    assert result.objective is not None and result.bound is not None
    assert result.stats["greedy_objective"] <= result.objective <= result.bound
    assert result.stats["reproducible"] is True
    assert 0 < result.stats["work"] <= 40


def _comparable(result: Result) -> dict[str, Any]:
    """Return the result file without what only the clock decides (the seconds taken)."""
    data = result_to_dict(result)
    data.pop("wall_seconds")
    for comp in data["stats"]["components"]:
        comp.pop("seconds")
    return data


@contextmanager
def _both_cores_busy() -> Iterator[None]:
    """Keep every core busy with a spinning process while the block runs."""
    spin = [sys.executable, "-c", "while True: pass"]
    hogs = [subprocess.Popen(spin) for _ in range(max(2, os.cpu_count() or 2))]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


@pytest.mark.parametrize(
    "data",
    [
        # One component small enough for a whole CP-SAT model, then LNS rounds.
        busy_week(units=8, requests=60, days=2, seed=7),
        # Components only LNS improves (more than 300 step-unit alternatives), with the LP.
        busy_week(units=20, requests=300, days=3, seed=3),
    ],
    ids=["whole-model", "lns"],
)
def test_same_seed_and_work_limit_give_the_same_plan_under_any_load(data):
    problem = problem_from_dict(data)
    quiet = solve(problem, work_limit=30, seed=3, workers=2)
    with _both_cores_busy():
        loaded = solve(problem, work_limit=30, seed=3, workers=2)
    assert quiet.stats["reproducible"] and loaded.stats["reproducible"]
    assert _comparable(quiet) == _comparable(loaded)
    assert quiet.stats["work"] > 0


def test_a_time_limit_that_cuts_a_budgeted_solve_says_it_may_not_repeat():
    problem = problem_from_dict(busy_week(units=20, requests=300, days=3, seed=3))
    result = solve(problem, work_limit=1_000_000, time_limit=1.0)
    assert result.status in (Status.FEASIBLE, Status.OPTIMAL)
    assert result.stats["reproducible"] is False
    assert result.stats["work_limit"] == 1_000_000 and result.stats["time_limit"] == 1.0


def test_a_wall_clock_solve_is_not_reproducible_and_records_its_settings():
    problem = problem_from_dict(busy_week(units=8, requests=60, days=2, seed=7))
    stats = solve(problem, time_limit=1, seed=5, workers=1).stats
    assert stats["reproducible"] is False
    assert (stats["seed"], stats["workers"], stats["time_limit"], stats["work_limit"]) == (
        5,
        1,
        1,
        None,
    )


def test_progress_reports_never_lose_weight():
    seen: list[Progress] = []
    problem = problem_from_dict(busy_week(units=12, requests=200, days=3, seed=11))
    result = solve(problem, work_limit=30, on_progress=seen.append)
    objectives = [p.objective for p in seen]
    assert objectives and objectives == sorted(objectives)
    assert objectives[-1] == result.objective
    assert all(p.objective <= p.bound + 1e-9 for p in seen)
    assert seen[-1].components_done == seen[-1].components_total


def test_fractional_weights_are_summed_exactly_and_bounded_from_above():
    from scheduler.check import check

    requests = [
        request(f"r{i}", step(60, "a"), weight=w, deadline=at(120))
        for i, w in enumerate([0.1, 0.2, 0.35, 1 / 3])
    ]
    data = problem_dict([{"id": "a"}], requests)
    result = result_to_dict(solve(problem_from_dict(data), work_limit=100))
    assert check(data, result) == []
    assert result["objective"] == 0.35 + 1 / 3
    assert result["status"] == "OPTIMAL" and result["bound"] == result["objective"]


def test_solver_finds_the_pair_that_beats_the_densest_request():
    from scheduler.greedy import weighted_greedy
    from scheduler.plan import plan_weight

    requests = [
        request("dense", step(180, "a"), weight=4, deadline=at(240)),
        request("half-1", step(120, "a"), weight=2.5, deadline=at(240)),
        request("half-2", step(120, "a"), weight=2.5, deadline=at(240)),
    ]
    problem = problem_from_dict(problem_dict([{"id": "a"}], requests))
    inst = compile_problem(problem)
    assert plan_weight(inst, weighted_greedy(inst, time_budget=1e-9)) == 4000
    result = solve(problem, work_limit=100)
    assert result.objective == 5 and result.status is Status.OPTIMAL
