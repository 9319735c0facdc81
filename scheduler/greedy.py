"""Greedy planners: first come, first served (the baseline) and a weighted warm start.

Both place whole requests one at a time at their earliest free placement on a :class:`Board`;
they differ only in the order of requests and the choice among equally early units.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable

from scheduler.instance import Alternative, Instance, RequestInfo, compile_problem
from scheduler.plan import Plan, build_result, plan_weight
from scheduler.problem import Problem, Result, Status
from scheduler.timeline import Board

STOP_EVERY = 256
"""A greedy pass asks whether to stop after this many requests."""


def place_in_order(
    inst: Instance,
    order: Iterable[RequestInfo],
    *,
    contention: list[float] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Plan:
    """Place requests in ``order``, each at its earliest free placement; pinned ones first.

    A request its project can no longer afford (``Board.affordable``) is left out.

    ``stop`` is asked every ``STOP_EVERY`` requests after the pinned ones: once it says True,
    the plan placed so far is returned (valid, but with fewer requests)."""
    board = Board.with_pins(inst)
    prefer = None
    if contention is not None:
        load = contention

        def prefer(alt: Alternative) -> float:
            return load[alt.unit]

    plan: Plan = {}
    order = list(order)
    pinned = [r for r in order if r.pinned]
    rest = [r for r in order if not r.pinned and not r.impossible]
    for req in pinned:
        placements = board.earliest_request(req, prefer)
        if placements is not None:
            _book_unpinned(board, req, placements)
            plan[req.index] = placements
    for i, req in enumerate(rest):
        if stop is not None and i % STOP_EVERY == STOP_EVERY - 1 and stop():
            break
        if not board.affordable(req):
            continue
        placements = _previous(req) if req.previous else None
        if placements is None or not board.fits(req, placements):
            placements = board.earliest_request(req, prefer)
        if placements is not None:
            board.book(req, placements)
            plan[req.index] = placements
    return plan


def _book_unpinned(board: Board, req: RequestInfo, placements: list[tuple[int, int]]) -> None:
    for step, (u, s) in zip(req.steps, placements, strict=True):
        if step.pinned is None:
            board.lines[u].add(s, s + step.duration, req.project)
            key = (u, req.project)
            board.used[key] = board.used.get(key, 0) + step.duration
    board.plan[req.index] = list(placements)


def _previous(req: RequestInfo) -> list[tuple[int, int]] | None:
    """Return the request's placements of the previous proposal if it had all its steps."""
    if len(req.previous) != len(req.steps):
        return None
    return [req.previous[k] for k in range(len(req.steps))]


def first_come_first_served(problem: Problem) -> Result:
    """Plan requests in arrival order, each at its earliest free placement, else unscheduled."""
    started = time.perf_counter()
    inst = compile_problem(problem)
    plan = place_in_order(inst, inst.requests)
    status = Status.INFEASIBLE if _misses_pinned(inst, plan) else Status.FEASIBLE
    return build_result(
        inst,
        plan,
        status=status,
        bound=None,
        wall_seconds=time.perf_counter() - started,
        stats={"method": "first_come_first_served"},
    )


def _misses_pinned(inst: Instance, plan: Plan) -> bool:
    return bool(inst.errors) or any(r.pinned and r.index not in plan for r in inst.requests)


def unit_contention(inst: Instance) -> list[float]:
    """Return, per unit, the slots requested of it divided by its bookable slots."""
    demand = [0.0] * len(inst.units)
    for req in inst.requests:
        if req.impossible:
            continue
        for step in req.steps:
            live = step.live()
            for alt in live:
                demand[alt.unit] += step.duration / len(live)
    return [d / max(1, u.bookable * u.capacity) for d, u in zip(demand, inst.units, strict=True)]


def request_density(inst: Instance, req: RequestInfo, contention: list[float]) -> float:
    """Return weight per slot of scarce capacity the request would occupy."""
    cost = 0.0
    for step in req.steps:
        live = step.live()
        if not live:
            return 0.0
        cost += step.duration * (0.5 + min(contention[a.unit] for a in live))
    return req.weight / cost


def _slack(req: RequestInfo) -> float:
    """Return how many times the request's steps would fit in its window, minus one."""
    need = sum(s.duration for s in req.steps) or 1
    return max(0.0, (req.deadline - req.release) / need - 1)


