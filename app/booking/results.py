"""The one translation from the solver's `Result` back to rows, the reverse of
`problems.build_problem`: each assignment becomes a placed step at the Result's own start and
end, each unplaced request (and each the solver never saw) its reason in words and as data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import scheduler
from app.booking import reasons
from app.booking.models import Booking, BookingRequest, RequestStep
from app.booking.problems import ProblemIndex
from app.catalog.models import Equipment


@dataclass(frozen=True)
class Placed:
    """A step the plan places: on which unit, from when to when, and the published booking it
    keeps or moves (None for a step not booked yet)."""

    request_id: int
    step: RequestStep
    unit: Equipment
    start: datetime
    end: datetime
    booking: Booking | None

    @property
    def pinned(self) -> bool:
        """Tell whether the step is a pinned booking, which the plan keeps where it is."""
        return self.booking is not None and self.booking.pinned


@dataclass(frozen=True)
class Unplaced:
    """A request the plan leaves out, with the solver's reason; `seen` is False for a request
    the solver never saw (a step with no usable unit)."""

    request: BookingRequest
    reason: str
    kind: str
    detail: Any
    seen: bool = True


@dataclass(frozen=True)
class Plan:
    """A Result in terms of rows."""

    placed: list[Placed]
    unplaced: list[Unplaced]


def read_result(result: scheduler.Result, index: ProblemIndex) -> Plan:
    """Translate the solver's result for the problem `index` was built with into rows."""
    placed = []
    for a in result.assignments:
        step = index.steps[(a.request, a.step)]
        placed.append(
            Placed(
                request_id=step.request_id,
                step=step,
                unit=index.units[a.resource],
                start=index.at(a.start),
                end=index.at(a.end),
                booking=index.step_bookings.get((a.request, a.step)),
            )
        )
    unplaced = [
        Unplaced(
            request=index.requests[u.request],
            reason=u.reason,
            kind=u.kind.value,
            detail=reasons.detail(u.code, u.args, index.units),
        )
        for u in result.unscheduled
        if u.request in index.requests
    ]
    unplaced.extend(
        Unplaced(
            request=excluded.request,
            reason=excluded.reason,
            kind=scheduler.UnscheduledKind.IMPOSSIBLE.value,
            detail=reasons.detail(excluded.code, excluded.args, index.units),
            seen=False,
        )
        for excluded in index.excluded.values()
    )
    return Plan(placed, unplaced)
