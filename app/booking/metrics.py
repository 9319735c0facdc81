"""How good a plan is: accepted weight and hours, and utilisation of each unit's open hours."""

from __future__ import annotations

from typing import Any

import scheduler
from app.booking.models import RequestStatus
from app.booking.problems import ProblemIndex
from app.intervals import subtract, total_length


def bookable_minutes(problem: scheduler.Problem, resource: scheduler.Resource) -> float:
    """Return a unit's open minutes over the horizon, without blackouts, times its capacity."""
    horizon = [(problem.horizon.start, problem.horizon.end)]
    windows = horizon if resource.open is None else list(resource.open)
    bookable = total_length(subtract(windows, resource.blackouts))
    return bookable.total_seconds() / 60 * resource.capacity


def plan_metrics(
    problem: scheduler.Problem, result: scheduler.Result, index: ProblemIndex
) -> dict[str, Any]:
    """Return the plan's numbers over the requests it had to place (not the published ones)."""
    to_place = {
        rid: req for rid, req in index.requests.items() if req.status != RequestStatus.BOOKED
    }
    accepted = {a.request for a in result.assignments} & set(to_place)
    accepted_minutes = sum(a.end - a.start for a in result.assignments if a.request in accepted)
    busy: dict[str, float] = {}
    for a in result.assignments:
        busy[a.resource] = busy.get(a.resource, 0) + (a.end - a.start)
    units: dict[str, float] = {}
    total_open = total_busy = 0.0
    for resource in problem.resources:
        open_minutes = bookable_minutes(problem, resource)
        used = busy.get(resource.id, 0.0)
        total_open += open_minutes
        total_busy += used
        units[resource.id.removeprefix("u")] = (
            round(used / open_minutes, 4) if open_minutes else 0.0
        )
    excluded_weight = sum(e.request.weight for e in index.excluded.values())
    return {
        "requests": len(to_place) + len(index.excluded),
        "requested_weight": sum(r.weight for r in to_place.values()) + excluded_weight,
        "accepted_requests": len(accepted),
        "accepted_weight": sum(to_place[rid].weight for rid in accepted),
        "accepted_hours": round(accepted_minutes / 60, 2),
        "utilisation": round(total_busy / total_open, 4) if total_open else 0.0,
        "units": units,
    }
