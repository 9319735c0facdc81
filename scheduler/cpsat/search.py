"""Improve one component's plan with CP-SAT: one model for small components, then LNS.

This is the only part of ``solve()`` that needs OR-Tools, so ``solve`` imports it when a
component needs improving and ``import scheduler`` stays quick.
"""

from __future__ import annotations

import math
import os
import time

from ortools.sat.python import cp_model

from scheduler.components import Component, Tracker
from scheduler.cpsat import lns
from scheduler.cpsat.bound import capacity_bound, relaxation
from scheduler.cpsat.model import Model, build_model, prefer_secondary
from scheduler.deadline import Stopper
from scheduler.greedy import fill
from scheduler.instance import Instance
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
BOUND_SHARE = 0.2
"""Share of a wall-clock component's time the LP bound may take; it is given up beyond it."""
LP_WORK = 10.0
"""In a budgeted solve, the LP bound is skipped when a component gets less work than this."""
WORK_DTIME = lns.ROUND_DTIME
"""One work unit of a budgeted solve: one LNS round, or this much of CP-SAT's deterministic
time in a whole-model solve. The same problem, seed and work limit give the same plan."""
POLISH_DTIME = 1e-3
"""In a budgeted solve, the polish is skipped with less deterministic time left than this."""


def improve(
    inst: Instance,
    comp: Component,
    share: float,
    workers: int,
    seed: int,
    tracker: Tracker,
    dtime: float,
    work: float | None = None,
    stopper: Stopper | None = None,
) -> None:
    """Improve the component's plan for ``share`` seconds: one CP-SAT model, then LNS rounds.

    ``stopper`` (the solve's deadline and stop request) cuts every stage short: the LP bound
    gets at most ``BOUND_SHARE`` of a wall-clock share and is given up (the component keeps
    its cheap bound) when it cannot finish in it; CP-SAT and the rounds stop at once when the
    caller asks.

    With ``work`` (work units, see ``WORK_DTIME``) the search is budgeted: it does exactly that
    much work whatever the clock says, so the same seed gives the same plan on any machine.
    ``share`` then only caps the wall clock (``math.inf`` for no cap); ``comp.work`` receives
    the work done."""
    began = time.perf_counter()
    stop_at = began + share
    budgeted = work is not None
    stopper = stopper or Stopper(math.inf)
    if work is not None:
        dtime = work * WORK_DTIME
    lp_worth = share > LP_SECONDS if work is None else work >= LP_WORK
    # A facility-sized component gets the LP too: it is quick there, and its rows for steps
    # that run in one piece often prove the warm start optimal at once.
    small = comp.size <= LNS_SIZE
    if not inst.makespan and comp.size > LP_SIZE and not lp_worth and work is None:
        stopper.note_cut("bound")  # no time left for it
    if not inst.makespan and (comp.size > LP_SIZE and lp_worth or small):
        # A budgeted solve waits for its bound (the bound guides its rounds, so a bound cut
        # by the clock would make the plan depend on the machine); a wall-clock one gives it
        # a share and goes on without it.
        seconds = share if budgeted else share * BOUND_SHARE
        if not budgeted and comp.size > LP_SIZE:
            # First a cheap bound (a fraction of a second), in case the LP cannot finish.
            cheap = capacity_bound(inst, comp.requests, seconds=seconds, stopper=stopper)
            if cheap is not None:
                comp.bound = min(comp.bound, int(cheap + 1e-6))
            seconds -= time.perf_counter() - began
        relaxed = relaxation(inst, comp.requests, seconds=seconds, stopper=stopper)
        if relaxed is None:
            stopper.note_cut("bound")
        else:
            comp.bound = min(comp.bound, int(relaxed.bound + 1e-6))
            if comp.size > LP_SIZE:
                comp.guide = relaxed.accepted
        tracker.report(force=True)
        # A small component with a previous proposal still gets its whole model: among plans
        # of this weight it finds the one that moves the fewest steps.
        keep = small and any(r.previous for r in comp.requests)
        if comp.valid and comp.value >= comp.bound and not keep:
            comp.status = "OPTIMAL"
            comp.seconds = time.perf_counter() - began
            return
    lns_ok = comp.valid and not inst.makespan
    used = 0.0
    if not lns_ok or comp.size <= LNS_SIZE:
        whole = FULL_MODEL_SHARE if lns_ok else 1.0
        # A budgeted search's clock is only a cap, the whole of it for every stage: then a
        # cut ends at the solve's deadline, which is how solve() knows of it.
        seconds = share if budgeted else share * whole
        spent = _solve_whole(
            inst, comp, seconds, workers, seed, tracker, dtime * whole, budgeted, stopper
        )
        comp.work = spent / WORK_DTIME
        # Without a budget the LNS gets what the model was given, not what it used.
        used = spent if budgeted else dtime * FULL_MODEL_SHARE if comp.size <= LNS_SIZE else 0.0
    searching = comp.status not in ("OPTIMAL", "INFEASIBLE") and comp.value < comp.bound
    if lns_ok and searching and not stopper.done():
        rounds = None if work is None else max(0, int(work - comp.work + 1e-9))
        comp.work += _improve_by_lns(
            inst, comp, stop_at, workers, seed, tracker, dtime - used, rounds, stopper
        )
    if stopper.done() and comp.status not in ("OPTIMAL", "INFEASIBLE"):
        stopper.note_cut("search")
    comp.seconds = time.perf_counter() - began


