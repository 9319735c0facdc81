"""solve(): static analysis, decomposition, greedy warm start, CP-SAT per component, Result."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from scheduler import lns
from scheduler.bound import relaxation
from scheduler.greedy import fill, makespan_greedy, weighted_greedy
from scheduler.instance import Instance, RequestInfo, compile_problem
from scheduler.model import Model, build_model, prefer_secondary
from scheduler.plan import Plan, build_result, objective_value, plan_makespan, plan_weight
from scheduler.problem import Problem, Result, Status
from scheduler.reasons import unplaceable_alone
from scheduler.timeline import Board


@dataclass(frozen=True)
class Progress:
    """A snapshot of the search, summed (or for makespan, maxed) over components."""

    objective: float
    bound: float
    elapsed_seconds: float
    components_done: int
    components_total: int


ProgressCallback = Callable[[Progress], None]


@dataclass
class Component:
    """Units linked by requests that may use them, and those requests."""

    units: list[int]
    requests: list[RequestInfo]
    size: int
    plan: Plan = field(default_factory=dict)
    value: int = 0
    """Score (weight) or makespan of ``plan``, in model units."""
    bound: int = 0
    status: str = "GREEDY"
    greedy_value: int = 0
    valid: bool = True
    """Whether ``plan`` obeys every hard rule of the component (pinned and makespan ones)."""
    seconds: float = 0.0
    guide: dict[int, float] | None = None
    """Request index -> how much of it the LP relaxation accepts, once solved."""


def components(inst: Instance) -> list[Component]:
    """Split the requests that can be placed into groups that share no unit."""
    parent = list(range(len(inst.units)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    live = [r for r in inst.requests if not r.impossible]
    for req in live:
        units = [a.unit for s in req.steps for a in s.live()]
        for u in units[1:]:
            ru, r0 = find(u), find(units[0])
            if ru != r0:
                parent[ru] = r0
    groups: dict[int, Component] = {}
    for req in live:
        root = find(req.steps[0].live()[0].unit)
        comp = groups.setdefault(root, Component([], [], 0))
        comp.requests.append(req)
        comp.size += sum(len(s.live()) for s in req.steps)
    for u in range(len(inst.units)):
        if find(u) in groups:
            groups[find(u)].units.append(u)
    return sorted(groups.values(), key=lambda c: -c.size)


class _Tracker:
    def __init__(
        self,
        inst: Instance,
        comps: list[Component],
        started: float,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.inst = inst
        self.comps = comps
        self.started = started
        self.on_progress = on_progress
        self.done = 0
        self.scale = inst.score_scale
        self.last: float | None = None

    def objective(self) -> float:
        if self.inst.makespan:
            return max((c.value for c in self.comps), default=0) * self.inst.granularity
        return sum(c.value for c in self.comps) / self.scale

    def bound(self) -> float:
        if self.inst.makespan:
            return max((c.bound for c in self.comps), default=0) * self.inst.granularity
        return sum(c.bound for c in self.comps) / self.scale

    def report(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        objective = self.objective()
        better = self.last is None or (
            objective < self.last if self.inst.makespan else objective > self.last
        )
        if better or force:
            self.last = objective
            self.on_progress(
                Progress(
                    objective,
                    self.bound(),
                    time.perf_counter() - self.started,
                    self.done,
                    len(self.comps),
                )
            )


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(self, comp: Component, tracker: _Tracker, makespan: bool) -> None:
        super().__init__()
        self.comp = comp
        self.tracker = tracker
        self.makespan = makespan

    def on_solution_callback(self) -> None:
        value = round(self.objective_value)
        better = value < self.comp.value if self.makespan else value > self.comp.value
        if better or not self.comp.valid:
            self.comp.value = value
            self.comp.valid = True
            self.tracker.report()


def solve(
    problem: Problem,
    *,
    time_limit: float = 60.0,
    workers: int = 2,
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
) -> Result:
    """Plan ``problem`` within ``time_limit`` seconds of wall clock and return the Result."""
    started = time.perf_counter()
    # Leave room for writing the result and for a loaded machine.
    margin = min(1.0, 0.1 + 0.03 * time_limit) + 4e-5 * len(problem.requests)
    stop_at = started + time_limit - margin
    inst = compile_problem(problem)
    pins = Board.with_pins(inst)
    for req in inst.requests:
        if not req.impossible and unplaceable_alone(req, pins):
            req.impossible = True
    stats: dict[str, Any] = {}
    if inst.errors or pins.collisions:
        errors = inst.errors + pins.collisions
        return _give_up(inst, Status.INFEASIBLE, started, {"errors": errors})
    doomed = [r.id for r in inst.requests if r.impossible and (r.pinned or inst.makespan)]
    if doomed:
        return _give_up(
            inst,
            Status.INFEASIBLE,
            started,
            {"errors": [f"request {rid!r} cannot be placed at all" for rid in doomed]},
        )

    comps = components(inst)
    greedy_budget = max(0.02, min(1.0, 0.04 * time_limit))
    total_size = sum(c.size for c in comps) or 1
    pass_seconds = 0.0
    for i, comp in enumerate(comps):
        pass_seconds += _warm_start(inst, comp, seed + i, greedy_budget * comp.size / total_size)
    # Filling gaps and writing reasons cost about two greedy passes; on a loaded machine the
    # passes were slow too, so this reserve grows with the load.
    stop_at = min(stop_at, started + time_limit - 0.05 - 2.5 * pass_seconds)
    tracker = _Tracker(inst, comps, started, on_progress)
    tracker.report(force=True)

    sizes = [0 if _settled(inst, c) else c.size for c in comps]
    # With one worker the solver stops on deterministic time, fixed here from sizes alone, so
    # that the same seed gives the same plan; wall-clock shares only guard the time limit.
    usable = stop_at - time.perf_counter()
    for i, comp in enumerate(comps):
        if sizes[i] == 0:
            comp.status = "OPTIMAL"
        else:
            share = (stop_at - time.perf_counter()) * sizes[i] / sum(sizes[i:])
            dtime = usable * sizes[i] / sum(sizes) * DTIME_PER_SECOND
            _improve(inst, comp, share, workers, seed, tracker, dtime)
        tracker.done += 1
        tracker.report(force=tracker.done == len(comps))

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


def _warm_start(inst: Instance, comp: Component, seed: int, budget: float) -> float:
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
            inst, seed=seed, time_budget=budget, requests=comp.requests, timing=timing
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


LNS_SIZE = 300
"""Components with more (step, unit) alternatives than this are improved by LNS rounds only;
smaller ones first get one CP-SAT model for a share of their time (it may prove optimality)."""
FULL_MODEL_SHARE = 0.5
DTIME_PER_SECOND = 0.01
"""With one worker, CP-SAT deterministic time allowed per second of the limit. CP-SAT does
0.02-0.15 units per second on these models, so this budget, not the clock, ends the search."""
LP_SIZE = 150
"""Components with more alternatives than this also get the LP bound (CP-SAT's is weak)."""
LP_SECONDS = 1.0
"""The LP bound is skipped when less time than this is left for a component."""


def _improve(
    inst: Instance,
    comp: Component,
    share: float,
    workers: int,
    seed: int,
    tracker: _Tracker,
    dtime: float,
) -> None:
    """Improve the component's plan for ``share`` seconds: one CP-SAT model, then LNS rounds."""
    began = time.perf_counter()
    stop_at = began + share
    if not inst.makespan and comp.size > LP_SIZE and share > LP_SECONDS:
        relaxed = relaxation(inst, comp.requests)
        if relaxed is not None:
            comp.bound = min(comp.bound, int(relaxed.bound + 1e-6))
            comp.guide = relaxed.accepted
        tracker.report(force=True)
        if comp.valid and comp.value >= comp.bound:
            comp.status = "OPTIMAL"
            comp.seconds = time.perf_counter() - began
            return
    lns_ok = comp.valid and not inst.makespan
    if not lns_ok or comp.size <= LNS_SIZE:
        whole = FULL_MODEL_SHARE if lns_ok else 1.0
        _solve_whole(inst, comp, share * whole, workers, seed, tracker, dtime * whole)
    if lns_ok and comp.status not in ("OPTIMAL", "INFEASIBLE") and comp.value < comp.bound:
        used = dtime * FULL_MODEL_SHARE if comp.size <= LNS_SIZE else 0.0
        _improve_by_lns(inst, comp, stop_at, workers, seed, tracker, dtime - used)
    comp.seconds = time.perf_counter() - began


def _solve_whole(
    inst: Instance,
    comp: Component,
    share: float,
    workers: int,
    seed: int,
    tracker: _Tracker,
    dtime: float,
) -> None:
    began = time.perf_counter()
    upper = comp.value if inst.makespan and comp.valid else None
    model = build_model(inst, comp.requests, upper=upper, secondary=True)
    if comp.valid:
        model.hint(comp.plan)
    left = share - (time.perf_counter() - began)
    if left <= 0.02:
        return
    solver = _solver(left, workers, seed, dtime)
    status = solver.solve(model.cp, _Callback(comp, tracker, inst.makespan))
    comp.status = solver.status_name(status)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        _take(inst, comp, model, solver)
        if inst.makespan:
            comp.bound = max(comp.bound, int(solver.best_objective_bound + 0.999999))
        else:
            comp.bound = min(comp.bound, int(solver.best_objective_bound + 1e-6))
        if status == cp_model.OPTIMAL and not inst.makespan:
            comp.bound = comp.value
            left = share - (time.perf_counter() - began)
            if left > 0.05:
                _polish(model, comp, left, workers, seed, dtime - solver.deterministic_time)
    elif status == cp_model.INFEASIBLE:
        comp.valid = False


def _improve_by_lns(
    inst: Instance,
    comp: Component,
    stop_at: float,
    workers: int,
    seed: int,
    tracker: _Tracker,
    dtime: float,
) -> None:
    def better(plan: Plan, value: int) -> None:
        comp.value = value
        tracker.report()

    began = time.perf_counter()
    comp.plan = fill(inst, comp.plan, comp.requests)
    comp.value = plan_weight(inst, comp.plan)
    stop_at -= time.perf_counter() - began
    comp.plan = lns.improve(
        inst,
        comp.requests,
        dict(comp.plan),
        stop_at=stop_at,
        workers=workers,
        seed=seed,
        on_better=better,
        deterministic_time=dtime if workers == 1 else None,
        guide=comp.guide,
    )
    comp.plan = fill(inst, comp.plan, comp.requests)
    comp.value = plan_weight(inst, comp.plan)
    comp.status = "OPTIMAL" if comp.value >= comp.bound else "FEASIBLE"


def _take(inst: Instance, comp: Component, model: Model, solver: cp_model.CpSolver) -> None:
    plan = model.read_plan(solver)
    if inst.makespan:
        value = plan_makespan(inst, plan)
        better = not comp.valid or value <= comp.greedy_value
    else:
        value = plan_weight(inst, plan)
        better = not comp.valid or value >= comp.greedy_value
    if better:
        comp.plan, comp.value, comp.valid = plan, value, True
    else:
        comp.value = comp.greedy_value


def _polish(
    model: Model, comp: Component, left: float, workers: int, seed: int, dtime: float
) -> None:
    """Among plans of the best weight, keep previous places and finish early."""
    prefer_secondary(model, comp.value)
    model.hint(comp.plan)
    solver = _solver(left, workers, seed, dtime)
    status = solver.solve(model.cp)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        plan = model.read_plan(solver)
        if plan_weight(model.inst, plan) >= comp.value:
            comp.plan = plan


def _solver(seconds: float, workers: int, seed: int, dtime: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = max(0.01, seconds)
    params.num_workers = max(1, workers)
    params.random_seed = seed
    if workers == 1:
        params.max_deterministic_time = max(0.01, dtime)
    return solver
