"""solve(): static analysis, decomposition, greedy warm start, CP-SAT per component, Result."""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

from scheduler.components import Component, Progress, ProgressCallback, Tracker, components
from scheduler.deadline import Stopper, StopRequest
from scheduler.greedy import makespan_greedy, weighted_greedy
from scheduler.instance import Instance, compile_problem
from scheduler.plan import Plan, build_result, objective_value, plan_makespan, plan_weight
from scheduler.problem import Problem, Result, Status
from scheduler.reasons import explain, unplaceable_alone
from scheduler.timeline import Board

__all__ = ["Component", "Progress", "ProgressCallback", "StopRequest", "components", "solve"]

DEFAULT_TIME_LIMIT = 60.0
"""Seconds of wall clock a solve without a work limit may take, unless told otherwise."""
WRITE_SECONDS_PER_REQUEST = 2e-4
"""Time kept for turning the result into a file, per request of the problem."""
CANCEL_SECONDS = 0.3
"""Once cancelled, the seconds left for writing full reasons before they turn cheap."""
EXPLAIN_SAMPLE = 40
"""Left-out requests whose reasons are timed to reserve time for writing the result."""
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
    should_stop: StopRequest | None = None,
    started: float | None = None,
) -> Result:
    """Plan ``problem`` and return the Result.

    Without ``work_limit`` the search ends by the wall clock, after ``time_limit`` seconds
    (default 60): how far it gets depends on the machine and its load. With ``work_limit``
    (work units: ``scheduler.cpsat.search.WORK_DTIME``) it does exactly that much work, so the same
    problem, seed and work limit give the same plan on any machine under any load (``workers``
    is then not used: each model runs on one CP-SAT worker). ``time_limit`` is then only a
    safety cap (default none); if it ends the search first, ``stats.reproducible`` is false.

    Every phase (warm start, bound, search, writing the result) ends by the time limit;
    ``stats.cut`` names the phases it cut short. ``should_stop`` (a callable or a
    ``threading.Event``) asks the solve to stop early: it is asked from a watcher thread too,
    and the solve then returns within a fraction of a second with the best plan so far and
    ``stats.cancelled`` true. ``started`` is the ``time.perf_counter()`` at which the time
    limit began to run (default: now), so that a caller can count its own loading in it.
    """
    started = time.perf_counter() if started is None else started
    with Stopper(math.inf, should_stop) as stopper:
        return _solve(
            problem, time_limit, workers, seed, work_limit, on_progress, stopper, started
        )


def _solve(
    problem: Problem,
    time_limit: float | None,
    workers: int,
    seed: int,
    work_limit: float | None,
    on_progress: ProgressCallback | None,
    stopper: Stopper,
    started: float,
) -> Result:
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
    stopper.deadline = stop_at
    inst = compile_problem(problem)
    pins = Board.with_pins(inst)
    for req in inst.requests:
        if not req.impossible and unplaceable_alone(req, pins):
            req.impossible = True
    stats: dict[str, Any] = dict(replay, work=0.0, reproducible=budgeted)
    if inst.errors or pins.collisions:
        errors = inst.errors + pins.collisions
        return _give_up(inst, Status.INFEASIBLE, started, {**stats, "errors": errors})
    unaffordable = _unaffordable(inst) if inst.makespan else []
    if unaffordable:
        return _give_up(inst, Status.INFEASIBLE, started, {**stats, "errors": unaffordable})
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
        pass_seconds += _warm_start(inst, comp, seed + i, budget, stopper, clock=not budgeted)
    # The warm start is the first plan: say so before timing anything else.
    tracker = Tracker(inst, comps, started, on_progress)
    tracker.report(force=True)
    # Filling gaps and writing reasons cost about two greedy passes; on a loaded machine the
    # passes were slow too, so this reserve grows with the load. Explaining every request
    # left out may cost more: it is timed on a sample.
    reserve = 2.5 * pass_seconds
    if limit != math.inf:
        reserve = max(reserve, _explain_seconds(inst, comps))
    stop_at = min(stop_at, started + limit - _write_seconds(len(inst.requests)) - reserve)
    stopper.deadline = stop_at

    sizes = [0 if _settled(inst, c) else c.size for c in comps]
    # With one worker the solver stops on deterministic time, fixed here from sizes alone, so
    # that the same seed gives the same plan; wall-clock shares only guard the time limit.
    # With a work limit, the work is shared out by sizes and by the work done before alone.
    usable = stop_at - time.perf_counter()
    work_left = work_limit or 0.0
    for i, comp in enumerate(comps):
        if sizes[i] == 0:
            comp.status = "OPTIMAL"
        elif stopper.done():
            stopper.note_cut("search")
        else:
            share = stop_at - time.perf_counter()
            if not budgeted:
                share *= sizes[i] / sum(sizes[i:])
            dtime = usable * sizes[i] / sum(sizes) * DTIME_PER_SECOND
            work = work_left * sizes[i] / sum(sizes[i:]) if budgeted else None
            # OR-Tools loads here, not on `import scheduler`: it takes a second or more.
            from scheduler.cpsat.search import improve

            improve(inst, comp, share, workers, seed, tracker, dtime, work, stopper)
            work_left = max(0.0, work_left - comp.work)
        tracker.done += 1
        tracker.report(force=tracker.done == len(comps))
    # Every wall-clock cap of a budgeted search ends at stop_at: if the search ended before
    # it, work alone ended it.
    cut = time.perf_counter() >= stop_at - 0.01
    stats["work"] = round(sum(c.work for c in comps), 3)
    stats["reproducible"] = budgeted and not cut and not stopper.cut and not stopper.cancelled
    stats["cut"] = list(stopper.cut)
    stats["cancelled"] = stopper.cancelled

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
    stats["proven"] = optimal
    if optimal:
        bound = objective
    elif not inst.makespan:
        # Scores round non-integer weights to 0.001, so widen the bound by that rounding.
        slack = 0.0 if tracker.scale == 1 else 0.5 * len(inst.requests) / tracker.scale
        bound = max(objective, bound + slack)
    result = build_result(
        inst,
        plan,
        status=Status.OPTIMAL if optimal else Status.FEASIBLE,
        bound=bound,
        wall_seconds=0.0,
        stats=stats,
        explain_until=_explain_until(stopper, started, limit, len(inst.requests)),
    )
    # Writing the reasons is part of the solve's time.
    return dataclasses.replace(result, wall_seconds=time.perf_counter() - started)


