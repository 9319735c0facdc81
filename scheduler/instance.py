"""The problem compiled to whole slots of ``granularity_minutes``, with feasible start sets.

Every later stage (greedy, CP-SAT model, reasons) works on an :class:`Instance`: time is an
integer slot index from the horizon start, durations are rounded up to whole slots, and each
(step, unit) alternative carries the set of start slots where the step fits on that unit when it
is alone: inside the request's window, inside one open window if attended, clear of blackouts
and of pinned steps on capacity-1 units.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from operator import itemgetter

from scheduler.problem import Objective, Problem, gc_paused

Span = tuple[int, int]
"""An inclusive range of slots ``(first, last)``."""

_span_end = itemgetter(1)


def spans_subtract(spans: list[Span], lo: int, hi: int) -> list[Span]:
    """Return ``spans`` without the inclusive range ``[lo, hi]``."""
    if lo > hi:
        return spans
    out: list[Span] = []
    for a, b in spans:
        if b < lo or a > hi:
            out.append((a, b))
            continue
        if a < lo:
            out.append((a, lo - 1))
        if b > hi:
            out.append((hi + 1, b))
    return out


def spans_clip(spans: list[Span], lo: int, hi: int) -> list[Span]:
    """Return ``spans`` (sorted, disjoint) restricted to the inclusive range ``[lo, hi]``."""
    # Skip by bisection the spans that end before ``lo``: a unit's open hours over a season
    # are hundreds of spans, and a request's window holds a few of them.
    if lo > hi:
        return []
    i = bisect_left(spans, lo, key=_span_end)
    out: list[Span] = []
    for a, b in itertools.islice(spans, i, None):
        if a > hi:
            break
        out.append((lo if a < lo else a, hi if b > hi else b))
    return out


def spans_first_at_or_after(spans: list[Span], t: int) -> int | None:
    """Return the smallest slot of ``spans`` that is ``>= t``."""
    for a, b in spans:
        if b >= t:
            return max(a, t)
    return None


@dataclass
class Unit:
    index: int
    id: str
    capacity: int
    changeover: int
    open: list[tuple[int, int]] | None
    """Half-open slot windows ``[a, b)`` fully inside a staffed window; None = always open."""
    blackouts: list[tuple[int, int]]
    """Half-open slot windows ``[a, b)`` that touch a blackout."""
    bookable: int
    """Number of slots in the horizon that are open and not blacked out."""


@dataclass
class Alternative:
    unit: int
    starts: list[Span]
    dropped_by: str | None = None
    """Why ``starts`` is empty: window, open, blackout, pinned or chain."""


@dataclass
class StepInfo:
    index: int
    duration: int
    attended: bool
    min_lag: int
    max_lag: int | None
    alternatives: list[Alternative]
    pinned: tuple[int, int] | None = None
    """``(unit, start)`` of a pinned step."""

    def live(self) -> list[Alternative]:
        """Return the alternatives that have at least one feasible start."""
        return [a for a in self.alternatives if a.starts]


@dataclass
class RequestInfo:
    index: int
    id: str
    project: int
    weight: float
    score: int
    """The weight as an integer for CP-SAT."""
    release: int
    deadline: int
    steps: list[StepInfo]
    pinned: bool = False
    impossible: bool = False
    previous: dict[int, tuple[int, int]] = field(default_factory=dict)
    """step index -> (unit, start) of the previous proposal, when on the grid."""
    cost: int = 0
    """What the request's steps cost its project, in fen."""
    over_budget: bool = False
    """Whether the request alone costs more than its project's budget leaves (it is impossible)."""


