"""Project budgets: every path of the solver keeps a project's accepted requests within what
its budget leaves, says so in an ``over-budget`` reason, and the checker holds it to that."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ortools.sat.python import cp_model
from scheduler_instances import at, busy_week, problem_dict, request, step, violations

from scheduler import (
    Budget,
    ProblemError,
    Status,
    first_come_first_served,
    problem_from_dict,
    problem_to_dict,
    result_to_dict,
    solve,
)
from scheduler.check import check
from scheduler.cpsat import lns
from scheduler.cpsat.bound import capacity_bound, relaxation_bound
from scheduler.cpsat.model import build_model
from scheduler.cpsat.search import LNS_SIZE
from scheduler.greedy import fill, weighted_greedy
from scheduler.instance import Instance, compile_problem
from scheduler.plan import Plan, plan_weight
from scheduler.solve import components

ROOT = Path(__file__).resolve().parents[2]
Json = dict[str, Any]


def shop(budget: int | None, *, pinned: bool = False) -> Json:
    """Return a day on two units where project p asks for four runs and q for one.

    p's runs cost 60, 50, 40 and 400 yuan for weights 3, 2, 2 and 9; with 100 yuan the best
    set is the first and the third (weight 5); the 400-yuan run never fits such a budget."""
    requests = [
        request("r1", step(60, "a", cost_fen=6000), project="p", weight=3),
        request("r2", step(60, "a", cost_fen=5000), project="p", weight=2),
        request("r3", step(60, "b", cost_fen=4000), project="p", weight=2),
        request("r4", step(60, "b", cost_fen=40000), project="p", weight=9),
        request("q1", step(60, "a", cost_fen=99999), project="q", weight=1),
    ]
    extra: Json = {}
    if budget is not None:
        extra["budgets"] = [{"project": "p", "remaining_fen": budget}]
    if pinned:
        extra["pinned"] = [{"request": "r2", "step": 0, "resource": "a", "start": at(0)}]
    return problem_dict([{"id": "a"}, {"id": "b"}], requests, **extra)


def inst_of(data: Json) -> Instance:
    return compile_problem(problem_from_dict(data))


def spent(inst: Instance, plan: Plan, project: str) -> int:
    """Return what the plan's requests of ``project`` cost, pinned ones included."""
    return sum(
        inst.requests[r].cost for r in plan if inst.projects[inst.requests[r].project] == project
    )


def solved(data: Json, work_limit: float = 200) -> Json:
    result = result_to_dict(solve(problem_from_dict(data), work_limit=work_limit))
    assert violations(data, result) == []
    assert check(data, result) == []
    return result


def accepted(result: Json) -> set[str]:
    return {a["request"] for a in result["assignments"]}


def reasons(result: Json) -> dict[str, Json]:
    return {u["request"]: u for u in result["unscheduled"]}


# --- the problem file ----------------------------------------------------------------------


def test_costs_and_budgets_round_trip_through_the_problem_file():
    problem = problem_from_dict(shop(10000, pinned=True))
    assert problem.budgets == (Budget("p", 10000),)
    assert problem.requests[3].steps[0].cost_fen == 40000
    assert problem_from_dict(json.loads(json.dumps(problem_to_dict(problem)))) == problem


def test_a_problem_without_costs_writes_no_budget_fields():
    data = problem_dict([{"id": "a"}], [request("r1", step(60, "a"))])
    written = problem_to_dict(problem_from_dict(data))
    assert "budgets" not in written
    assert "cost_fen" not in written["requests"][0]["steps"][0]
    assert problem_from_dict(data).budgets == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["requests"][0]["steps"][0].update(cost_fen=-1),
            "requests[0].steps[0].cost_fen",
        ),
        (lambda d: d["requests"][0]["steps"][0].update(cost_fen=1.5), "must be an integer"),
        (lambda d: d["budgets"][0].update(remaining_fen=-5), "budgets[0].remaining_fen"),
        (lambda d: d["budgets"][0].update(remaining_fen=10**13), "between 0 and"),
        (lambda d: d["budgets"].append(dict(d["budgets"][0])), "budgets[1].project: project 'p'"),
        (lambda d: d["budgets"][0].pop("remaining_fen"), "missing required field"),
        (lambda d: d["budgets"][0].update(yuan=3), "budgets[0].yuan: unknown field"),
    ],
)
def test_a_malformed_budget_or_cost_names_its_field(change, message):
    data = shop(10000)
    change(data)
    with pytest.raises(ProblemError) as info:
        problem_from_dict(data)
    assert message in str(info.value)


# --- each path: the budget holds when it binds, and costs nothing when it does not ----------


def test_greedy_keeps_a_project_within_its_budget():
    inst = inst_of(shop(10000))
    plan = weighted_greedy(inst, seed=0)
    assert spent(inst, plan, "p") <= 10000
    assert inst.requests[3].index not in plan  # 400 yuan alone is over the budget
    fcfs = first_come_first_served(problem_from_dict(shop(10000)))
    cost = {r.id: r.cost for r in inst.requests}
    assert sum(cost[a.request] for a in fcfs.assignments if a.request != "q1") <= 10000