def _unaffordable(inst: Instance) -> list[str]:
    """Return why the projects whose requests cost more than their budgets leave cannot all be
    placed, as min_makespan must."""
    cost: dict[int, int] = {}
    for req in inst.requests:
        if not req.pinned:
            cost[req.project] = cost.get(req.project, 0) + req.cost
    errors = []
    for project in sorted(inst.budgets):
        room = inst.headroom(project)
        if room is not None and cost.get(project, 0) > room:
            errors.append(
                f"project {inst.projects[project]!r}: its requests cost {cost[project]} fen, "
                f"more than the {room} fen its budget leaves, and min_makespan places every "
                "request"
            )
    return errors


def _explain_until(stopper: Stopper, started: float, limit: float, requests: int) -> float | None:
    """Return when reasons must turn cheap: soon once cancelled, else before the time limit."""
    if stopper.requested():
        return time.perf_counter() + CANCEL_SECONDS
    if limit == math.inf:
        return None
    return started + limit - _write_seconds(requests)


def _write_seconds(requests: int) -> float:
    """Return the time to keep for writing the result file (JSON with indents: about 0.15 ms
    a request on a loaded machine)."""
    return 0.05 + WRITE_SECONDS_PER_REQUEST * requests


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


def _explain_seconds(inst: Instance, comps: list[Component]) -> float:
    """Return about how long writing the reasons of the warm start's left-out requests takes.

    Times the reasons of a sample of them (at most ``EXPLAIN_SAMPLE``) and scales up, with a
    margin for a machine whose load changes."""
    plan: Plan = {}
    for comp in comps:
        plan.update(comp.plan)
    out = [r for r in inst.requests if r.index not in plan]
    if len(out) < EXPLAIN_SAMPLE:
        return 0.0
    began = time.perf_counter()
    board = Board(inst)
    for r, places in plan.items():
        board.book(inst.requests[r], places)
    booked = time.perf_counter() - began
    sample = out[:: max(1, len(out) // EXPLAIN_SAMPLE)][:EXPLAIN_SAMPLE]
    began = time.perf_counter()
    for req in sample:
        explain(inst, req, board)
    each = (time.perf_counter() - began) / len(sample)
    # The search packs the plan tighter, and a tighter plan takes longer to explain (at
    # 50,000 requests, about four times the warm start's cost a request).
    return 3.0 * (booked + each * len(out))


def _warm_start(
    inst: Instance,
    comp: Component,
    seed: int,
    budget: float,
    stopper: Stopper,
    *,
    clock: bool = True,
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
            stop=stopper.done,
        )
        if timing.get("cut"):
            stopper.note_cut("warm start")
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