@dataclass
class Instance:
    problem: Problem
    granularity: int
    horizon: int
    units: list[Unit]
    requests: list[RequestInfo]
    projects: list[str]
    errors: list[str]
    """Reasons the whole problem is infeasible (colliding or misplaced pinned steps)."""
    score_scale: int = 1
    """Scores are weights times this (1 when every weight is whole, else 1000)."""
    pinned_on: list[list[tuple[int, int, int, int]]] = field(default_factory=list)
    """Per unit: ``(start, end, project, request)`` of every pinned step."""
    budgets: dict[int, int] = field(default_factory=dict)
    """Project index -> what it may still spend, in fen; projects without a budget are absent."""
    pinned_cost: dict[int, int] = field(default_factory=dict)
    """Project index -> what its pinned requests cost, in fen."""
    unit_starts: dict[tuple[int, int, bool], tuple[list[Span], list[Span]]] = field(
        default_factory=dict
    )
    """(unit, duration, attended) -> starts over the whole horizon inside open hours, and those
    also clear of blackouts: what every request's start set is clipped from."""

    @property
    def makespan(self) -> bool:
        return self.problem.objective is Objective.MIN_MAKESPAN

    def fair_cap(self, unit: Unit) -> int | None:
        """Return the most slots one project may hold on ``unit``, or None if unlimited."""
        share = self.problem.fair_share
        if share is None:
            return None
        return math.floor(share.max_fraction * unit.bookable * unit.capacity)

    def headroom(self, project: int) -> int | None:
        """Return what the project's requests that are not pinned may cost together, in fen.

        None without a budget. Pinned requests are accepted whatever they cost, so they use the
        budget first; when they already use it up, only requests that cost nothing fit."""
        budget = self.budgets.get(project)
        if budget is None:
            return None
        return max(0, budget - self.pinned_cost.get(project, 0))


def _floor(x: float, g: int) -> int:
    return math.floor(x / g + 1e-9)


def _ceil(x: float, g: int) -> int:
    return math.ceil(x / g - 1e-9)


