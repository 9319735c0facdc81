"""Sentences that tell a startup why its request is not in the plan, and what it can do.

A request is *impossible* when no plan could ever hold it (its window is too short, its units
are closed or in maintenance, its steps cannot follow each other within their lags); it is lost
to *competition* when it fits on an empty calendar but the plan gave its time to others.

Every reason carries a stable code and its arguments beside the English sentence, so that a
caller can write the same reason in its users' language with its own names for units and its
own time zone (``FORMAT-EXTENSIONS.md`` lists the codes and their arguments).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.instance import Instance, RequestInfo, StepInfo, compile_problem, relaxed
from scheduler.problem import Problem, UnscheduledKind
from scheduler.timeline import Board

REASON_CODES = (
    "window-too-short",
    "not-open-long-enough",
    "units-in-maintenance",
    "units-closed",
    "units-taken-by-approved-bookings",
    "lag-too-short",
    "steps-cannot-follow",
    "fair-share-used",
    "over-budget",
    "booked-by-others",
    "booked-until-horizon-end",
)
"""Every code a reason may carry; a code's arguments never change meaning once published."""


@dataclass(frozen=True)
class Reason:
    """Why a request is unscheduled: a stable code, its arguments and the English sentence."""

    code: str
    text: str
    args: dict[str, Any] = field(default_factory=dict, hash=False)


def duration_text(minutes: int) -> str:
    """Return a duration such as ``4 h``, ``1 h 30 min`` or ``45 min``."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


class Clock:
    """Slots as moments in the problem's time zone (UTC without one)."""

    def __init__(self, inst: Instance) -> None:
        problem = inst.problem
        self.start = problem.horizon.start
        self.g = inst.granularity
        self.tz: tzinfo = ZoneInfo(problem.timezone) if problem.timezone else ZoneInfo("UTC")

    def at(self, slot: int) -> datetime:
        return (self.start + timedelta(minutes=slot * self.g)).astimezone(self.tz)

    def iso(self, slot: int) -> str:
        return self.at(slot).isoformat()

    def text(self, slot: int) -> str:
        moment = self.at(slot)
        return f"{moment.day} {moment:%b %H:%M}"

    def window(self, lo: int, hi: int) -> str:
        return f"{self.text(lo)} – {self.text(hi)}"

    def window_args(self, req: RequestInfo) -> dict[str, Any]:
        return {"earliest": self.iso(req.release), "deadline": self.iso(req.deadline)}


def _ids(inst: Instance, step: StepInfo) -> list[str]:
    return [inst.units[a.unit].id for a in step.alternatives]


def _units_phrase(ids: Sequence[str]) -> str:
    if len(ids) == 1:
        return f"the only allowed unit ({ids[0]}) is"
    return f"all {len(ids)} allowed units ({', '.join(ids)}) are"


def _step_name(req: RequestInfo, step: StepInfo) -> str:
    return "the step" if len(req.steps) == 1 else f"step {step.index + 1}"


def _step_args(inst: Instance, req: RequestInfo, step: StepInfo) -> dict[str, Any]:
    return {
        "step": step.index + 1,
        "steps": len(req.steps),
        "units": _ids(inst, step),
        "minutes": step.duration * inst.granularity,
    }


def money_text(fen: int) -> str:
    """Return an amount of fen as yuan, such as ``CNY 1,234.50``."""
    return f"CNY {fen // 100:,}.{fen % 100:02d}"