def _solve_whole(
    inst: Instance,
    comp: Component,
    share: float,
    workers: int,
    seed: int,
    tracker: Tracker,
    dtime: float,
    budgeted: bool = False,
    stopper: Stopper | None = None,
) -> float:
    """Solve the component as one model; return the deterministic time CP-SAT used."""
    stopper = stopper or Stopper(math.inf)
    began = time.perf_counter()
    upper = comp.value if inst.makespan and comp.valid else None
    model = build_model(inst, comp.requests, upper=upper, secondary=True)
    if not inst.makespan and comp.bound < sum(r.score for r in comp.requests):
        # The LP's bound holds for every plan: with it CP-SAT proves a plan that meets it.
        model.cp.add(model.weight <= comp.bound)
    if comp.valid:
        model.hint(comp.plan)
    left = share - (time.perf_counter() - began)
    if left <= (0.0 if budgeted else 0.02) or dtime <= 0 or stopper.done():
        return 0.0
    solver = _solver(left, workers, seed, dtime, budgeted)
    with stopper.hook(solver.stop_search):
        status = model.solve(solver, _Callback(comp, tracker, inst.makespan))
    used = solver.deterministic_time
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
            rest = dtime - used
            if stopper.done():
                pass
            elif budgeted and left > 0 and rest >= POLISH_DTIME or not budgeted and left > 0.05:
                used += _polish(model, comp, left, workers, seed, rest, budgeted, stopper)
    elif status == cp_model.INFEASIBLE:
        comp.valid = False
    return used


def _improve_by_lns(
    inst: Instance,
    comp: Component,
    stop_at: float,
    workers: int,
    seed: int,
    tracker: Tracker,
    dtime: float,
    rounds: int | None = None,
    stopper: Stopper | None = None,
) -> float:
    """Improve the component by LNS; return the rounds done."""

    def better(plan: Plan, value: int) -> None:
        comp.value = value
        tracker.report()

    began = time.perf_counter()
    comp.plan = fill(inst, comp.plan, comp.requests)
    comp.value = plan_weight(inst, comp.plan)
    if rounds is None:
        stop_at -= time.perf_counter() - began
    done: dict[str, int] = {}
    comp.plan = lns.improve(
        inst,
        comp.requests,
        dict(comp.plan),
        stop_at=stop_at,
        seed=seed,
        on_better=better,
        deterministic_time=dtime if workers == 1 and rounds is None else None,
        guide=comp.guide,
        rounds=rounds,
        done=done,
        stopper=stopper,
        threads=min(workers, len(os.sched_getaffinity(0))) if rounds is None else 1,
    )
    comp.plan = fill(inst, comp.plan, comp.requests)
    comp.value = plan_weight(inst, comp.plan)
    comp.status = "OPTIMAL" if comp.value >= comp.bound else "FEASIBLE"
    return float(done.get("rounds", 0))


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
    model: Model,
    comp: Component,
    left: float,
    workers: int,
    seed: int,
    dtime: float,
    budgeted: bool = False,
    stopper: Stopper | None = None,
) -> float:
    """Among plans of the best weight, keep previous places and finish early.

    Return the deterministic time CP-SAT used."""
    prefer_secondary(model, comp.value)
    model.hint(comp.plan)
    solver = _solver(left, workers, seed, dtime, budgeted)
    with (stopper or Stopper(math.inf)).hook(solver.stop_search):
        status = model.solve(solver)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        plan = model.read_plan(solver)
        if plan_weight(model.inst, plan) >= comp.value:
            comp.plan = plan
    return float(solver.deterministic_time)


def _solver(
    seconds: float, workers: int, seed: int, dtime: float, budgeted: bool = False
) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    params = solver.parameters
    if seconds != math.inf:
        params.max_time_in_seconds = max(0.01, seconds)
    params.random_seed = seed
    if budgeted:
        # A budgeted solve must not depend on how CP-SAT's threads race: one worker, and
        # deterministic time alone ends the search.
        params.num_workers = 1
        params.max_deterministic_time = max(1e-3, dtime)
        return solver
    params.num_workers = max(1, workers)
    if workers == 1:
        params.max_deterministic_time = max(0.01, dtime)
    return solver
