"""Sentences that tell a startup why its request is not in the plan, and what it can do.

A request is *impossible* when no plan could ever hold it (its window is too short, its units
are closed or in maintenance, its steps cannot follow each other within their lags); it is lost
to *competition* when it fits on an empty calendar but the plan gave its time to others.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from scheduler.instance import Instance, RequestInfo, StepInfo, relaxed
from scheduler.problem import UnscheduledKind
from scheduler.timeline import Board


def duration_text(minutes: int) -> str:
    """Return a duration such as ``4 h``, ``1 h 30 min`` or ``45 min``."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


class _Clock:
    def __init__(self, inst: Instance) -> None:
        problem = inst.problem
        self.start = problem.horizon.start
        self.g = inst.granularity
        self.tz: tzinfo = ZoneInfo(problem.timezone) if problem.timezone else ZoneInfo("UTC")

    def at(self, slot: int) -> datetime:
        return (self.start + timedelta(minutes=slot * self.g)).astimezone(self.tz)

    def text(self, slot: int) -> str:
        moment = self.at(slot)
        return f"{moment.day} {moment:%b %H:%M}"

    def window(self, lo: int, hi: int) -> str:
        return f"{self.text(lo)} – {self.text(hi)}"


def _ids(inst: Instance, step: StepInfo) -> list[str]:
    return [inst.units[a.unit].id for a in step.alternatives]


def _units_phrase(ids: Sequence[str]) -> str:
    if len(ids) == 1:
        return f"the only allowed unit ({ids[0]}) is"
    return f"all {len(ids)} allowed units ({', '.join(ids)}) are"


def _step_name(req: RequestInfo, step: StepInfo) -> str:
    return "the step" if len(req.steps) == 1 else f"step {step.index + 1}"


def impossible_reason(inst: Instance, req: RequestInfo) -> str:
    """Explain why no plan at all can hold ``req``."""
    clock = _Clock(inst)
    g = inst.granularity
    need = sum(s.duration for s in req.steps) + sum(s.min_lag for s in req.steps[1:])
    window = clock.window(req.release, req.deadline)
    if req.deadline - req.release < need:
        return (
            f"the window {window} is shorter than the {duration_text(need * g)} its steps "
            "need; widen the window or shorten the steps"
        )
    for step in req.steps:
        if step.live():
            continue
        ids = _ids(inst, step)
        why = {a.dropped_by for a in step.alternatives}
        what = _step_name(req, step)
        dur = duration_text(step.duration * g)
        if why <= {"open", "window"} and step.attended:
            return (
                f"no allowed unit ({', '.join(ids)}) is open long enough for an attended "
                f"{dur} step ({what}); split it or mark it unattended"
            )
        if why <= {"open", "blackout", "window"}:
            state = "in maintenance" if why == {"blackout"} else "closed or in maintenance"
            if len(ids) == 1:
                return (
                    f"the only allowed unit, {ids[0]}, is {state} for the whole window "
                    f"{window}; choose another window"
                )
            return (
                f"{_units_phrase(ids)} {state} whenever {what} ({dur}) could run in "
                f"{window}; choose another window"
            )
        if why <= {"open", "blackout", "window", "pinned", "pin"}:
            return (
                f"{_units_phrase(ids)} taken by approved bookings whenever {what} "
                f"({dur}) could run in {window}; choose another window"
            )
        # Dropped by the order of steps and their lags: explained below.
    lagged = [s for s in req.steps if s.index and s.max_lag is not None and not s.live()]
    lagged += [s for s in req.steps if s.index and s.max_lag is not None]
    return _chain_reason(inst, req, lagged[0] if lagged else req.steps[-1], window)


def _chain_reason(inst: Instance, req: RequestInfo, step: StepInfo, window: str) -> str:
    g = inst.granularity
    k = step.index
    if k > 0 and step.max_lag is not None:
        return (
            f"step {k + 1}'s units ({', '.join(_ids(inst, step))}) are never free within "
            f"{duration_text(step.max_lag * g)} after step {k} can end inside {window}; "
            "allow a longer gap or other units"
        )
    return (
        f"its {len(req.steps)} steps cannot follow one another inside {window} on open "
        "units; widen the window"
    )


def competition_reason(inst: Instance, req: RequestInfo, board: Board) -> str:
    """Explain which bookings of the plan keep ``req`` out, and when it would fit."""
    clock = _Clock(inst)
    g = inst.granularity
    first = req.steps[0]
    ids = sorted({inst.units[a.unit].id for s in req.steps for a in s.live()})
    between = f"{clock.text(req.release)} and {clock.text(req.deadline)}"
    without_caps = None
    if inst.problem.fair_share is not None:
        caps = board.caps
        board.caps = [None] * len(caps)
        try:
            without_caps = board.earliest_request(req)
        finally:
            board.caps = caps
    if without_caps is not None and inst.problem.fair_share is not None:
        share = round(inst.problem.fair_share.max_fraction * 100)
        return (
            f"project {inst.projects[req.project]!r} already holds its fair share ({share} %) "
            f"of the units this request needs ({', '.join(ids)}); it fits once the project "
            "releases other bookings"
        )
    if len(req.steps) == 1:
        head = f"{_units_phrase(ids)} booked by other requests between {between}"
        what = f"free {duration_text(first.duration * g)} slot"
    else:
        head = (
            f"the units its {len(req.steps)} steps need ({', '.join(ids)}) are booked by "
            f"other requests between {between}"
        )
        what = "time the whole campaign fits"
    wider = relaxed(inst, req)
    later = board.earliest_request(wider, first_step_from=req.release)
    capped = ""
    if later is None and inst.problem.fair_share is not None:
        caps = board.caps
        board.caps = [None] * len(caps)
        try:
            later = board.earliest_request(wider, first_step_from=req.release)
        finally:
            board.caps = caps
        capped = f", but project {inst.projects[req.project]!r} has used its fair share there"
    if later is None:
        return f"{head}; no {what} remains before the planning horizon ends"
    unit, start = later[0]
    return f"{head}; the earliest {what} is {clock.text(start)} on {inst.units[unit].id}{capped}"


def explain(inst: Instance, req: RequestInfo, board: Board) -> tuple[str, UnscheduledKind]:
    """Return the reason ``req`` is unscheduled, and whether it is impossible or competition."""
    if req.impossible:
        return impossible_reason(inst, req), UnscheduledKind.IMPOSSIBLE
    return competition_reason(inst, req, board), UnscheduledKind.COMPETITION


def unplaceable_alone(req: RequestInfo, pins: Board) -> bool:
    """Return True if ``req`` fits nowhere even when only the pinned steps are booked."""
    return pins.earliest_request(req) is None
