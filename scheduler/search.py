"""Improve one component's plan with CP-SAT: one model for small components, then LNS.

This is the only part of ``solve()`` that needs OR-Tools, so ``solve`` imports it when a
component needs improving and ``import scheduler`` stays quick.
"""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from scheduler import lns
from scheduler.bound import relaxation
from scheduler.components import Component, Tracker
from scheduler.greedy import fill
from scheduler.instance import Instance
from scheduler.model import Model, build_model, prefer_secondary
from scheduler.plan import Plan, plan_makespan, plan_weight


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(self, comp: Component, tracker: Tracker, makespan: bool) -> None:
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


LNS_SIZE = 300
"""Components with more (step, unit) alternatives than this are improved by LNS rounds only;
smaller ones first get one CP-SAT model for a share of their time (it may prove optimality)."""
FULL_MODEL_SHARE = 0.5
LP_SIZE = 150
"""Components with more alternatives than this also get the LP bound (CP-SAT's is weak)."""
LP_SECONDS = 1.0
"""The LP bound is skipped when less time than this is left for a component."""


def improve(
    inst: Instance,
    comp: Component,
    share: float,
    workers: int,
    seed: int,
    tracker: Tracker,
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
    tracker: Tracker,
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
    status = model.solve(solver, _Callback(comp, tracker, inst.makespan))
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
    tracker: Tracker,
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
    status = model.solve(solver)
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