def test_greedy_places_everything_under_a_budget_that_does_not_bind():
    inst = inst_of(shop(10**6))
    assert len(weighted_greedy(inst, seed=0)) == 5
    assert len(fill(inst, {}, inst.requests)) == 5


def test_the_model_picks_the_heaviest_set_the_budget_allows():
    inst = inst_of(shop(10000))
    live = [r for r in inst.requests if not r.impossible]
    model = build_model(inst, live)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert model.solve(solver) == cp_model.OPTIMAL
    plan = model.read_plan(solver)
    assert {inst.requests[r].id for r in plan} == {"r1", "r3", "q1"}
    assert spent(inst, plan, "p") == 10000


def test_the_model_cannot_accept_a_set_over_the_budget():
    inst = inst_of(shop(10000))
    model = build_model(inst, [r for r in inst.requests if not r.impossible])
    for req in inst.requests[:3]:
        model.cp.add(model.accept[req.index] == 1)  # 60 + 50 + 40 yuan
    assert model.solve(cp_model.CpSolver()) == cp_model.INFEASIBLE
    loose = inst_of(shop(15000))
    model = build_model(loose, [r for r in loose.requests if not r.impossible])
    for req in loose.requests[:3]:
        model.cp.add(model.accept[req.index] == 1)
    assert model.solve(cp_model.CpSolver()) == cp_model.OPTIMAL


def test_the_model_counts_what_requests_outside_it_spend():
    inst = inst_of(shop(10000))
    model = build_model(inst, inst.requests[:3], spent={inst.requests[0].project: 6000})
    model.cp.add(model.accept[inst.requests[1].index] == 1)  # 50 more yuan: 110 in all
    assert model.solve(cp_model.CpSolver()) == cp_model.INFEASIBLE


def test_large_neighbourhood_search_swaps_within_the_budget():
    inst = inst_of(shop(10000))
    # Start from r2 and r3 (90 yuan, weight 4): adding r1 is over the budget, swapping r2 for
    # it is not.
    start: Plan = {1: [(0, 0)], 2: [(1, 0)]}
    better = lns.improve(
        inst,
        [r for r in inst.requests if not r.impossible],
        dict(start),
        stop_at=math.inf,
        seed=0,
        on_better=lambda plan, weight: None,
        rounds=40,
    )
    assert spent(inst, better, "p") <= 10000
    assert {inst.requests[r].id for r in better} == {"r1", "r3", "q1"}
    assert plan_weight(inst, better) == 6


def test_large_neighbourhood_search_never_adds_past_a_spent_budget():
    inst = inst_of(shop(9000))
    # r2 and r3 spend the whole 90 yuan; r1 would fit the units but not the budget.
    start: Plan = {1: [(0, 0)], 2: [(1, 0)]}
    better = lns.improve(
        inst,
        [r for r in inst.requests if not r.impossible],
        dict(start),
        stop_at=math.inf,
        seed=0,
        on_better=lambda plan, weight: None,
        rounds=40,
    )
    assert spent(inst, better, "p") <= 9000
    assert "r1" not in {inst.requests[r].id for r in better}


def test_a_binding_budget_plans_its_projects_units_together():
    inst = inst_of(shop(10000))
    comps = components(inst)
    assert [sorted(c.units) for c in comps] == [[0, 1]]


def test_a_budget_that_does_not_bind_leaves_components_apart():
    inst = inst_of(shop(10**6))
    assert sorted(sorted(c.units) for c in components(inst)) == [[0], [1]]
    inst = inst_of(shop(None))
    assert len(components(inst)) == 2


def test_a_solve_across_components_is_optimal_within_the_budget():
    data = shop(10000)
    # Unit b alone could take r3 and r5 (70 yuan) while unit a takes r1 (60): each part is
    # within the budget, the whole is not.
    data["requests"].append(request("r5", step(60, "b", cost_fen=3000), project="p"))
    result = solved(data)
    assert accepted(result) == {"r1", "r3", "q1"}
    assert result["status"] == "OPTIMAL" and result["objective"] == 6


def test_a_solve_with_room_in_the_budget_places_every_affordable_request():
    result = solved(shop(10**6, pinned=True))
    assert accepted(result) == {"r1", "r2", "r3", "r4", "q1"}


def test_the_bounds_count_the_budget():
    for budget, best in ((10000, 6), (None, 17)):
        inst = inst_of(shop(budget))
        live = [r for r in inst.requests if not r.impossible]
        assert relaxation_bound(inst, live) == pytest.approx(best)
        assert capacity_bound(inst, live) == pytest.approx(best)


def test_min_makespan_cannot_place_requests_over_the_budget():
    data = shop(50000)
    data["objective"] = "min_makespan"
    result = solve(problem_from_dict(data), work_limit=50)
    assert result.status is Status.INFEASIBLE
    assert "project 'p'" in result.stats["errors"][0]
    data["budgets"][0]["remaining_fen"] = 60000
    assert solved(data)["status"] == "OPTIMAL"