def weighted_greedy(
    inst: Instance,
    *,
    seed: int = 0,
    time_budget: float = 0.5,
    requests: list[RequestInfo] | None = None,
    timing: dict[str, float] | None = None,
    clock: bool = True,
    stop: Callable[[], bool] | None = None,
) -> Plan:
    """Return the best of several passes ordered by weight density, randomised by ``seed``.

    ``timing``, if given, receives ``pass_seconds``: the mean wall time of one pass. With
    ``clock`` False the passes are never cut short by a slow machine (a budgeted solve).
    ``stop`` (the solve's deadline or its caller's stop request) ends the passes, even the first
    one half-way (``timing["cut"]`` is then 1).
    """
    started = time.perf_counter()
    pool = inst.requests if requests is None else requests
    contention = unit_contention(inst)
    density = {r.index: request_density(inst, r, contention) for r in pool}
    # Requests with little room to move go first: a wide window can still be served later.
    urgency = {r.index: density[r.index] / (1 + _slack(r)) for r in pool}
    orders = [
        sorted(pool, key=lambda r: (-urgency[r.index], r.index)),
        sorted(pool, key=lambda r: (-density[r.index], r.index)),
        sorted(pool, key=lambda r: (-r.weight, -density[r.index], r.index)),
        sorted(pool, key=lambda r: (r.deadline, -density[r.index], r.index)),
    ]
    # The number of passes follows from the budget and the size, not the clock, so that a run
    # is repeatable; the clock only guards against a slow machine.
    work = sum(len(s.live()) for r in pool for s in r.steps) or 1
    passes = max(1, min(40, int(time_budget / (2e-5 * work))))
    give_up = time.perf_counter() + 2 * time_budget
    best: Plan = {}
    best_weight = -1
    rng = random.Random(seed)
    attempt = 0
    while True:
        if attempt < len(orders):
            order = orders[attempt]
        else:
            key = urgency if attempt % 2 else density
            noise = {r.index: key[r.index] * rng.uniform(0.6, 1.4) for r in pool}
            order = sorted(pool, key=lambda r: (-noise[r.index], r.index))
        plan = place_in_order(inst, order, contention=contention, stop=stop)
        weight = plan_weight(inst, plan)
        if weight > best_weight:
            best, best_weight = plan, weight
        attempt += 1
        cut = stop is not None and stop()
        if cut and timing is not None:
            timing["cut"] = 1.0
        if attempt >= passes or clock and time.perf_counter() > give_up or cut:
            if timing is not None:
                timing["pass_seconds"] = (time.perf_counter() - started) / attempt
            return best


def makespan_greedy(inst: Instance, requests: list[RequestInfo]) -> Plan:
    """Dispatch steps one at a time, earliest start first, most remaining work breaking ties.

    Requests with a maximum lag are placed whole (their steps depend on each other).
    """
    board = Board.with_pins(inst)
    plan: Plan = {}
    whole = [r for r in requests if any(s.max_lag is not None for s in r.steps) or r.pinned]
    for req in whole:
        placements = board.earliest_request(req)
        if placements is not None:
            _book_unpinned(board, req, placements)
            plan[req.index] = placements
    stepwise = [r for r in requests if r not in whole and not r.impossible]
    next_step = {r.index: 0 for r in stepwise}
    ready = {r.index: r.release for r in stepwise}
    partial: dict[int, list[tuple[int, int]]] = {r.index: [] for r in stepwise}
    remaining = {r.index: sum(s.duration for s in r.steps) for r in stepwise}
    active = list(stepwise)
    while active:
        best = None
        best_key: tuple[int, int, int] = (0, 0, 0)
        for req in active:
            step = req.steps[next_step[req.index]]
            here = board.earliest_step(req, step, ready[req.index] + step.min_lag, None)
            if here is None:
                continue
            key = (here[1], -remaining[req.index], req.index)
            if best is None or key < best_key:
                best, best_key = (req, here), key
        if best is None:
            break
        req, (u, s) = best
        step = req.steps[next_step[req.index]]
        board.lines[u].add(s, s + step.duration, req.project)
        partial[req.index].append((u, s))
        ready[req.index] = s + step.duration
        remaining[req.index] -= step.duration
        next_step[req.index] += 1
        if next_step[req.index] == len(req.steps):
            plan[req.index] = partial[req.index]
            active.remove(req)
    return plan


def fill(inst: Instance, plan: Plan, requests: list[RequestInfo]) -> Plan:
    """Return ``plan`` plus any of ``requests`` that still fit at their earliest free place
    and within their project's budget."""
    board = Board(inst)
    for r, places in plan.items():
        board.book(inst.requests[r], places)
    contention = unit_contention(inst)
    waiting = [r for r in requests if r.index not in plan and not r.impossible]
    waiting.sort(key=lambda r: (-request_density(inst, r, contention), r.index))
    out = dict(plan)
    for req in waiting:
        if not board.affordable(req):
            continue
        placements = board.earliest_request(req)
        if placements is not None:
            board.book(req, placements)
            out[req.index] = placements
    return out