def budget_reason(inst: Instance, req: RequestInfo, board: Board | None = None) -> Reason:
    """Explain that ``req`` costs more than its project's budget leaves.

    ``board`` holds the plan whose accepted requests spend the budget too; without it only
    the project's pinned (approved) requests do, so the request alone is too dear."""
    project = inst.projects[req.project]
    budget = inst.budgets.get(req.project, 0)
    committed = inst.pinned_cost.get(req.project, 0)
    if board is not None:
        committed += board.spent.get(req.project, 0)
    if committed:
        spent = (
            f"its approved bookings and the requests accepted in this plan already commit "
            f"{money_text(committed)}"
        )
        if board is None:
            spent = f"its approved bookings already commit {money_text(committed)}"
        head = (
            f"project {project!r} has a budget of {money_text(budget)} and {spent}; this "
            f"request would cost {money_text(req.cost)} more"
        )
    else:
        head = (
            f"this request would cost {money_text(req.cost)}, more than the budget of "
            f"{money_text(budget)} of project {project!r}"
        )
    if board is None:
        advice = "raise the budget (a voucher or the spending cap) or make the request smaller"
    else:
        advice = "raise the budget (a voucher or the spending cap) or withdraw another request"
    return Reason(
        "over-budget",
        f"{head}; {advice}",
        {
            "project": project,
            "budget_fen": budget,
            "committed_fen": committed,
            "cost_fen": req.cost,
        },
    )


def impossible_reason(inst: Instance, req: RequestInfo) -> Reason:
    """Explain why no plan at all can hold ``req``."""
    if req.over_budget:
        return budget_reason(inst, req)
    clock = Clock(inst)
    g = inst.granularity
    need = sum(s.duration for s in req.steps) + sum(s.min_lag for s in req.steps[1:])
    window = clock.window(req.release, req.deadline)
    if req.deadline - req.release < need:
        return Reason(
            "window-too-short",
            f"the window {window} is shorter than the {duration_text(need * g)} its steps "
            "need; widen the window or shorten the steps",
            {**clock.window_args(req), "minutes": need * g},
        )
    for step in req.steps:
        if step.live():
            continue
        ids = _ids(inst, step)
        why = {a.dropped_by for a in step.alternatives}
        what = _step_name(req, step)
        dur = duration_text(step.duration * g)
        args = {**_step_args(inst, req, step), **clock.window_args(req)}
        if why <= {"open", "window"} and step.attended:
            return Reason(
                "not-open-long-enough",
                f"no allowed unit ({', '.join(ids)}) is open long enough for an attended "
                f"{dur} step ({what}); split it or mark it unattended",
                args,
            )
        if why <= {"open", "blackout", "window"}:
            maintenance = why == {"blackout"}
            code = "units-in-maintenance" if maintenance else "units-closed"
            state = "in maintenance" if maintenance else "closed or in maintenance"
            if len(ids) == 1:
                text = (
                    f"the only allowed unit, {ids[0]}, is {state} for the whole window "
                    f"{window}; choose another window"
                )
            else:
                text = (
                    f"{_units_phrase(ids)} {state} whenever {what} ({dur}) could run in "
                    f"{window}; choose another window"
                )
            return Reason(code, text, args)
        if why <= {"open", "blackout", "window", "pinned", "pin"}:
            return Reason(
                "units-taken-by-approved-bookings",
                f"{_units_phrase(ids)} taken by approved bookings whenever {what} "
                f"({dur}) could run in {window}; choose another window",
                args,
            )
        # Dropped by the order of steps and their lags: explained below.
    lagged = [s for s in req.steps if s.index and s.max_lag is not None and not s.live()]
    lagged += [s for s in req.steps if s.index and s.max_lag is not None]
    return _chain_reason(inst, req, lagged[0] if lagged else req.steps[-1], window)


def _chain_reason(inst: Instance, req: RequestInfo, step: StepInfo, window: str) -> Reason:
    g = inst.granularity
    k = step.index
    times = Clock(inst).window_args(req)
    if k > 0 and step.max_lag is not None:
        return Reason(
            "lag-too-short",
            f"step {k + 1}'s units ({', '.join(_ids(inst, step))}) are never free within "
            f"{duration_text(step.max_lag * g)} after step {k} can end inside {window}; "
            "allow a longer gap or other units",
            {
                **_step_args(inst, req, step),
                "previous": k,
                "max_lag_minutes": step.max_lag * g,
                **times,
            },
        )
    return Reason(
        "steps-cannot-follow",
        f"its {len(req.steps)} steps cannot follow one another inside {window} on open "
        "units; widen the window",
        {"steps": len(req.steps), **times},
    )