def test_large_components_keep_every_budget_through_lns():
    data = busy_week(units=10, requests=160, days=3, seed=4)
    for i, req in enumerate(data["requests"]):
        req["project"] = f"p{i % 6}"
        for s in req["steps"]:
            s["cost_fen"] = 100 * s["duration_minutes"]
    data["budgets"] = [{"project": f"p{k}", "remaining_fen": 300_000} for k in range(4)]
    problem = problem_from_dict(data)
    inst = compile_problem(problem)
    assert max(c.size for c in components(inst)) > LNS_SIZE
    result = solved(data, work_limit=20)
    assert result["status"] in ("FEASIBLE", "OPTIMAL")
    cost = {r["id"]: sum(s["cost_fen"] for s in r["steps"]) for r in data["requests"]}
    project = {r["id"]: r["project"] for r in data["requests"]}
    for k in range(4):
        assert sum(cost[r] for r in accepted(result) if project[r] == f"p{k}") <= 300_000
    over = [u for u in result["unscheduled"] if u["code"] == "over-budget"]
    assert over and all(u["args"]["project"] in {"p0", "p1", "p2", "p3"} for u in over)


# --- the reason ----------------------------------------------------------------------------


def test_a_request_the_spent_budget_keeps_out_names_the_amounts():
    u = reasons(solved(shop(10000)))["r2"]
    assert u["code"] == "over-budget" and u["kind"] == "competition"
    assert u["args"] == {
        "project": "p",
        "budget_fen": 10000,
        "committed_fen": 10000,
        "cost_fen": 5000,
    }
    assert "CNY 100.00" in u["reason"] and "CNY 50.00" in u["reason"]
    assert "'q'" not in u["reason"] and "q1" not in u["reason"]


def test_a_request_dearer_than_the_whole_budget_is_impossible():
    u = reasons(solved(shop(10000)))["r4"]
    assert u["code"] == "over-budget" and u["kind"] == "impossible"
    assert u["args"]["committed_fen"] == 0 and u["args"]["cost_fen"] == 40000
    assert "CNY 400.00" in u["reason"]


def test_pinned_requests_use_the_budget_first():
    # r2 is approved (50 yuan) and stays; 50 yuan are left: r3 (40) fits, r1 (60) does not.
    result = solved(shop(10000, pinned=True))
    assert accepted(result) == {"r2", "r3", "q1"}
    u = reasons(result)["r1"]
    assert u["code"] == "over-budget" and u["kind"] == "impossible"
    assert u["args"]["committed_fen"] == 5000 and "approved bookings" in u["reason"]


def test_pinned_requests_over_the_budget_stay_and_only_free_requests_join():
    data = shop(3000, pinned=True)
    data["requests"].append(request("free", step(60, "b"), project="p"))
    result = solved(data)
    assert {"r2", "free"} <= accepted(result)
    assert {"r1", "r3", "r4"} <= set(reasons(result))


# --- the checker ---------------------------------------------------------------------------


def over_budget_result(data: Json) -> Json:
    """Return the solver's plan for ``data`` with r2 added beside r1 and r3 (150 yuan)."""
    result = solved(data)
    result["unscheduled"] = [u for u in result["unscheduled"] if u["request"] != "r2"]
    result["assignments"].append(
        {"request": "r2", "step": 0, "resource": "a", "start": 600, "end": 660}
    )
    result["objective"] += 2
    result["bound"] = result["objective"]
    return result


def test_the_checker_catches_a_plan_over_a_budget():
    data = shop(10000)
    lines = check(data, over_budget_result(data))
    assert len(lines) == 1, lines
    assert lines[0].code == "over-budget"  # type: ignore[attr-defined]
    assert "project 'p'" in lines[0] and "15000 fen" in lines[0] and "10000 fen" in lines[0]


def test_the_checker_passes_the_same_plan_under_a_larger_budget():
    data = shop(10000)
    result = over_budget_result(data)
    data["budgets"][0]["remaining_fen"] = 15000
    assert check(data, result) == []
    del data["budgets"]
    assert check(data, result) == []


def test_the_checker_lets_pinned_requests_exceed_the_budget_alone():
    data = shop(3000, pinned=True)
    result = solved(data)
    assert "r2" in accepted(result)
    result["assignments"].append(
        {"request": "r3", "step": 0, "resource": "b", "start": 600, "end": 660}
    )
    result["unscheduled"] = [u for u in result["unscheduled"] if u["request"] != "r3"]
    result["objective"] += 2
    result["bound"] = result["objective"]
    lines = check(data, result)
    assert len(lines) == 1 and "over its budget of 3000 fen" in lines[0], lines


def test_scheduler_check_command_exits_1_on_an_over_budget_plan(tmp_path):
    data = shop(10000)
    problem, result = tmp_path / "p.json", tmp_path / "r.json"
    problem.write_text(json.dumps(data))
    result.write_text(json.dumps(over_budget_result(data)))
    done = subprocess.run(
        [sys.executable, "-m", "scheduler", "check", str(problem), str(result)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "over its budget of 10000 fen" in done.stdout + done.stderr
