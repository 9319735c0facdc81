"""An upper bound on the accepted weight from a preemptive, fractional relaxation (an LP).

Each accepted request must deliver every step's duration as processing on its allowed units,
within the time its start set allows, where a unit offers per day no more slots than it has
open (attended steps) or free of blackouts (any step), and a project's accepted requests cost
no more than its budget leaves. Order, lags, changeovers and the rule
that a step runs in one piece are relaxed, so the LP optimum is a valid upper bound; CP-SAT's
own bound on large components is usually far weaker.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ortools.linear_solver import pywraplp

from scheduler.deadline import Stopper
from scheduler.instance import Instance, RequestInfo, Unit

GLOP_PARAMETERS = "use_dual_simplex: true initial_basis: NONE"
"""The dual simplex from a slack basis: the same optimum, found in 14.4 s instead of 28.4 s on
region-20k and 61.9 s instead of 142.7 s on region-50k (2.7-2.9 s either way on region-week)."""


def lp_to_build(alternatives: int) -> float:
    """Return about how much longer building and solving the LP take than building it alone,
    for this many (step, unit) alternatives: 3.5 at 23,000 (region-week), 5.1 at 60,000
    (region-20k), 7.1 at 146,000 (region-50k); this errs on the long side."""
    return 3.0 + alternatives / 25_000


def _usable(unit: Unit, lo: int, hi: int, attended: bool) -> int:
    """Return the slots of ``[lo, hi)`` on ``unit`` that a step may occupy."""
    base = unit.open if attended and unit.open is not None else [(lo, hi)]
    total = 0
    for a, b in base:
        a, b = max(a, lo), min(b, hi)
        if a >= b:
            continue
        total += b - a
        for c, d in unit.blackouts:
            c, d = max(c, a), min(d, b)
            if c < d:
                total -= d - c
    return total


@dataclass(frozen=True)
class Relaxation:
    """The LP optimum: an upper bound on the score, and how much of each request it accepts."""

    bound: float
    accepted: dict[int, float]
    """Request index -> its acceptance variable in the LP optimum, between 0 and 1."""


def relaxation_bound(
    inst: Instance, requests: Sequence[RequestInfo], bucket_minutes: int = 1440
) -> float | None:
    """Return an upper bound on the summed score of ``requests``, or None if the LP fails."""
    relaxed = relaxation(inst, requests, bucket_minutes)
    return None if relaxed is None else relaxed.bound


def relaxation(
    inst: Instance,
    requests: Sequence[RequestInfo],
    bucket_minutes: int = 1440,
    *,
    seconds: float = math.inf,
    stopper: Stopper | None = None,
) -> Relaxation | None:
    """Solve the LP relaxation of ``requests``; None if the LP fails or is cut short.

    Building and solving the LP together take at most ``seconds`` (then it is given up: the
    simplex has no valid bound before it ends) and stop when ``stopper`` says so.

    An attended step on a unit with opening hours is assigned (fractionally) to whole open
    windows, which carry its full duration; consecutive such steps keep their order and maximum
    lag on the windows' earliest starts and latest ends. Other steps are spread preemptively
    over the unit's free time in buckets of ``bucket_minutes``.
    """
    began = time.perf_counter()
    give_up = began + seconds
    stopper = stopper or Stopper(math.inf)
    bucket = max(1, bucket_minutes // inst.granularity)
    buckets = math.ceil(inst.horizon / bucket)
    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:
        return None
    solver.SetSolverSpecificParametersAsString(GLOP_PARAMETERS)
    objective = solver.Objective()
    accepted: dict[int, pywraplp.Variable] = {}
    per_bucket: dict[tuple[int, int], list[tuple[pywraplp.Variable, float]]] = defaultdict(list)
    per_window: dict[tuple[int, int], list[tuple[pywraplp.Variable, float]]] = defaultdict(list)
    # Per window of a unit with changeovers: (share, duration, project) of the steps in it.
    switching: dict[tuple[int, int], list[tuple[pywraplp.Variable, int, int]]] = defaultdict(list)
    ratio = lp_to_build(sum(len(step.live()) for req in requests for step in req.steps))
    for n, req in enumerate(requests):
        if n % 256 == 255:
            now = time.perf_counter()
            if now >= give_up or stopper.done():
                return None
            # Give up early, not at the end of the share, when building and solving would not
            # fit in it (the simplex has no bound to give before it ends).
            if (
                n >= len(requests) // 10
                and began + (now - began) * len(requests) / n * ratio > give_up
            ):
                return None
        x = solver.NumVar(1.0 if req.pinned else 0.0, 1.0, "")
        accepted[req.index] = x
        objective.SetCoefficient(x, req.score)
        times: list[list[tuple[pywraplp.Variable, int, int]] | None] = []
        for step in req.steps:
            demand = solver.Constraint(0.0, 0.0)
            demand.SetCoefficient(x, -1.0)
            placed: list[tuple[pywraplp.Variable, int, int]] | None = []
            for alt in step.live():
                unit = inst.units[alt.unit]
                windows = _windows_of(unit, alt.starts, step.duration, bucket)
                if step.attended and windows is not None:
                    for w, (first, last_end, b) in windows.items():
                        z = solver.NumVar(0.0, 1.0, "")
                        demand.SetCoefficient(z, 1.0)
                        per_window[(alt.unit, w)].append((z, float(step.duration)))
                        if unit.changeover and unit.capacity == 1:
                            switching[(alt.unit, w)].append((z, step.duration, req.project))
                        per_bucket[(alt.unit, b)].append((z, float(step.duration)))
                        if placed is not None:
                            placed.append((z, first, last_end))
                    continue
                placed = None
                lo, hi = alt.starts[0][0], alt.starts[-1][1] + step.duration
                for b in range(lo // bucket, min(buckets, (hi - 1) // bucket + 1)):
                    b_lo, b_hi = max(lo, b * bucket), min(hi, (b + 1) * bucket)
                    room = min(step.duration, _usable(unit, b_lo, b_hi, step.attended))
                    if room <= 0:
                        continue
                    y = solver.NumVar(0.0, float(room) / step.duration, "")
                    cap = solver.Constraint(-solver.infinity(), 0.0)
                    cap.SetCoefficient(y, 1.0)
                    cap.SetCoefficient(x, -float(room) / step.duration)
                    demand.SetCoefficient(y, 1.0)
                    per_bucket[(alt.unit, b)].append((y, float(step.duration)))
            times.append(placed)
        _order_and_lags(solver, req, x, times)
    for (u, b), terms in per_bucket.items():
        unit = inst.units[u]
        room = unit.capacity * _usable(
            unit, b * bucket, min(inst.horizon, (b + 1) * bucket), False
        )
        _at_most(solver, terms, room)
    for (u, w), terms in per_window.items():
        unit = inst.units[u]
        if unit.open is None:
            continue
        a, b = unit.open[w]
        room = unit.capacity * _usable(unit, a, b, True)
        _at_most(solver, terms, room)
        _counts(solver, terms, room)
    for (u, w), shares in switching.items():
        _changeovers(solver, inst.units[u], w, shares)
    _budgets(solver, inst, requests, accepted)
    objective.SetMaximization()
    left = min(give_up, stopper.deadline) - time.perf_counter()
    if left <= 0 or stopper.requested():
        return None
    if left != math.inf:
        solver.SetTimeLimit(max(1, int(left * 1000)))
    with stopper.hook(solver.InterruptSolve):
        status = solver.Solve()
    if status != pywraplp.Solver.OPTIMAL:
        return None
    return Relaxation(
        float(objective.Value()), {i: float(x.solution_value()) for i, x in accepted.items()}
    )


def _budgets(
    solver: Any, inst: Instance, requests: Sequence[RequestInfo], accepted: dict[int, Any]
) -> None:
    """Keep what each budgeted project's requests cost within what its budget leaves."""
    rows: dict[int, Any] = {}
    for req in requests:
        room = inst.headroom(req.project)
        if room is None or req.pinned or not req.cost:
            continue
        if req.project not in rows:
            rows[req.project] = solver.Constraint(-solver.infinity(), float(room))
        rows[req.project].SetCoefficient(accepted[req.index], float(req.cost))


