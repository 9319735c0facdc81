"""A plan (where each accepted request's steps go) and its translation to a Result."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from scheduler.instance import Instance
from scheduler.problem import Assignment, Result, Status, Unscheduled
from scheduler.reasons import Clock, explain
from scheduler.timeline import Board

Plan = dict[int, list[tuple[int, int]]]
"""request index -> ``(unit, start slot)`` per step, for every accepted request."""


def plan_weight(inst: Instance, plan: Plan) -> int:
    """Return the integer score of the accepted requests."""
    return sum(inst.requests[r].score for r in plan)


def plan_makespan(inst: Instance, plan: Plan) -> int:
    """Return the latest end slot of any step in the plan."""
    return max(
        (
            s + inst.requests[r].steps[k].duration
            for r, places in plan.items()
            for k, (_, s) in enumerate(places)
        ),
        default=0,
    )


def objective_value(inst: Instance, plan: Plan) -> float:
    """Return the objective as the result reports it (weights, or makespan in minutes)."""
    if inst.makespan:
        return plan_makespan(inst, plan) * inst.granularity
    return sum(inst.requests[r].weight for r in plan)


def build_result(
    inst: Instance,
    plan: Plan,
    *,
    status: Status,
    bound: float | None,
    wall_seconds: float,
    stats: Mapping[str, Any],
    explain_until: float | None = None,
) -> Result:
    """Turn ``plan`` into a Result, explaining every unscheduled request.

    After ``explain_until`` (a ``time.perf_counter()``) competition reasons are the cheap
    ``solve-stopped`` one, and ``stats.cut`` gains ``"reasons"``."""
    g = inst.granularity
    clock = Clock(inst)
    assignments = []
    board = Board(inst)
    for r in sorted(plan):
        req = inst.requests[r]
        board.book(req, plan[r])
        for step, (u, s) in zip(req.steps, plan[r], strict=True):
            end = s + step.duration
            assignments.append(
                Assignment(
                    req.id,
                    step.index,
                    inst.units[u].id,
                    s * g,
                    end * g,
                    clock.iso(s),
                    clock.iso(end),
                )
            )
    unscheduled = []
    search = True
    for i, req in enumerate(inst.requests):
        if req.index not in plan:
            if search and explain_until is not None and i % 16 == 0:
                search = time.perf_counter() < explain_until
            reason, kind = explain(inst, req, board, search=search)
            unscheduled.append(Unscheduled(req.id, reason.text, kind, reason.code, reason.args))
    stats_out = dict(stats)
    if not search:
        stats_out["cut"] = [*stats_out.get("cut", []), "reasons"]
        if "reproducible" in stats_out:
            stats_out["reproducible"] = False
    objective: float | None = objective_value(inst, plan)
    if status is Status.INFEASIBLE or status is Status.UNKNOWN:
        objective = None
    return Result(
        status=status,
        objective=objective,
        bound=bound,
        wall_seconds=wall_seconds,
        assignments=tuple(assignments),
        unscheduled=tuple(unscheduled),
        stats=stats_out,
    )
