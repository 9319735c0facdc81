"""Large-neighbourhood search: it adds weight and, doing so, keeps the previous proposal."""

import time

from scheduler_instances import at, problem_dict, request, step

from scheduler import problem_from_dict
from scheduler.instance import Instance, compile_problem
from scheduler.lns import improve
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
        stop_at=time.perf_counter() + 3,
        seed=0,
        on_better=lambda plan, weight: None,
    )
    assert plan_weight(inst, better) == plan_weight(inst, plan) + 100
    # Moving one run opens two hours but leaves it nowhere to go: the fewest moves are two (one
    # run shifts half an hour to open an hour, where the run in the long one's way goes).
    moved = [i for i, places in plan.items() if better.get(i) != places]
    assert len(moved) == 2