def _changeovers(solver: Any, unit: Unit, w: int, shares: list[tuple[Any, int, int]]) -> None:
    """Charge one changeover per project in an open window, less one.

    Steps of ``m`` projects in one window of a unit of one take ``m - 1`` switches at least,
    each with its changeover between them. A switch may idle through a blackout, so this row
    counts the window's whole length and leaves blackouts to the window's own capacity row.
    ``present[p]`` is at least each share of project ``p``: 1 in a plan where ``p`` is there.
    """
    if unit.open is None:
        return
    a, b = unit.open[w]
    present: dict[int, Any] = {}
    row = solver.Constraint(-solver.infinity(), float(b - a + unit.changeover))
    for z, duration, project in shares:
        row.SetCoefficient(z, row.GetCoefficient(z) + float(duration))
        if project not in present:
            present[project] = solver.NumVar(0.0, 1.0, "")
            row.SetCoefficient(present[project], float(unit.changeover))
        link = solver.Constraint(0.0, solver.infinity())
        link.SetCoefficient(present[project], 1.0)
        link.SetCoefficient(z, -1.0)


def _counts(solver: Any, terms: list[tuple[Any, float]], room: int) -> None:
    """Steps run in one piece: at most ``room // t`` steps of ``t`` slots or more fit a window.

    Without these rows a window of 9 hours holds 1.125 steps of 8 hours; with them, one."""
    lengths = sorted({int(d) for _, d in terms})
    for t in lengths:
        fit = room // t
        longer = [(var, 1.0) for var, d in terms if d >= t]
        if fit < len(longer):
            _at_most(solver, longer, float(fit))


