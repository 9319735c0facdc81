"""Validate a result file against its problem file, written from problem-format.md alone.

This module reads the parsed JSON of both files and re-derives every rule itself; it imports
nothing of the solver, so a bug in the model cannot hide behind the same bug here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

Window = tuple[Fraction, Fraction]

RESULT_FORMAT = "pilotslot-result/1"
_STATUSES = {"OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN"}
_PLAN_STATUSES = {"OPTIMAL", "FEASIBLE"}
# The format compares non-integer weights at a precision of 0.001.
_WEIGHT_TOLERANCE = 1e-3


class Finding(str):
    """One broken rule: the English line, with a stable code and its arguments, so that a
    caller can write it in its users' language (a plain ``str`` to everyone else)."""

    code: str
    args: dict[str, Any]

    def __new__(cls, text: str, code: str, **args: Any) -> Finding:
        self = super().__new__(cls, text)
        self.code = code
        self.args = args
        return self


PLACEMENT_CODES = (
    "resource-not-allowed",
    "wrong-duration",
    "off-grid",
    "outside-horizon",
    "before-release",
    "after-deadline",
    "before-previous-step",
    "lag-too-short",
    "lag-too-long",
    "outside-open-hours",
    "blackout",
    "over-capacity",
    "changeover",
)
"""The codes of the findings about where a step is placed; each names its request and step."""


class _Unreadable(Exception):
    """A field that should hold a datetime or a window does not."""


@dataclass(frozen=True)
class _Resource:
    id: str
    capacity: int
    open: tuple[Window, ...] | None
    blackouts: tuple[Window, ...]
    changeover: int


@dataclass(frozen=True)
class _Step:
    resources: tuple[str, ...]
    occupies: int
    attended: bool
    min_lag: int
    max_lag: int | None


@dataclass(frozen=True)
class _Request:
    id: str
    project: str
    weight: float
    release: Fraction
    deadline: Fraction
    steps: tuple[_Step, ...]
    cost: int = 0
    """What its steps cost its project, in fen."""


@dataclass(frozen=True)
class _Pin:
    request: str
    step: int
    resource: str
    start: Fraction


@dataclass(frozen=True)
class _Placed:
    """One assignment of the result, in minutes from the horizon start."""

    index: int
    request: str
    step: int
    resource: str
    start: Fraction
    end: Fraction

    @property
    def name(self) -> str:
        return f"request {self.request!r} step {self.step} on {self.resource!r}"


@dataclass
class _Context:
    origin: datetime
    end: Fraction
    granularity: int
    objective: str
    resources: dict[str, _Resource]
    requests: dict[str, _Request]
    pinned: list[_Pin]
    max_fraction: float | None
    budgets: dict[str, int] = field(default_factory=dict)
    """Project -> what it may still spend, in fen."""
    placed: list[_Placed] = field(default_factory=list)
    """Assignments that reference a known request, step and resource and have readable times."""
    unreadable: set[tuple[str, int]] = field(default_factory=set)
    """Steps named by an assignment that could not be read; "not placed" would only repeat it."""
    unscheduled: set[str] = field(default_factory=set)
    accepted: set[str] = field(default_factory=set)

    def where(self, a: _Placed) -> dict[str, Any]:
        """Return the arguments every placement finding carries: which step, where, when."""
        return {
            "request": a.request,
            "step": a.step,
            "resource": a.resource,
            "start": self.when(a.start),
            "end": self.when(a.end),
        }

    def when(self, minutes: Fraction) -> str:
        """Return ``minutes`` after the horizon start as an ISO instant, for messages."""
        return (self.origin + timedelta(minutes=float(minutes))).isoformat()


def check(problem: Mapping[str, Any], result: Mapping[str, Any]) -> list[str]:
    """Return one line per rule of the format that ``result`` breaks for ``problem``."""
    if not isinstance(result, Mapping):
        return ["result: expected a JSON object"]
    try:
        ctx = _read_problem(problem)
    except _Unreadable as exc:
        return [f"problem: {exc}"]
    except (KeyError, TypeError, ValueError) as exc:
        return [f"problem: cannot be read ({type(exc).__name__}: {exc})"]
    out: list[str] = []
    _read_result(ctx, result, out)
    for rule in _RULES:
        out.extend(rule(ctx, result))
    return out


