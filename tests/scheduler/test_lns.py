"""Large-neighbourhood search: it adds weight and, doing so, keeps the previous proposal."""

import math
import threading
import time
from typing import Any

from scheduler_instances import at, problem_dict, request, step

from scheduler import problem_from_dict
from scheduler.cpsat.lns import improve
from scheduler.instance import Instance, compile_problem
from scheduler.plan import Plan, plan_weight


def _spread_day() -> Instance:
    """Sixteen one-hour runs every 90 minutes on one unit, and a two-hour run left out."""
    runs = [request(f"r{i:02d}", step(60, "a")) for i in range(16)]
    previous = [
        {"request": f"r{i:02d}", "step": 0, "resource": "a", "start": at(90 * i)}
        for i in range(16)
    ]
    data = problem_dict(
        [{"id": "a"}],
        [*runs, request("long", step(120, "a"), weight=100)],
        granularity_minutes=15,
        previous=previous,
    )
    return compile_problem(problem_from_dict(data))


def _previous_plan(inst: Instance) -> Plan:
    return {r.index: [r.previous[0]] for r in inst.requests if r.previous}


def test_lns_adds_weight_moving_as_few_previous_steps_as_it_can() -> None:
    inst = _spread_day()
    plan = _previous_plan(inst)
    better = improve(
        inst,
        inst.requests,
        dict(plan),
        stop_at=math.inf,
        seed=0,
        on_better=lambda plan, weight: None,
        rounds=60,
    )
    assert plan_weight(inst, better) == plan_weight(inst, plan) + 100
    # Moving one run opens two hours but leaves it nowhere to go: the fewest moves are two (one
    # run shifts half an hour to open an hour, where the run in the long one's way goes).
    moved = [i for i, places in plan.items() if better.get(i) != places]
    assert len(moved) == 2


def test_lns_plans_obey_fair_share_pins_changeovers_and_capacity() -> None:
    from scheduler_instances import busy_week

    from scheduler import first_come_first_served, result_to_dict, solve
    from scheduler.check import check
    from scheduler.cpsat.search import LNS_SIZE
    from scheduler.solve import components

    data = busy_week(units=10, requests=160, days=3, seed=4)
    # Six projects share the units, so that a project's cap binds on many of them.
    for i, req in enumerate(data["requests"]):
        req["project"] = f"p{i % 6}"
    data["fair_share"] = {"max_fraction": 0.15}
    # Pin a few of first-come-first-served's bookings, as a manager would approve them.
    fcfs = first_come_first_served(problem_from_dict(data))
    data["pinned"] = [
        {"request": a.request, "step": a.step, "resource": a.resource, "start": at(a.start)}
        for a in fcfs.assignments[::25]
    ]
    problem = problem_from_dict(data)
    assert max(c.size for c in components(compile_problem(problem))) > LNS_SIZE
    result = result_to_dict(solve(problem, work_limit=20))
    assert result["status"] in ("FEASIBLE", "OPTIMAL")
    assert check(data, result) == []


def _shared_week() -> dict[str, Any]:
    """Ten units for three days, six projects under fair share, two of them under budgets,
    and a few pinned bookings: every rule a round must keep."""
    from scheduler_instances import busy_week

    from scheduler import first_come_first_served

    data = busy_week(units=10, requests=160, days=3, seed=4)
    for i, req in enumerate(data["requests"]):
        req["project"] = f"p{i % 6}"
        for st in req["steps"]:
            st["cost_fen"] = 1000 * (1 + i % 4)
    data["fair_share"] = {"max_fraction": 0.2}
    data["budgets"] = [
        {"project": "p0", "remaining_fen": 60_000},
        {"project": "p1", "remaining_fen": 90_000},
    ]
    fcfs = first_come_first_served(problem_from_dict(data))
    data["pinned"] = [
        {"request": a.request, "step": a.step, "resource": a.resource, "start": at(a.start)}
        for a in fcfs.assignments[::25]
    ]
    return data


def test_rounds_side_by_side_keep_every_rule_and_drop_what_another_changed() -> None:
    from scheduler import result_to_dict
    from scheduler.check import check
    from scheduler.greedy import weighted_greedy
    from scheduler.plan import build_result
    from scheduler.problem import Status

    data = _shared_week()
    inst = compile_problem(problem_from_dict(data))
    possible = [r for r in inst.requests if not r.impossible]
    start = weighted_greedy(inst, seed=0, time_budget=1.0, requests=possible, clock=False)
    threads: set[str] = set()

    def better(plan: Plan, weight: int) -> None:
        threads.add(threading.current_thread().name)

    done: dict[str, int] = {}
    # Four rounds at once on ten units: they often free the same units.
    plan = improve(
        inst,
        possible,
        dict(start),
        stop_at=time.perf_counter() + 4.0,
        seed=3,
        on_better=better,
        done=done,
        threads=4,
    )
    assert plan_weight(inst, plan) > plan_weight(inst, start)
    # Improvements come from the pool's threads; which of them finds one is down to timing
    # (under load one thread can find them all), so the test asks only that rounds overlapped:
    # a round is dropped only when another, run beside it, changed what it read.
    assert threads and all(name.startswith("lns") for name in threads), threads
    assert done["rounds"] > done["dropped"] > 0
    result = build_result(
        inst, plan, status=Status.FEASIBLE, bound=None, wall_seconds=0.0, stats={}
    )
    assert check(data, result_to_dict(result)) == []