def competition_reason(inst: Instance, req: RequestInfo, board: Board) -> Reason:
    """Explain which bookings of the plan keep ``req`` out, and when it would fit."""
    clock = Clock(inst)
    g = inst.granularity
    first = req.steps[0]
    ids = sorted({inst.units[a.unit].id for s in req.steps for a in s.live()})
    between = f"{clock.text(req.release)} and {clock.text(req.deadline)}"
    project = inst.projects[req.project]
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
        return Reason(
            "fair-share-used",
            f"project {project!r} already holds its fair share ({share} %) "
            f"of the units this request needs ({', '.join(ids)}); it fits once the project "
            "releases other bookings",
            {"project": project, "percent": share, "units": ids},
        )
    # Only the request's own units and times: never the requests that took them, which
    # belong to other projects.
    args: dict[str, Any] = {
        "steps": len(req.steps),
        "units": ids,
        "minutes": first.duration * g,
        **clock.window_args(req),
    }
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
        capped = f", but project {project!r} has used its fair share there"
    if later is None:
        return Reason(
            "booked-until-horizon-end",
            f"{head}; no {what} remains before the planning horizon ends",
            args,
        )
    unit, start = later[0]
    args |= {
        "free_unit": inst.units[unit].id,
        "free_start": clock.iso(start),
        "fair_share_used": bool(capped),
    }
    if capped:
        args["project"] = project
    return Reason(
        "booked-by-others",
        f"{head}; the earliest {what} is {clock.text(start)} on {inst.units[unit].id}{capped}",
        args,
    )


def stopped_reason(inst: Instance, req: RequestInfo) -> Reason:
    """Say that the solve stopped before it placed ``req`` or looked for its earliest free time.

    The cheap reason of a solve whose time ran out or that was cancelled: it searches nothing."""
    clock = Clock(inst)
    ids = sorted({inst.units[a.unit].id for s in req.steps for a in s.live()})
    return Reason(
        "solve-stopped",
        f"the solve stopped (its time limit, or a stop request) before it could place this "
        f"request on {_units_phrase(ids)} between {clock.text(req.release)} and "
        f"{clock.text(req.deadline)} or say when it would fit; it fits on an empty calendar",
        {"steps": len(req.steps), "units": ids, **clock.window_args(req)},
    )


def explain(
    inst: Instance, req: RequestInfo, board: Board, *, search: bool = True
) -> tuple[Reason, UnscheduledKind]:
    """Return the reason ``req`` is unscheduled, and whether it is impossible or competition.

    With ``search`` False a competition reason is the cheap ``solve-stopped`` one."""
    if req.impossible:
        return impossible_reason(inst, req), UnscheduledKind.IMPOSSIBLE
    if not board.affordable(req):
        return budget_reason(inst, req, board), UnscheduledKind.COMPETITION
    if not search:
        return stopped_reason(inst, req), UnscheduledKind.COMPETITION
    return competition_reason(inst, req, board), UnscheduledKind.COMPETITION


def never_fits(problem: Problem, request_id: str) -> Reason | None:
    """Return why the request can never be placed in ``problem``, or None when it can.

    With no other request and no pins this is the empty-calendar test: only the request's own
    window, steps and lags and its units' hours and blackouts count (a submission check)."""
    inst = compile_problem(problem)
    req = next(r for r in inst.requests if r.id == request_id)
    return impossible_reason(inst, req) if req.impossible else None


def unplaceable_alone(req: RequestInfo, pins: Board) -> bool:
    """Return True if ``req`` fits nowhere even when only the pinned steps are booked."""
    if len(req.steps) == 1:
        # A step with a start on a unit that holds no pinned step fits there (asked of every
        # request before each solve: 0.9 s at 50,000 requests without this).
        step = req.steps[0]
        for alt in step.live():
            cap = pins.caps[alt.unit]
            if pins.lines[alt.unit].empty() and (cap is None or step.duration <= cap):
                return False
    return pins.earliest_request(req) is None