def _at_most(solver: Any, terms: list[tuple[Any, float]], room: float) -> None:
    cap = solver.Constraint(-solver.infinity(), float(room))
    for var, coef in terms:
        cap.SetCoefficient(var, cap.GetCoefficient(var) + coef)


def _windows_of(
    unit: Unit, starts: list[tuple[int, int]], duration: int, bucket: int
) -> dict[int, tuple[int, int, int]] | None:
    """Per open window holding a start: (earliest start, latest end, bucket); None if no hours.

    Also None when a window crosses a bucket boundary: such steps are spread instead.
    """
    if unit.open is None:
        return None
    out: dict[int, tuple[int, int, int]] = {}
    for w, (a, b) in enumerate(unit.open):
        inside = [(max(s, a), min(e, b - duration)) for s, e in starts]
        inside = [(s, e) for s, e in inside if s <= e]
        if not inside:
            continue
        if a // bucket != (b - 1) // bucket:
            return None
        out[w] = (inside[0][0], inside[-1][1] + duration, a // bucket)
    return out


def _order_and_lags(
    solver: Any,
    req: RequestInfo,
    x: Any,
    times: list[list[tuple[Any, int, int]] | None],
) -> None:
    """Keep window-assigned consecutive steps in order and within their maximum lag."""
    for k in range(1, len(req.steps)):
        before, after = times[k - 1], times[k]
        if before is None or after is None:
            continue
        step, prev = req.steps[k], req.steps[k - 1]
        # The later step ends no earlier than the earlier step's start plus both durations.
        order = solver.Constraint(0.0, solver.infinity())
        for z, _, last_end in after:
            order.SetCoefficient(z, float(last_end))
        for z, first, _ in before:
            order.SetCoefficient(z, order.GetCoefficient(z) - float(first))
        order.SetCoefficient(x, -float(prev.duration + step.min_lag + step.duration))
        if step.max_lag is None:
            continue
        lag = solver.Constraint(-solver.infinity(), 0.0)
        for z, first, _ in after:
            lag.SetCoefficient(z, float(first))
        for z, _, last_end in before:
            lag.SetCoefficient(z, lag.GetCoefficient(z) - float(last_end))
        lag.SetCoefficient(x, -float(step.max_lag))


def capacity_bound(
    inst: Instance,
    requests: Sequence[RequestInfo],
    *,
    seconds: float = math.inf,
    stopper: Stopper | None = None,
) -> float | None:
    """Return a cheap upper bound on the summed score: one capacity row per group of units.

    The fallback when the LP of ``relaxation`` cannot finish in its time. Units that some step
    may choose between form a group; the steps placed in a group cannot take more than its
    free time (open time for attended steps). Windows, order and one-piece runs are relaxed, so
    it is weaker than the LP, but it has a row per group, not per day and unit."""
    began = time.perf_counter()
    stopper = stopper or Stopper(math.inf)
    parent = {u: u for u in range(len(inst.units))}

    def find(u: int) -> int:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    for req in requests:
        for step in req.steps:
            units = [a.unit for a in step.live()]
            for u in units[1:]:
                parent[find(u)] = find(units[0])
    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:
        return None
    solver.SetSolverSpecificParametersAsString(GLOP_PARAMETERS)
    free: dict[int, float] = defaultdict(float)
    staffed: dict[int, float] = defaultdict(float)
    for unit in inst.units:
        free[find(unit.index)] += unit.capacity * _usable(unit, 0, inst.horizon, False)
        staffed[find(unit.index)] += unit.capacity * _usable(unit, 0, inst.horizon, True)
    rows_all: dict[int, Any] = {}
    rows_attended: dict[int, Any] = {}
    accepted: dict[int, Any] = {}
    objective = solver.Objective()
    for n, req in enumerate(requests):
        if n % 1024 == 1023 and (time.perf_counter() - began >= seconds or stopper.done()):
            return None
        x = solver.NumVar(1.0 if req.pinned else 0.0, 1.0, "")
        accepted[req.index] = x
        objective.SetCoefficient(x, req.score)
        for step in req.steps:
            live = step.live()
            if not live:
                continue
            g = find(live[0].unit)
            if g not in rows_all:
                rows_all[g] = solver.Constraint(-solver.infinity(), free[g])
                rows_attended[g] = solver.Constraint(-solver.infinity(), staffed[g])
            for row in (rows_all[g], rows_attended[g]) if step.attended else (rows_all[g],):
                row.SetCoefficient(x, row.GetCoefficient(x) + step.duration)
    _budgets(solver, inst, requests, accepted)
    objective.SetMaximization()
    left = min(began + seconds, stopper.deadline) - time.perf_counter()
    if left <= 0 or stopper.requested():
        return None
    if left != math.inf:
        solver.SetTimeLimit(max(1, int(left * 1000)))
    with stopper.hook(solver.InterruptSolve):
        status = solver.Solve()
    return float(objective.Value()) if status == pywraplp.Solver.OPTIMAL else None
