"""Tiny random problems: the solver's weight equals that of the best plan found by enumeration,
and the LP bound is never below it (also when a project's budget limits what it may get)."""

import importlib.util
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scheduler_instances import at, problem_dict, violations

from scheduler import Status, problem_from_dict, result_to_dict, solve
from scheduler.cpsat.bound import relaxation_bound
from scheduler.instance import compile_problem

SLOTS = 6
G = 60


@st.composite
def tiny_problems(draw: st.DrawFn) -> dict[str, Any]:
    units = []
    for uid in ("a", "b"):
        unit: dict[str, Any] = {"id": uid, "capacity": draw(st.sampled_from([1, 1, 2]))}
        if draw(st.booleans()):
            unit["changeover_minutes"] = draw(st.sampled_from([30, 60]))
        if draw(st.booleans()):
            lo = draw(st.integers(0, 2))
            unit["open"] = [[at(lo * G), at(draw(st.integers(lo + 2, SLOTS)) * G)]]
        if draw(st.booleans()):
            b = draw(st.integers(0, SLOTS - 1))
            unit["blackouts"] = [[at(b * G), at(b * G + 30)]]
        units.append(unit)
    requests = []
    for i in range(draw(st.integers(1, 4))):
        steps = []
        for k in range(draw(st.integers(1, 2))):
            spec: dict[str, Any] = {
                "resources": draw(st.sampled_from([["a"], ["b"], ["a", "b"]])),
                "duration_minutes": draw(st.sampled_from([45, 60, 90, 120])),
                "attended": draw(st.booleans()),
            }
            if k:
                spec["min_lag_minutes"] = draw(st.sampled_from([0, 60]))
                spec["max_lag_minutes"] = draw(st.sampled_from([None, 60, 120]))
            steps.append(spec)
        release = draw(st.integers(0, 2))
        requests.append(
            {
                "id": f"r{i}",
                "project": draw(st.sampled_from(["p", "q"])),
                "steps": steps,
                "weight": draw(st.integers(1, 5)),
                "release": at(release * G),
                "deadline": at(draw(st.integers(release + 1, SLOTS)) * G),
            }
        )
    extra: dict[str, Any] = {}
    if draw(st.booleans()):
        for spec in (s for r in requests for s in r["steps"]):
            spec["cost_fen"] = draw(st.sampled_from([0, 100, 200, 300]))
        extra["budgets"] = [{"project": "p", "remaining_fen": draw(st.integers(0, 600))}]
    return problem_dict(units, requests, hours=SLOTS, granularity_minutes=G, **extra)


def _slot(text: str) -> int:
    from scheduler_instances import _minutes

    return _minutes(text) // G


def best_weight(data: dict[str, Any]) -> int:
    """Return the best accepted weight over all plans, by backtracking over every placement."""
    units = {u["id"]: u for u in data["resources"]}
    booked: list[tuple[str, int, int, str]] = []

    def fits(unit: dict[str, Any], start: int, end: int, attended: bool, project: str) -> bool:
        if attended and "open" in unit:
            if not any(
                _slot(a) * G <= start * G and end * G <= _minutes_of(b) for a, b in unit["open"]
            ):
                return False
        for a, b in unit.get("blackouts", []):
            if start * G < _minutes_of(b) and _minutes_of(a) < end * G:
                return False
        same = [(s, e, p) for u, s, e, p in booked if u == unit["id"]]
        for t in range(start, end):
            if sum(s <= t < e for s, e, _ in same) >= unit["capacity"]:
                return False
        co = math.ceil(unit.get("changeover_minutes", 0) / G) if unit["capacity"] == 1 else 0
        clash = [s < end + co and start < e + co for s, e, p in same if p != project]
        return co == 0 or not any(clash)

    budgets = {b["project"]: b["remaining_fen"] for b in data.get("budgets", [])}
    spent: dict[str, int] = {}

    def affordable(req: dict[str, Any]) -> bool:
        cost = sum(s.get("cost_fen", 0) for s in req["steps"])
        budget = budgets.get(req["project"])
        return budget is None or spent.get(req["project"], 0) + cost <= budget

    def place(reqs: list[dict[str, Any]], k: int, prev_end: int | None, weight: int) -> int:
        if not reqs:
            return weight
        req = reqs[0]
        cost = sum(s.get("cost_fen", 0) for s in req["steps"])
        if k == len(req["steps"]):
            spent[req["project"]] = spent.get(req["project"], 0) + cost
            best = place(reqs[1:], 0, None, weight + req["weight"])
            spent[req["project"]] -= cost
            return best
        if k == 0 and not affordable(req):
            return place(reqs[1:], 0, None, weight)
        spec = req["steps"][k]
        length = math.ceil(spec["duration_minutes"] / G)
        lo, hi = _slot(req["release"]), _slot(req["deadline"])
        best = place(reqs[1:], 0, None, weight) if k == 0 else -1
        for uid in spec["resources"]:
            for start in range(lo, hi - length + 1):
                if prev_end is not None:
                    gap = (start - prev_end) * G
                    if gap < spec.get("min_lag_minutes", 0):
                        continue
                    if spec.get("max_lag_minutes") is not None and gap > spec["max_lag_minutes"]:
                        continue
                if not fits(units[uid], start, start + length, spec["attended"], req["project"]):
                    continue
                booked.append((uid, start, start + length, req["project"]))
                best = max(best, place(reqs, k + 1, start + length, weight))
                booked.pop()
        return best

    return place(data["requests"], 0, None, 0)


def _minutes_of(text: str) -> int:
    from scheduler_instances import _minutes

    return _minutes(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_problems())
def test_solver_weight_equals_brute_force_optimum(data: dict[str, Any]) -> None:
    problem = problem_from_dict(data)
    result = solve(problem, work_limit=1000)
    inst = compile_problem(problem)
    lp = relaxation_bound(inst, [r for r in inst.requests if not r.impossible])
    assert lp is not None and lp >= best_weight(data) - 1e-6
    as_dict = result_to_dict(result)
    assert violations(data, as_dict) == []
    assert result.status is Status.OPTIMAL
    assert result.objective == best_weight(data)
    assert result.objective == sum(
        r["weight"] for r in data["requests"] if r["id"] in {a.request for a in result.assignments}
    )
    if importlib.util.find_spec("scheduler.check") is not None:
        from scheduler.check import check

        assert check(data, as_dict) == []
