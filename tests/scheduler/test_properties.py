"""Random mid-sized problems: every plan obeys the rules and reports its own weight."""

import importlib.util
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scheduler_instances import at, busy_week, violations

from scheduler import (
    Status,
    first_come_first_served,
    problem_from_dict,
    result_to_dict,
    solve,
)


@st.composite
def weeks(draw: st.DrawFn) -> dict[str, Any]:
    data = busy_week(
        units=draw(st.integers(2, 8)),
        requests=draw(st.integers(1, 40)),
        days=draw(st.integers(1, 3)),
        seed=draw(st.integers(0, 10_000)),
        granularity=draw(st.sampled_from([1, 15, 30])),
        multi_step=draw(st.sampled_from([0.0, 0.3, 0.8])),
    )
    if draw(st.booleans()):
        data["fair_share"] = {"max_fraction": draw(st.sampled_from([0.2, 0.5, 1.0]))}
    if draw(st.booleans()):
        # Three projects with budgets that bind: each step costs 10 yuan an hour.
        for i, req in enumerate(data["requests"]):
            req["project"] = f"p{i % 3}"
            for spec in req["steps"]:
                spec["cost_fen"] = 1000 * spec["duration_minutes"] // 60
        data["budgets"] = [
            {"project": f"p{k}", "remaining_fen": draw(st.integers(0, 20_000))} for k in range(2)
        ]
    if draw(st.booleans()):
        plan = first_come_first_served(problem_from_dict(data))
        picks = draw(st.lists(st.integers(0, 1000), max_size=3))
        pinned = {}
        for pick in picks:
            if plan.assignments:
                a = plan.assignments[pick % len(plan.assignments)]
                pinned[(a.request, a.step)] = {
                    "request": a.request,
                    "step": a.step,
                    "resource": a.resource,
                    "start": at(a.start),
                }
        data["pinned"] = list(pinned.values())
    return data


def _check(data: dict[str, Any], result: dict[str, Any]) -> None:
    assert violations(data, result) == []
    if importlib.util.find_spec("scheduler.check") is not None:
        from scheduler.check import check

        assert check(data, result) == []


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weeks())
def test_every_plan_obeys_the_rules_and_reports_its_weight(data: dict[str, Any]) -> None:
    problem = problem_from_dict(data)
    fcfs = first_come_first_served(problem)
    result = solve(problem, work_limit=10)
    if fcfs.status is Status.FEASIBLE:
        _check(data, result_to_dict(fcfs))
    assert result.status in (Status.OPTIMAL, Status.FEASIBLE)
    as_dict = result_to_dict(result)
    _check(data, as_dict)
    accepted = {a.request for a in result.assignments}
    assert result.objective == sum(r.weight for r in problem.requests if r.id in accepted)
    assert result.bound is not None and result.objective <= result.bound + 1e-9
    assert len(accepted) + len(result.unscheduled) == len(problem.requests)