def _merge(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(windows):
        if a >= b:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _score_scale(weights: list[float]) -> int:
    """Return 1 for whole weights, else 1000: CP-SAT needs integer objective coefficients."""
    return 1 if all(float(w).is_integer() for w in weights) else 1000


@gc_paused()
def compile_problem(problem: Problem) -> Instance:
    """Compile ``problem`` to slots and compute every alternative's feasible start set."""
    g = problem.granularity_minutes
    hz = problem.horizon
    horizon = _floor(hz.minutes(hz.end), g)
    units: list[Unit] = []
    unit_index: dict[str, int] = {}
    for i, res in enumerate(problem.resources):
        blackouts = _merge(
            [
                (max(0, _floor(hz.minutes(a), g)), min(horizon, _ceil(hz.minutes(b), g)))
                for a, b in res.blackouts
            ]
        )
        open_: list[tuple[int, int]] | None = None
        if res.open is not None:
            open_ = _merge(
                [
                    (max(0, _ceil(hz.minutes(a), g)), min(horizon, _floor(hz.minutes(b), g)))
                    for a, b in res.open
                ]
            )
        base = [(0, horizon)] if open_ is None else open_
        free = 0
        for a, b in base:
            spans = [(a, b - 1)]
            for c, d in blackouts:
                spans = spans_subtract(spans, c, d - 1)
            free += sum(y - x + 1 for x, y in spans)
        units.append(
            Unit(i, res.id, res.capacity, _ceil(res.changeover_minutes, g), open_, blackouts, free)
        )
        unit_index[res.id] = i

    projects: list[str] = []
    project_index: dict[str, int] = {}
    scale = _score_scale([r.weight for r in problem.requests])
    requests: list[RequestInfo] = []
    request_index: dict[str, int] = {}
    for r, req in enumerate(problem.requests):
        if req.project not in project_index:
            project_index[req.project] = len(projects)
            projects.append(req.project)
        release = 0 if req.release is None else max(0, _ceil(hz.minutes(req.release), g))
        deadline = (
            horizon if req.deadline is None else min(horizon, _floor(hz.minutes(req.deadline), g))
        )
        steps = [
            StepInfo(
                index=j,
                duration=_ceil(s.duration_minutes, g),
                attended=s.attended,
                min_lag=_ceil(s.min_lag_minutes, g) if j else 0,
                max_lag=(
                    None if s.max_lag_minutes is None or not j else _floor(s.max_lag_minutes, g)
                ),
                alternatives=[Alternative(unit_index[u], []) for u in s.resources],
            )
            for j, s in enumerate(req.steps)
        ]
        requests.append(
            RequestInfo(
                r,
                req.id,
                project_index[req.project],
                req.weight,
                max(1, round(req.weight * scale)),
                release,
                deadline,
                steps,
                cost=sum(s.cost_fen for s in req.steps),
            )
        )
        request_index[req.id] = r

    errors: list[str] = []
    for pin in problem.pinned:
        info = requests[request_index[pin.request]]
        info.pinned = True
        info.steps[pin.step].pinned = (unit_index[pin.resource], _floor(hz.minutes(pin.start), g))
    for prev in problem.previous:
        minutes = hz.minutes(prev.start)
        if minutes % g == 0:
            info = requests[request_index[prev.request]]
            info.previous[prev.step] = (unit_index[prev.resource], int(minutes) // g)

    inst = Instance(problem, g, horizon, units, requests, projects, errors, score_scale=scale)
    _compute_budgets(inst, project_index)
    _compute_starts(inst)
    for info in requests:
        info.over_budget = not affordable_alone(inst, info)
        info.impossible = info.impossible or info.over_budget
    return inst


def _compute_budgets(inst: Instance, project_index: dict[str, int]) -> None:
    """Note each budgeted project's budget and what its pinned requests cost."""
    for budget in inst.problem.budgets:
        if budget.project in project_index:
            inst.budgets[project_index[budget.project]] = budget.remaining_fen
    for info in inst.requests:
        if info.pinned:
            inst.pinned_cost[info.project] = inst.pinned_cost.get(info.project, 0) + info.cost


def affordable_alone(inst: Instance, req: RequestInfo) -> bool:
    """A request that costs more than its project's budget leaves after its pinned requests
    can never be accepted; a pinned request always is."""
    room = inst.headroom(req.project)
    return req.pinned or room is None or req.cost <= room


def _pinned_occupations(inst: Instance) -> list[list[tuple[int, int, int, int]]]:
    """Per unit: ``(start, end, project, request)`` of every pinned step."""
    out: list[list[tuple[int, int, int, int]]] = [[] for _ in inst.units]
    for req in inst.requests:
        for step in req.steps:
            if step.pinned is not None:
                u, s = step.pinned
                out[u].append((s, s + step.duration, req.project, req.index))
    return out


def _compute_starts(inst: Instance) -> None:
    inst.pinned_on = _pinned_occupations(inst)
    for req in inst.requests:
        _request_starts(inst, req)


def relaxed(inst: Instance, req: RequestInfo) -> RequestInfo:
    """Return a copy of ``req`` whose deadline is the horizon end, with start sets redone."""
    steps = [
        replace(s, alternatives=[Alternative(a.unit, []) for a in s.alternatives])
        for s in req.steps
    ]
    copy = replace(req, deadline=inst.horizon, steps=steps)
    _request_starts(inst, copy)
    return copy


# --- rules that concern one step on one unit: each narrows the step's start set -------------


def inside_request_window(
    inst: Instance, req: RequestInfo, step: StepInfo, unit: Unit, spans: list[Span]
) -> list[Span]:
    """A step starts and ends inside its request's ``[release, deadline)``."""
    return spans_clip(spans, req.release, req.deadline - step.duration)


def inside_open_window(
    inst: Instance, req: RequestInfo, step: StepInfo, unit: Unit, spans: list[Span]
) -> list[Span]:
    """An attended step lies entirely inside one open window of its unit."""
    if not step.attended or unit.open is None:
        return spans
    d = step.duration
    return [s for a, b in unit.open if b - a >= d for s in spans_clip(spans, a, b - d)]


def clear_of_blackouts(
    inst: Instance, req: RequestInfo, step: StepInfo, unit: Unit, spans: list[Span]
) -> list[Span]:
    """No step overlaps a blackout of its unit."""
    for a, b in unit.blackouts:
        spans = spans_subtract(spans, a - step.duration + 1, b - 1)
    return spans


def clear_of_pinned(
    inst: Instance, req: RequestInfo, step: StepInfo, unit: Unit, spans: list[Span]
) -> list[Span]:
    """On a capacity-1 unit no step overlaps another request's pinned step or its changeover."""
    if unit.capacity != 1 or step.pinned is not None:
        return spans
    for a, b, project, other in inst.pinned_on[unit.index]:
        if other != req.index:
            gap = unit.changeover if project != req.project else 0
            spans = spans_subtract(spans, a - gap - step.duration + 1, b + gap - 1)
    return spans


def _request_starts(inst: Instance, req: RequestInfo) -> None:
    for step in req.steps:
        for alt in step.alternatives:
            alt.starts, alt.dropped_by = _alternative_starts(inst, req, step, alt.unit)
        if step.pinned is not None:
            _pin(inst, req, step)
    if len(req.steps) > 1:
        _propagate_chain(req)
    req.impossible = any(not step.live() for step in req.steps)


def _alternative_starts(
    inst: Instance, req: RequestInfo, step: StepInfo, u: int
) -> tuple[list[Span], str | None]:
    """Fold the four rules above into the start set of ``step`` on unit ``u``, in their order
    (window, open, blackout, pinned); name the first that left it empty (``dropped_by``).

    The open-hours and blackout rules depend only on the unit, the duration and whether the
    step is attended, so their sets over the whole horizon are made once per such triple and
    clipped to each request's window (the sets are the same either way: every rule intersects).
    """
    unit = inst.units[u]
    whole: list[Span] = [(0, inst.horizon)]
    spans = inside_request_window(inst, req, step, unit, whole)
    if not spans:
        return spans, "window"
    lo, hi = spans[0]
    key = (u, step.duration, step.attended)
    shared = inst.unit_starts.get(key)
    if shared is None:
        opened = inside_open_window(inst, req, step, unit, whole)
        shared = (opened, clear_of_blackouts(inst, req, step, unit, opened))
        inst.unit_starts[key] = shared
    for name, unit_spans in zip(("open", "blackout"), shared, strict=True):
        spans = spans_clip(unit_spans, lo, hi)
        if not spans:
            return spans, name
    spans = clear_of_pinned(inst, req, step, unit, spans)
    return spans, None if spans else "pinned"


def _pin(inst: Instance, req: RequestInfo, step: StepInfo) -> None:
    """A pinned step stays exactly where it is; the other units of the step are dropped."""
    if step.pinned is None:
        return
    u, s = step.pinned
    for alt in step.alternatives:
        if alt.unit != u:
            alt.starts, alt.dropped_by = [], "pin"
            continue
        if spans_first_at_or_after(alt.starts, s) != s:
            inst.errors.append(
                f"pinned step {step.index} of request {req.id!r} on {inst.units[u].id!r} "
                "breaks its window, opening hours or a blackout"
            )
        alt.starts, alt.dropped_by = [(s, s)], None


def _propagate_chain(req: RequestInfo) -> None:
    """Narrow start sets by the order of steps and their lags (bounds only)."""
    n = len(req.steps)
    for _ in range(4):
        changed = False
        est = [_first(step) for step in req.steps]
        lst = [_last(step) for step in req.steps]
        if any(e is None for e in est) or any(lt is None for lt in lst):
            return
        lo = [int(e) for e in est if e is not None]
        hi = [int(lt) for lt in lst if lt is not None]
        for k in range(1, n):
            prev, cur = req.steps[k - 1], req.steps[k]
            lo[k] = max(lo[k], lo[k - 1] + prev.duration + cur.min_lag)
            if cur.max_lag is not None:
                hi[k] = min(hi[k], hi[k - 1] + prev.duration + cur.max_lag)
        for k in range(n - 2, -1, -1):
            cur, nxt = req.steps[k], req.steps[k + 1]
            hi[k] = min(hi[k], hi[k + 1] - nxt.min_lag - cur.duration)
            if nxt.max_lag is not None:
                lo[k] = max(lo[k], lo[k + 1] - nxt.max_lag - cur.duration)
        for k, step in enumerate(req.steps):
            for alt in step.alternatives:
                if not alt.starts:
                    continue
                clipped = spans_clip(alt.starts, lo[k], hi[k])
                if clipped != alt.starts:
                    changed = True
                    alt.starts = clipped
                    if not clipped:
                        alt.dropped_by = "chain"
        if not changed:
            return


def _first(step: StepInfo) -> int | None:
    firsts = [a.starts[0][0] for a in step.alternatives if a.starts]
    return min(firsts) if firsts else None


def _last(step: StepInfo) -> int | None:
    lasts = [a.starts[-1][1] for a in step.alternatives if a.starts]
    return max(lasts) if lasts else None