# --- reading --------------------------------------------------------------------------------


def _instant(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise _Unreadable(f"{name}: expected an ISO 8601 datetime, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Unreadable(f"{name}: not an ISO 8601 datetime: {value!r}") from None
    if moment.utcoffset() is None:
        raise _Unreadable(f"{name}: datetime without a UTC offset: {value!r}")
    return moment


def _minutes(origin: datetime, moment: datetime) -> Fraction:
    return Fraction((moment - origin) // timedelta(microseconds=1), 60_000_000)


def _windows(origin: datetime, raw: object, name: str) -> tuple[Window, ...]:
    if not isinstance(raw, list):
        raise _Unreadable(f"{name}: expected a list of [start, end) windows")
    windows = []
    for i, pair in enumerate(raw):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise _Unreadable(f"{name}[{i}]: expected [start, end)")
        start = _minutes(origin, _instant(pair[0], f"{name}[{i}][0]"))
        end = _minutes(origin, _instant(pair[1], f"{name}[{i}][1]"))
        windows.append((start, end))
    return tuple(windows)


def _read_problem(p: Mapping[str, Any]) -> _Context:
    origin = _instant(p["horizon"]["start"], "horizon.start")
    end = _minutes(origin, _instant(p["horizon"]["end"], "horizon.end"))
    g = int(p.get("granularity_minutes", 1))
    if g < 1:
        raise _Unreadable("granularity_minutes: must be a positive integer")
    resources: dict[str, _Resource] = {}
    for i, r in enumerate(p["resources"]):
        opened = r.get("open")
        resources[r["id"]] = _Resource(
            id=r["id"],
            capacity=int(r.get("capacity", 1)),
            open=None if opened is None else _windows(origin, opened, f"resources[{i}].open"),
            blackouts=_windows(origin, r.get("blackouts", []), f"resources[{i}].blackouts"),
            changeover=int(r.get("changeover_minutes", 0)),
        )
    requests: dict[str, _Request] = {}
    for i, q in enumerate(p["requests"]):
        steps = tuple(
            _Step(
                resources=tuple(s["resources"]),
                occupies=math.ceil(int(s["duration_minutes"]) / g) * g,
                attended=bool(s.get("attended", True)),
                min_lag=int(s.get("min_lag_minutes", 0) or 0),
                max_lag=None if s.get("max_lag_minutes") is None else int(s["max_lag_minutes"]),
            )
            for s in q["steps"]
        )
        release = q.get("release")
        deadline = q.get("deadline")
        requests[q["id"]] = _Request(
            id=q["id"],
            project=str(q["project"]),
            weight=float(q.get("weight", 1)),
            release=Fraction(0)
            if release is None
            else _minutes(origin, _instant(release, f"requests[{i}].release")),
            deadline=end
            if deadline is None
            else _minutes(origin, _instant(deadline, f"requests[{i}].deadline")),
            steps=steps,
            cost=sum(int(s.get("cost_fen", 0)) for s in q["steps"]),
        )
    pinned = [
        _Pin(
            request=pin["request"],
            step=int(pin["step"]),
            resource=pin["resource"],
            start=_minutes(origin, _instant(pin["start"], f"pinned[{i}].start")),
        )
        for i, pin in enumerate(p.get("pinned") or [])
    ]
    share = p.get("fair_share")
    max_fraction = None if share is None else float(share["max_fraction"])
    return _Context(
        origin=origin,
        end=end,
        granularity=g,
        objective=str(p.get("objective", "max_weighted_accepted")),
        resources=resources,
        requests=requests,
        pinned=pinned,
        max_fraction=max_fraction,
        budgets={str(b["project"]): int(b["remaining_fen"]) for b in p.get("budgets") or []},
    )


def _result_time(ctx: _Context, value: object, name: str) -> Fraction:
    # The solver writes whole minutes from horizon.start; an ISO instant is read as well.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Fraction(value)
    return _minutes(ctx.origin, _instant(value, name))


def _read_result(ctx: _Context, result: Mapping[str, Any], out: list[str]) -> None:
    """Fill ``ctx`` with the readable assignments; report the ones that reference nothing."""
    assignments = result.get("assignments", [])
    if not isinstance(assignments, list):
        out.append("assignments: expected a list")
        assignments = []
    for i, a in enumerate(assignments):
        where = f"assignments[{i}]"
        if not isinstance(a, Mapping):
            out.append(f"{where}: expected an object")
            continue
        rid, index, unit = a.get("request"), a.get("step"), a.get("resource")
        request = ctx.requests.get(rid) if isinstance(rid, str) else None
        if request is None:
            out.append(f"{where}: unknown request {rid!r}")
            continue
        if not isinstance(index, int) or isinstance(index, bool):
            out.append(f"{where}: request {rid!r}: step must be an integer, got {index!r}")
            continue
        if not 0 <= index < len(request.steps):
            out.append(
                f"{where}: request {rid!r} has no step {index} (it has {len(request.steps)})"
            )
            continue
        if not isinstance(unit, str) or unit not in ctx.resources:
            ctx.unreadable.add((request.id, index))
            out.append(f"{where}: request {rid!r} step {index}: unknown resource {unit!r}")
            continue
        try:
            start = _result_time(ctx, a.get("start"), f"{where}.start")
            end = _result_time(ctx, a.get("end"), f"{where}.end")
        except _Unreadable as exc:
            ctx.unreadable.add((request.id, index))
            out.append(f"request {rid!r} step {index}: {exc}")
            continue
        ctx.placed.append(_Placed(i, request.id, index, unit, start, end))
    unscheduled = result.get("unscheduled", [])
    if not isinstance(unscheduled, list):
        out.append("unscheduled: expected a list")
        unscheduled = []
    seen: set[str] = set()
    for i, u in enumerate(unscheduled):
        rid = u.get("request") if isinstance(u, Mapping) else None
        if not isinstance(rid, str) or rid not in ctx.requests:
            out.append(f"unscheduled[{i}]: unknown request {rid!r}")
            continue
        if rid in seen:
            out.append(f"unscheduled[{i}]: request {rid!r} is listed as unscheduled twice")
        seen.add(rid)
        reason = u.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            out.append(f"unscheduled[{i}]: request {rid!r} has no reason a startup can act on")
        if "code" in u and not isinstance(u["code"], str | None):
            out.append(f"unscheduled[{i}].code: expected a string")
        if "args" in u and not isinstance(u["args"], Mapping | None):
            out.append(f"unscheduled[{i}].args: expected an object")
    ctx.unscheduled = seen
    ctx.accepted = {rid for rid in ctx.requests if rid not in seen}


# --- hard rules -----------------------------------------------------------------------------


def _status(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Name the result format and a known status; INFEASIBLE and UNKNOWN carry no plan."""
    status = result.get("status")
    if result.get("format", RESULT_FORMAT) != RESULT_FORMAT:
        return [f"format: expected {RESULT_FORMAT!r}, got {result.get('format')!r}"]
    if status not in _STATUSES:
        return [f"status: unknown status {status!r}"]
    if status in _PLAN_STATUSES:
        return []
    out: list[str] = []
    if result.get("assignments"):
        out.append(f"status {status}: a result without a plan has assignments")
    if ctx.accepted:
        names = ", ".join(repr(r) for r in sorted(ctx.accepted))
        out.append(f"status {status}: requests {names} are neither placed nor unscheduled")
    return out


def _references(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Place each step on one of the alternative resources the step allows."""
    out: list[str] = []
    for a in ctx.placed:
        allowed = ctx.requests[a.request].steps[a.step].resources
        if a.resource not in allowed:
            out.append(
                Finding(
                    f"{a.name}: resource is not among the step's alternatives {list(allowed)}",
                    "resource-not-allowed",
                    **ctx.where(a),
                    allowed=list(allowed),
                )
            )
    return out


def _completeness(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Place every step of an accepted request exactly once and no step of an unscheduled one."""
    if result.get("status") not in _PLAN_STATUSES:
        return []
    count: dict[tuple[str, int], int] = defaultdict(int)
    for a in ctx.placed:
        count[a.request, a.step] += 1
    out: list[str] = []
    for rid, request in ctx.requests.items():
        for index in range(len(request.steps)):
            n = count[rid, index]
            if rid in ctx.unscheduled and n:
                out.append(f"request {rid!r} step {index}: placed, but the request is unscheduled")
            elif rid in ctx.accepted and n == 0 and (rid, index) not in ctx.unreadable:
                out.append(
                    f"request {rid!r} step {index}: not placed, yet the request is not "
                    "listed as unscheduled"
                )
            elif n > 1:
                out.append(f"request {rid!r} step {index}: placed {n} times")
    return out


def _durations(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Occupy each resource for the step's duration rounded up to the granularity."""
    out: list[str] = []
    for a in ctx.placed:
        want = ctx.requests[a.request].steps[a.step].occupies
        if a.end - a.start != want:
            out.append(
                Finding(
                    f"{a.name}: occupies {_num(a.end - a.start)} minutes, expected {want} "
                    f"(duration rounded up to {ctx.granularity})",
                    "wrong-duration",
                    **ctx.where(a),
                    minutes=want,
                )
            )
    return out


def _grid(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Start every step on a multiple of the granularity counted from horizon.start."""
    return [
        Finding(
            f"{a.name}: starts at {ctx.when(a.start)}, off the {ctx.granularity}-minute grid",
            "off-grid",
            **ctx.where(a),
            granularity=ctx.granularity,
        )
        for a in ctx.placed
        if a.start % ctx.granularity
    ]


def _horizon(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Place every step inside [horizon.start, horizon.end)."""
    return [
        Finding(
            f"{a.name}: [{ctx.when(a.start)}, {ctx.when(a.end)}) leaves the horizon "
            f"[{ctx.when(Fraction(0))}, {ctx.when(ctx.end)})",
            "outside-horizon",
            **ctx.where(a),
        )
        for a in ctx.placed
        if a.start < 0 or a.end > ctx.end
    ]


def _request_window(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Place every step inside its request's [release, deadline)."""
    out: list[str] = []
    for a in ctx.placed:
        request = ctx.requests[a.request]
        if a.start < request.release:
            out.append(
                Finding(
                    f"{a.name}: starts at {ctx.when(a.start)}, before the release "
                    f"{ctx.when(request.release)}",
                    "before-release",
                    **ctx.where(a),
                    release=ctx.when(request.release),
                )
            )
        if a.end > request.deadline:
            out.append(
                Finding(
                    f"{a.name}: ends at {ctx.when(a.end)}, after the deadline "
                    f"{ctx.when(request.deadline)}",
                    "after-deadline",
                    **ctx.where(a),
                    deadline=ctx.when(request.deadline),
                )
            )
    return out


def _order_and_lags(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Run steps in order, from the end of one to the start of the next within its lags."""
    by_step: dict[tuple[str, int], _Placed] = {}
    for a in ctx.placed:
        by_step.setdefault((a.request, a.step), a)
    out: list[str] = []
    for (rid, index), a in sorted(by_step.items()):
        before = by_step.get((rid, index - 1))
        if before is None:
            continue
        step = ctx.requests[rid].steps[index]
        lag = a.start - before.end
        lags = {"lag": float(lag), "min_lag": step.min_lag, "max_lag": step.max_lag}
        if lag < step.min_lag:
            what = "before the previous step ends" if lag < 0 else "too soon after step"
            out.append(
                Finding(
                    f"request {rid!r} step {index}: starts {_num(lag)} minutes after step "
                    f"{index - 1} ends ({what}; min lag {step.min_lag})",
                    "before-previous-step" if lag < 0 else "lag-too-short",
                    **ctx.where(a),
                    previous=index - 1,
                    **lags,
                )
            )
        if step.max_lag is not None and lag > step.max_lag:
            out.append(
                Finding(
                    f"request {rid!r} step {index}: starts {_num(lag)} minutes after step "
                    f"{index - 1} ends (max lag {step.max_lag})",
                    "lag-too-long",
                    **ctx.where(a),
                    previous=index - 1,
                    **lags,
                )
            )
    return out


def _open_hours(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Keep an attended step entirely inside one open window of its resource."""
    out: list[str] = []
    for a in ctx.placed:
        unit = ctx.resources[a.resource]
        if unit.open is None or not ctx.requests[a.request].steps[a.step].attended:
            continue
        if not any(s <= a.start and a.end <= e for s, e in unit.open):
            out.append(
                Finding(
                    f"{a.name}: attended step [{ctx.when(a.start)}, {ctx.when(a.end)}) is not "
                    "inside one open window of the resource",
                    "outside-open-hours",
                    **ctx.where(a),
                )
            )
    return out


def _blackouts(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Let no step overlap a blackout of its resource."""
    out: list[str] = []
    for a in ctx.placed:
        for s, e in ctx.resources[a.resource].blackouts:
            if a.start < e and s < a.end:
                out.append(
                    Finding(
                        f"{a.name}: [{ctx.when(a.start)}, {ctx.when(a.end)}) overlaps the "
                        f"blackout [{ctx.when(s)}, {ctx.when(e)})",
                        "blackout",
                        **ctx.where(a),
                        blackout=[ctx.when(s), ctx.when(e)],
                    )
                )
    return out


def _by_resource(ctx: _Context) -> dict[str, list[_Placed]]:
    groups: dict[str, list[_Placed]] = defaultdict(list)
    for a in ctx.placed:
        groups[a.resource].append(a)
    return groups


def _capacity(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Run at most ``capacity`` steps on a resource at any moment."""
    out: list[str] = []
    for unit_id, steps in sorted(_by_resource(ctx).items()):
        capacity = ctx.resources[unit_id].capacity
        # An end sorts before a start at the same moment: [s, e) windows that touch do not meet.
        events = sorted(
            [(a.start, 1, a.index) for a in steps] + [(a.end, 0, a.index) for a in steps]
        )
        running: dict[int, _Placed] = {}
        names = {a.index: a for a in steps}
        reported = False
        for moment, is_start, index in events:
            if not is_start:
                running.pop(index, None)
                continue
            running[index] = names[index]
            if len(running) > capacity and not reported:
                who = ", ".join(
                    f"request {p.request!r} step {p.step}"
                    for p in sorted(running.values(), key=lambda p: p.index)
                )
                first = min(running.values(), key=lambda p: p.index)
                out.append(
                    Finding(
                        f"resource {unit_id!r}: {len(running)} steps at {ctx.when(moment)} "
                        f"exceed capacity {capacity} ({who})",
                        "over-capacity",
                        **ctx.where(first),
                        at=ctx.when(moment),
                        capacity=capacity,
                        steps=[[p.request, p.step] for p in running.values()],
                    )
                )
                # One line per crowded stretch, not one per extra start inside it.
                reported = True
            elif len(running) <= capacity:
                reported = False
    return out


def _changeovers(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Leave the changeover gap between consecutive steps of different projects on a unit."""
    out: list[str] = []
    for unit_id, steps in sorted(_by_resource(ctx).items()):
        unit = ctx.resources[unit_id]
        if unit.capacity != 1 or unit.changeover <= 0:
            continue
        steps = sorted(steps, key=lambda a: (a.start, a.end))
        for before, after in zip(steps, steps[1:], strict=False):
            p, q = (
                ctx.requests[before.request].project,
                ctx.requests[after.request].project,
            )
            gap = after.start - before.end
            if p != q and gap < unit.changeover:
                out.append(
                    Finding(
                        f"resource {unit_id!r}: only {_num(gap)} minutes between request "
                        f"{before.request!r} step {before.step} (project {p!r}) and request "
                        f"{after.request!r} step {after.step} (project {q!r}); changeover "
                        f"needs {unit.changeover}",
                        "changeover",
                        **ctx.where(after),
                        gap=float(gap),
                        minutes=unit.changeover,
                        steps=[[before.request, before.step], [after.request, after.step]],
                    )
                )
    return out


def _pinned(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Keep a pinned step exactly at its place and its request accepted."""
    if result.get("status") not in _PLAN_STATUSES:
        return []
    out: list[str] = []
    for pin in ctx.pinned:
        name = f"pinned request {pin.request!r} step {pin.step}"
        if pin.request in ctx.unscheduled:
            out.append(f"{name}: its request is unscheduled")
            continue
        here = [a for a in ctx.placed if (a.request, a.step) == (pin.request, pin.step)]
        if not any(a.resource == pin.resource and a.start == pin.start for a in here):
            found = ", ".join(f"{a.resource!r} at {ctx.when(a.start)}" for a in here) or "nowhere"
            out.append(
                f"{name}: must be on {pin.resource!r} at {ctx.when(pin.start)}, placed {found}"
            )
    return out


def _objective(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Report the objective of the plan given, and a bound on the right side of it."""
    if result.get("status") not in _PLAN_STATUSES:
        return []
    value = result.get("objective")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return [f"objective: a plan needs a numeric objective, got {value!r}"]
    out: list[str] = []
    maximise = ctx.objective != "min_makespan"
    if maximise:
        expected = sum(ctx.requests[r].weight for r in ctx.accepted)
        if abs(value - expected) > _WEIGHT_TOLERANCE:
            out.append(
                f"objective: {value:g} is not the weight of the accepted requests ({expected:g})"
            )
    else:
        latest = max((a.end for a in ctx.placed), default=Fraction(0))
        if abs(Fraction(value) - latest) > 1e-9:
            out.append(
                f"objective: {value:g} is not the latest end of any step ({_num(latest)} "
                "minutes from horizon.start)"
            )
        if ctx.unscheduled:
            names = ", ".join(repr(r) for r in sorted(ctx.unscheduled))
            out.append(f"min_makespan: every request must be placed, but {names} are not")
    bound = result.get("bound")
    if isinstance(bound, int | float) and not isinstance(bound, bool):
        wrong_side = bound < value - _WEIGHT_TOLERANCE if maximise else bound > value + 1e-9
        if wrong_side:
            out.append(f"bound: {bound:g} is on the wrong side of the objective {value:g}")
        elif result.get("status") == "OPTIMAL" and abs(bound - value) > _WEIGHT_TOLERANCE:
            out.append(f"status OPTIMAL: bound {bound:g} differs from the objective {value:g}")
    return out


def _fair_share(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Let no project hold more than ``max_fraction`` of a unit's bookable time, pins aside."""
    if ctx.max_fraction is None:
        return []
    pins = {(p.request, p.step) for p in ctx.pinned}
    held: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
    for a in ctx.placed:
        if (a.request, a.step) not in pins:
            held[a.resource, ctx.requests[a.request].project] += a.end - a.start
    out: list[str] = []
    for (unit_id, project), minutes in sorted(held.items()):
        unit = ctx.resources[unit_id]
        limit = ctx.max_fraction * _bookable_minutes(ctx, unit) * unit.capacity
        if minutes > limit + 1e-9:
            out.append(
                f"resource {unit_id!r}: project {project!r} holds {_num(minutes)} minutes, "
                f"more than its fair share {ctx.max_fraction:g} of the bookable time "
                f"({limit:g} minutes)"
            )
    return out


def _budgets(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Let a project's accepted requests cost no more than its budget; pinned requests are
    accepted whatever they cost, and once they use the budget up only free requests join."""
    if result.get("status") not in _PLAN_STATUSES or not ctx.budgets:
        return []
    pinned = {p.request for p in ctx.pinned}
    approved: dict[str, int] = defaultdict(int)
    added: dict[str, int] = defaultdict(int)
    for rid in ctx.accepted:
        request = ctx.requests[rid]
        (approved if rid in pinned else added)[request.project] += request.cost
    out: list[str] = []
    for project, budget in sorted(ctx.budgets.items()):
        total = approved[project] + added[project]
        if added[project] and total > budget:
            out.append(
                Finding(
                    f"project {project!r}: its accepted requests cost {total} fen "
                    f"({approved[project]} of them pinned), over its budget of {budget} fen",
                    "over-budget",
                    project=project,
                    budget_fen=budget,
                    cost_fen=total,
                    pinned_fen=approved[project],
                )
            )
    return out


def _bookable_minutes(ctx: _Context, unit: _Resource) -> int:
    """Return the open, maintenance-free minutes of ``unit`` in whole slots of the horizon."""
    g = ctx.granularity
    last = math.floor(ctx.end / g)
    opened = (
        [(0, last)]
        if unit.open is None
        else [(max(0, math.ceil(s / g)), min(last, math.floor(e / g))) for s, e in unit.open]
    )
    closed = [(math.floor(s / g), math.ceil(e / g)) for s, e in unit.blackouts]
    return g * _length(_subtract(_union(opened), _union(closed)))


def _union(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(x for x in spans if x[0] < x[1]):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _subtract(
    keep: Sequence[tuple[int, int]], drop: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in keep:
        pieces = [(s, e)]
        for ds, de in drop:
            pieces = [
                part
                for ps, pe in pieces
                for part in ((ps, min(pe, ds)), (max(ps, de), pe))
                if part[0] < part[1]
            ]
        out.extend(pieces)
    return out


def _length(spans: Iterable[tuple[int, int]]) -> int:
    return sum(e - s for s, e in spans)


def _datetimes(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Give ``start_at`` and ``end_at``, where present, as the moments of ``start``, ``end``."""
    assignments = result.get("assignments")
    if not isinstance(assignments, list):
        return []
    out = []
    for a in ctx.placed:
        raw = assignments[a.index]
        for key, minutes in (("start_at", a.start), ("end_at", a.end)):
            if key not in raw:
                continue
            try:
                moment = _minutes(ctx.origin, _instant(raw[key], f"assignments[{a.index}].{key}"))
            except _Unreadable as exc:
                out.append(f"{a.name}: {exc}")
                continue
            if moment != minutes:
                out.append(f"{a.name}: {key} {raw[key]} is not {ctx.when(minutes)}")
    return out


def _replay(ctx: _Context, result: Mapping[str, Any]) -> list[str]:
    """Type the replay settings in ``stats``; only a work-limited solve is reproducible."""
    stats = result.get("stats")
    if not isinstance(stats, Mapping):
        return []
    out = []

    def number(value: object) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    if "seed" in stats and (not isinstance(stats["seed"], int) or isinstance(stats["seed"], bool)):
        out.append(f"stats.seed: expected an integer, got {stats['seed']!r}")
    for key in ("time_limit", "work_limit"):
        value = stats.get(key)
        if value is not None and not (number(value) and value > 0):
            out.append(f"stats.{key}: expected a positive number or null, got {value!r}")
    if "work" in stats and not (number(stats["work"]) and stats["work"] >= 0):
        out.append(f"stats.work: expected a number of work units, got {stats['work']!r}")
    reproducible = stats.get("reproducible")
    if reproducible is not None and not isinstance(reproducible, bool):
        out.append(f"stats.reproducible: expected true or false, got {reproducible!r}")
    elif reproducible and stats.get("work_limit") is None:
        out.append("stats.reproducible: only a solve with a work limit is reproducible")
    return out


def _num(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


_RULES = (
    _status,
    _references,
    _completeness,
    _durations,
    _grid,
    _horizon,
    _request_window,
    _order_and_lags,
    _open_hours,
    _blackouts,
    _capacity,
    _changeovers,
    _pinned,
    _objective,
    _fair_share,
    _budgets,
    _datetimes,
    _replay,
)
