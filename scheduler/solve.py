"""solve(): static analysis, decomposition, greedy warm start, CP-SAT per component, Result."""

from __future__ import annotations

import math
import time
from typing import Any

from scheduler.components import Component, Progress, ProgressCallback, Tracker, components
from scheduler.greedy import makespan_greedy, weighted_greedy
from scheduler.instance import Instance, compile_problem
from scheduler.plan import Plan, build_result, objective_value, plan_makespan, plan_weight
from scheduler.problem import Problem, Result, Status
from scheduler.reasons import unplaceable_alone
from scheduler.timeline import Board

__all__ = ["Component", "Progress", "ProgressCallback", "components", "solve"]

DEFAULT_TIME_LIMIT = 60.0
"""Seconds of wall clock a solve without a work limit may take, unless told otherwise."""
DTIME_PER_SECOND = 0.01
"""With one worker, CP-SAT deterministic time allowed per second of the limit. CP-SAT does
0.02-0.15 units per second on these models, so this budget, not the clock, ends the search."""


def solve(
    problem: Problem,
    *,
    time_limit: float | None = None,
    workers: int = 2,
    seed: int = 0,
    work_limit: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> Result:
    """Plan ``problem`` and return the Result.

    Without ``work_limit`` the search ends by the wall clock, after ``time_limit`` seconds
    (default 60): how far it gets depends on the machine and its load. With ``work_limit``
    (work units: ``scheduler.cpsat.search.WORK_DTIME``) it does exactly that much work, so the same
    problem, seed and work limit give the same plan on any machine under any load (``workers``
    is then not used: each model runs on one CP-SAT worker). ``time_limit`` is then only a
    safety cap (default none); if it ends the search first, ``stats.reproducible`` is false.
    """
    started = time.perf_counter()
    budgeted = work_limit is not None
    if time_limit is None and not budgeted:
        time_limit = DEFAULT_TIME_LIMIT
    replay: dict[str, Any] = {
        "seed": seed,
        "workers": workers,
        "time_limit": time_limit,
        "work_limit": work_limit,
    }
    limit = math.inf if time_limit is None else time_limit
    # Leave room for writing the result and for a loaded machine.
    margin = min(1.0, 0.1 + 0.03 * limit) + 4e-5 * len(problem.requests)
    stop_at = started + limit - margin
    inst = compile_problem(problem)
    pins = Board.with_pins(inst)
    for req in inst.requests:
        if not req.impossible and unplaceable_alone(req, pins):
            req.impossible = True
    stats: dict[str, Any] = dict(replay, work=0.0, reproducible=budgeted)
    if inst.errors or pins.collisions:
        errors = inst.errors + pins.collisions
        return _give_up(inst, Status.INFEASIBLE, started, {**stats, "errors": errors})
    doomed = [r.id for r in inst.requests if r.impossible and (r.pinned or inst.makespan)]
    if doomed:
        return _give_up(
            inst,
            Status.INFEASIBLE,
            started,
            {**stats, "errors": [f"request {rid!r} cannot be placed at all" for rid in doomed]},
        )

    comps = components(inst)
    # A budgeted solve makes as many greedy passes as a long wall-clock one.
    greedy_budget = 1.0 if budgeted else max(0.02, min(1.0, 0.04 * limit))
    total_size = sum(c.size for c in comps) or 1
    pass_seconds = 0.0
    for i, comp in enumerate(comps):
        budget = greedy_budget * comp.size / total_size
        pass_seconds += _warm_start(inst, comp, seed + i, budget, clock=not budgeted)
    # Filling gaps and writing reasons cost about two greedy passes; on a loaded machine the
    # passes were slow too, so this reserve grows with the load.
    stop_at = min(stop_at, started + limit - 0.05 - 2.5 * pass_seconds)
    tracker = Tracker(inst, comps, started, on_progress)
    tracker.report(force=True)

    sizes = [0 if _settled(inst, c) else c.size for c in comps]
    # With one worker the solver stops on deterministic time, fixed here from sizes alone, so
    # that the same seed gives the same plan; wall-clock shares only guard the time limit.
    # With a work limit, the work is shared out by sizes and by the work done before alone.
    usable = stop_at - time.perf_counter()
    work_left = work_limit or 0.0
    for i, comp in enumerate(comps):
        if sizes[i] == 0:
            comp.status = "OPTIMAL"
        else:
            share = stop_at - time.perf_counter()
            if not budgeted:
                share *= sizes[i] / sum(sizes[i:])
            dtime = usable * sizes[i] / sum(sizes) * DTIME_PER_SECOND
            work = work_left * sizes[i] / sum(sizes[i:]) if budgeted else None
            # OR-Tools loads here, not on `import scheduler`: it takes a second or more.
            from scheduler.cpsat.search import improve

            improve(inst, comp, share, workers, seed, tracker, dtime, work)
            work_left = max(0.0, work_left - comp.work)
        tracker.done += 1
        tracker.report(force=tracker.done == len(comps))
    # Every wall-clock cap of a budgeted search ends at stop_at: if the search ended before
    # it, work alone ended it.
    cut = time.perf_counter() >= stop_at - 0.01
    stats["work"] = round(sum(c.work for c in comps), 3)
    stats["reproducible"] = budgeted and not cut

    plan: Plan = {}
    for comp in comps:
        plan.update(comp.plan)
    stats["components"] = [
        {
            "units": len(c.units),
            "requests": len(c.requests),
            "status": c.status,
            "greedy": c.greedy_value,
            "value": c.value,
            "bound": c.bound,
            "seconds": round(c.seconds, 3),
            "work": round(c.work, 3),
        }
        for c in comps
    ]
    stats["greedy_objective"] = _greedy_objective(inst, comps)
    if not all(c.valid for c in comps):
        proven = any(c.status == "INFEASIBLE" for c in comps)
        return _give_up(inst, Status.INFEASIBLE if proven else Status.UNKNOWN, started, stats)
    objective = objective_value(inst, plan)
    bound = tracker.bound()
    optimal = all(c.status == "OPTIMAL" for c in comps) or tracker.objective() == bound
    if optimal:
        bound = objective
    elif not inst.makespan:
        # Scores round non-integer weights to 0.001, so widen the bound by that rounding.
        slack = 0.0 if tracker.scale == 1 else 0.5 * len(inst.requests) / tracker.scale
        bound = max(objective, bound + slack)
    return build_result(
        inst,
        plan,
        status=Status.OPTIMAL if optimal else Status.FEASIBLE,
        bound=bound,
        wall_seconds=time.perf_counter() - started,
        stats=stats,
    )


def _greedy_objective(inst: Instance, comps: list[Component]) -> float:
    if inst.makespan:
        return max((c.greedy_value for c in comps), default=0) * inst.granularity
    return sum(c.greedy_value for c in comps) / inst.score_scale


def _give_up(inst: Instance, status: Status, started: float, stats: dict[str, Any]) -> Result:
    return build_result(
        inst,
        {},
        status=status,
        bound=None,
        wall_seconds=time.perf_counter() - started,
        stats=stats,
    )


def _warm_start(
    inst: Instance, comp: Component, seed: int, budget: float, *, clock: bool = True
) -> float:
    """Plan the component greedily; return the seconds one greedy pass took."""
    began = time.perf_counter()
    timing: dict[str, float] = {}
    if inst.makespan:
        comp.plan = makespan_greedy(inst, comp.requests)
        comp.valid = len(comp.plan) == len(comp.requests)
        comp.value = plan_makespan(inst, comp.plan) if comp.valid else inst.horizon + 1
        comp.bound = _makespan_lower_bound(inst, comp)
    else:
        comp.plan = weighted_greedy(
            inst,
            seed=seed,
            time_budget=budget,
            requests=comp.requests,
            timing=timing,
            clock=clock,
        )
        comp.valid = all(r.index in comp.plan for r in comp.requests if r.pinned)
        comp.value = plan_weight(inst, comp.plan) if comp.valid else -1
        comp.bound = sum(r.score for r in comp.requests)
    comp.greedy_value = comp.value
    return timing.get("pass_seconds", time.perf_counter() - began)


def _makespan_lower_bound(inst: Instance, comp: Component) -> int:
    lower = 0
    load: dict[int, int] = {}
    for req in comp.requests:
        lower = max(lower, req.release + sum(s.duration + s.min_lag for s in req.steps))
        for step in req.steps:
            live = step.live()
            if len(live) == 1:
                load[live[0].unit] = load.get(live[0].unit, 0) + step.duration
    return max([lower, *load.values()])


def _settled(inst: Instance, comp: Component) -> bool:
    """Return True if the warm start is already optimal for the main objective."""
    if not comp.valid:
        return False
    if inst.makespan:
        return comp.value <= comp.bound
    return comp.value >= comp.bound and not any(r.previous for r in comp.requests)
