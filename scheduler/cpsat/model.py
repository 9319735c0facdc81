"""The CP-SAT model of one component: one function per rule, hard rules first, then soft.

Time is in slots of ``granularity_minutes`` (see ``instance.py``), so every start is on the grid
and every duration is rounded up. The rules that concern one step on one unit — inside the
request's window, inside one open window when attended, clear of blackouts and of pinned steps
(``instance._alternative_starts``) — are already folded into each alternative's start set,
which becomes the domain of its start variable; an empty set drops the alternative.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ortools.sat.python import cp_model
from ortools.sat.python import cp_model_helper as cmh

from scheduler.instance import Instance, RequestInfo, spans_clip, spans_subtract
from scheduler.plan import Plan


class Busy(NamedTuple):
    """A step outside the model that holds a unit during ``[start, end)``."""

    start: int
    end: int
    project: int


@dataclass
class _Option:
    """One (step, unit) alternative in the model."""

    request: int
    step: int
    unit: int
    duration: int
    project: int
    pinned: bool
    present: cp_model.IntVar
    start: cp_model.IntVar
    interval: cp_model.IntervalVar
    lo: int
    hi: int


@dataclass
class StepModel:
    start: cp_model.IntVar
    end: cp_model.LinearExprT
    options: list[_Option]


@dataclass
class Model:
    """A CP-SAT model of a component, with handles to read a plan back."""

    inst: Instance
    requests: list[RequestInfo]
    cp: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    accept: dict[int, cp_model.IntVar] = field(default_factory=dict)
    steps: dict[tuple[int, int], StepModel] = field(default_factory=dict)
    by_unit: dict[int, list[_Option]] = field(default_factory=lambda: defaultdict(list))
    weight: cp_model.LinearExprT = 0
    makespan: cp_model.IntVar | None = None
    moved: cp_model.LinearExprT = 0
    previous_steps: int = 0
    completion: cp_model.LinearExprT = 0
    changeover_pairs: int = 0

    def solve(
        self,
        solver: cp_model.CpSolver,
        callback: cp_model.CpSolverSolutionCallback | None = None,
    ) -> cmh.CpSolverStatus:
        """Run CP-SAT on the model and return its status.

        OR-Tools 9.15 sometimes throws while carrying a solution hint through presolve
        (``absl::btree_map::at``, or-tools issue #5288; it depends on the presolve path a
        worker takes). The hint is only a head start: the model is solved again without it."""
        try:
            return solver.solve(self.cp, callback)
        except IndexError as error:
            if "btree_map" not in str(error):
                raise
        self.cp.clear_hints()  # type: ignore[no-untyped-call]
        return solver.solve(self.cp, callback)

    def read_plan(self, value: cp_model.CpSolver) -> Plan:
        """Return the plan of the solver's last solution."""
        plan: Plan = {}
        for req in self.requests:
            if not value.boolean_value(self.accept[req.index]):
                continue
            places = []
            for step in req.steps:
                chosen = [
                    o
                    for o in self.steps[(req.index, step.index)].options
                    if value.boolean_value(o.present)
                ]
                places.append((chosen[0].unit, int(value.value(chosen[0].start))))
            plan[req.index] = places
        return plan

    def hint(self, plan: Plan) -> None:
        """Give CP-SAT ``plan`` as a starting solution."""
        values: dict[int, tuple[cp_model.IntVar, int]] = {}

        def put(var: cp_model.IntVar, value: int) -> None:
            values[var.index] = (var, value)

        for req in self.requests:
            places = plan.get(req.index)
            put(self.accept[req.index], int(places is not None))
            for step in req.steps:
                sm = self.steps[(req.index, step.index)]
                where = None if places is None else places[step.index]
                for o in sm.options:
                    if o.present.index != self.accept[req.index].index:
                        put(o.present, int(where is not None and where[0] == o.unit))
                    if where is not None and where[0] == o.unit:
                        put(o.start, where[1])
                if where is not None:
                    put(sm.start, where[1])
        self.cp.model_proto.clear_solution_hint()
        for var, value in values.values():
            self.cp.add_hint(var, value)


def build_model(
    inst: Instance,
    requests: Sequence[RequestInfo],
    *,
    upper: int | None = None,
    window: tuple[int, int] | None = None,
    blocked: Mapping[int, Sequence[Busy]] | None = None,
    held: Mapping[tuple[int, int], int] | None = None,
    spent: Mapping[int, int] | None = None,
    secondary: bool = False,
) -> Model:
    """Build the model of ``requests``.

    ``upper`` caps every end (makespan); ``window`` keeps the requests inside ``[lo, hi)``;
    ``blocked`` lists, per unit, the steps of requests left out of the model that stay where
    they are (a neighbourhood of large-neighbourhood search), and ``held`` the slots that
    those requests hold per ``(unit, project)`` over the whole horizon, pinned steps aside
    (they count toward fair share), and ``spent`` what those requests cost per project,
    pinned ones aside (it counts toward the project's budget); ``secondary`` adds the soft
    costs that ``prefer_secondary`` optimises.
    """
    m = Model(inst, list(requests))
    busy = blocked or {}
    add_alternatives(m, upper, window, busy)
    add_capacity(m, busy)
    add_changeovers(m)
    add_step_order(m)
    add_pinned(m)
    add_fair_share(m, held or {})
    add_budget(m, spent or {})
    if inst.makespan:
        add_all_accepted(m)
        add_makespan_objective(m, upper)
    else:
        add_weight_objective(m)
        if secondary:
            add_keep_previous(m)
            add_early_completion(m)
    return m


# --- hard rules ----------------------------------------------------------------------------


def add_alternatives(
    m: Model,
    upper: int | None,
    window: tuple[int, int] | None,
    blocked: Mapping[int, Sequence[Busy]],
) -> None:
    """Each step of an accepted request uses exactly one of its units, none if not accepted."""
    cp = m.cp
    for req in m.requests:
        accept = cp.new_bool_var(f"accept_{req.index}")
        m.accept[req.index] = accept
        tail = sum(s.duration for s in req.steps)
        for step in req.steps:
            spans = {a.unit: a.starts for a in step.live()}
            if upper is not None:
                spans = {
                    u: [(a, min(b, upper - tail)) for a, b in sp if a <= upper - tail]
                    for u, sp in spans.items()
                }
                spans = {u: sp for u, sp in spans.items() if sp}
            elif window is not None:
                lo, hi = window[0], window[1] - step.duration
                spans = {u: spans_clip(sp, lo, hi) for u, sp in spans.items()}
                spans = {u: sp for u, sp in spans.items() if sp}
            if blocked:
                spans = {
                    u: _clear_of(m.inst, req, step.duration, u, sp, blocked)
                    for u, sp in spans.items()
                }
                spans = {u: sp for u, sp in spans.items() if sp}
            tail -= step.duration
            options = []
            for unit, starts in spans.items():
                domain = cp_model.Domain.from_intervals([[a, b] for a, b in starts])
                name = f"{req.index}_{step.index}_{unit}"
                if len(spans) == 1:
                    present = accept
                else:
                    present = cp.new_bool_var(f"p_{name}")
                start = cp.new_int_var_from_domain(domain, f"s_{name}")
                interval = cp.new_optional_fixed_size_interval_var(
                    start, step.duration, present, f"i_{name}"
                )
                option = _Option(
                    req.index,
                    step.index,
                    unit,
                    step.duration,
                    req.project,
                    step.pinned is not None,
                    present,
                    start,
                    interval,
                    starts[0][0],
                    starts[-1][1],
                )
                options.append(option)
                m.by_unit[unit].append(option)
            if not options:
                step_start = cp.new_int_var(0, 0, "")
                cp.add(accept == 0)
            elif len(options) == 1:
                step_start = options[0].start
            else:
                lo = min(o.lo for o in options)
                hi = max(o.hi for o in options)
                step_start = cp.new_int_var(lo, hi, f"start_{req.index}_{step.index}")
                cp.add_exactly_one([o.present for o in options] + [~accept])
                for o in options:
                    cp.add(step_start == o.start).only_enforce_if(o.present)
            m.steps[(req.index, step.index)] = StepModel(
                step_start, step_start + step.duration, options
            )


def _clear_of(
    inst: Instance,
    req: RequestInfo,
    duration: int,
    unit: int,
    spans: list[tuple[int, int]],
    blocked: Mapping[int, Sequence[Busy]],
) -> list[tuple[int, int]]:
    """Drop the starts that would overlap a blocked step (and its changeover) on a unit of one."""
    info = inst.units[unit]
    if info.capacity != 1:
        return spans
    for busy in blocked.get(unit, ()):
        gap = info.changeover if busy.project != req.project else 0
        spans = spans_subtract(spans, busy.start - gap - duration + 1, busy.end + gap - 1)
        if not spans:
            break
    return spans


def add_capacity(m: Model, blocked: Mapping[int, Sequence[Busy]]) -> None:
    """At no moment does a unit hold more steps than its capacity."""
    for unit, options in m.by_unit.items():
        capacity = m.inst.units[unit].capacity
        if capacity == 1:
            if len(options) > 1:
                m.cp.add_no_overlap([o.interval for o in options])
            continue
        # Blocked steps on a unit of one are already cut out of the start domains.
        intervals = [o.interval for o in options]
        intervals += [
            m.cp.new_fixed_size_interval_var(b.start, b.end - b.start, "")
            for b in blocked.get(unit, ())
        ]
        if len(intervals) > capacity:
            m.cp.add_cumulative(intervals, [1] * len(intervals), capacity)


def add_changeovers(m: Model) -> None:
    """On a capacity-1 unit, steps of different projects are at least the changeover apart."""
    for unit, options in m.by_unit.items():
        info = m.inst.units[unit]
        gap = info.changeover
        if info.capacity != 1 or gap == 0:
            continue
        ordered = sorted(options, key=lambda o: o.lo)
        for i, a in enumerate(ordered):
            reach = a.hi + a.duration + gap
            for b in ordered[i + 1 :]:
                if b.lo >= reach:
                    break
                if a.project == b.project or a.request == b.request:
                    continue
                if b.hi + b.duration + gap <= a.lo:
                    continue
                _add_gap_pair(m, a, b, gap)


def _add_gap_pair(m: Model, a: _Option, b: _Option, gap: int) -> None:
    cp = m.cp
    both = [a.present, b.present]
    a_first = cp.new_bool_var("")
    cp.add(a.start + a.duration + gap <= b.start).only_enforce_if([a_first, *both])
    cp.add(b.start + b.duration + gap <= a.start).only_enforce_if([~a_first, *both])
    m.changeover_pairs += 1


def add_step_order(m: Model) -> None:
    """Each step starts between min and max lag after the previous step of its request ends."""
    for req in m.requests:
        accept = m.accept[req.index]
        for prev, cur in zip(req.steps, req.steps[1:], strict=False):
            before = m.steps[(req.index, prev.index)]
            after = m.steps[(req.index, cur.index)]
            m.cp.add(after.start >= before.end + cur.min_lag).only_enforce_if(accept)
            if cur.max_lag is not None:
                m.cp.add(after.start <= before.end + cur.max_lag).only_enforce_if(accept)


def add_pinned(m: Model) -> None:
    """A request with a pinned step is accepted (its pinned steps are fixed by their domain)."""
    for req in m.requests:
        if req.pinned:
            m.cp.add(m.accept[req.index] == 1)


def add_fair_share(m: Model, held: Mapping[tuple[int, int], int]) -> None:
    """No project holds more than its fair share of a unit, pinned bookings aside."""
    for unit, options in m.by_unit.items():
        cap = m.inst.fair_cap(m.inst.units[unit])
        if cap is None:
            continue
        per_project: dict[int, list[_Option]] = defaultdict(list)
        for o in options:
            if not o.pinned:
                per_project[o.project].append(o)
        for project, group in per_project.items():
            room = cap - held.get((unit, project), 0)
            if sum(o.duration for o in group) > room:
                m.cp.add(sum(o.duration * o.present for o in group) <= room)


def add_budget(m: Model, spent: Mapping[int, int]) -> None:
    """A project's accepted requests that are not pinned cost together at most what its
    budget leaves after its pinned ones, less what its requests outside the model spend."""
    per_project: dict[int, list[RequestInfo]] = defaultdict(list)
    for req in m.requests:
        if not req.pinned and req.cost:
            per_project[req.project].append(req)
    for project, group in sorted(per_project.items()):
        room = m.inst.headroom(project)
        if room is None:
            continue
        room -= spent.get(project, 0)
        if sum(r.cost for r in group) > room:
            m.cp.add(sum(r.cost * m.accept[r.index] for r in group) <= room)


def add_all_accepted(m: Model) -> None:
    """Under min_makespan every request must be placed."""
    for accept in m.accept.values():
        m.cp.add(accept == 1)


# --- objectives (soft rules) ---------------------------------------------------------------


def add_weight_objective(m: Model) -> None:
    """Maximise the summed weight of the accepted requests."""
    m.weight = sum(req.score * m.accept[req.index] for req in m.requests)
    m.cp.maximize(m.weight)


def add_keep_previous(m: Model) -> None:
    """Count each step that leaves its place of the previous proposal (a secondary cost)."""
    moved: list[cp_model.LinearExprT] = []
    for req in m.requests:
        for k, (unit, start) in req.previous.items():
            sm = m.steps.get((req.index, k))
            option = None if sm is None else next((o for o in sm.options if o.unit == unit), None)
            if option is None:
                moved.append(1)
                continue
            keep = m.cp.new_bool_var("")
            m.cp.add_implication(keep, option.present)
            m.cp.add(option.start == start).only_enforce_if(keep)
            moved.append(1 - keep)
    m.moved = cp_model.LinearExpr.sum(moved)
    m.previous_steps = len(moved)


def add_early_completion(m: Model) -> None:
    """Prefer plans whose accepted requests finish early (a secondary cost)."""
    ends = []
    for req in m.requests:
        last = m.steps[(req.index, req.steps[-1].index)]
        end = m.cp.new_int_var(0, m.inst.horizon, "")
        m.cp.add(end >= last.end).only_enforce_if(m.accept[req.index])
        ends.append(end)
    m.completion = sum(ends)


def add_makespan_objective(m: Model, upper: int | None) -> None:
    """Minimise the latest end of any step."""
    lower = 0
    for req in m.requests:
        lower = max(lower, sum(s.duration for s in req.steps))
    makespan = m.cp.new_int_var(lower, upper if upper is not None else m.inst.horizon, "makespan")
    for req in m.requests:
        m.cp.add(makespan >= m.steps[(req.index, req.steps[-1].index)].end)
    m.makespan = makespan
    m.cp.minimize(makespan)


def prefer_secondary(m: Model, best_weight: int) -> None:
    """Keep the weight at ``best_weight``; then keep previous places, then finish early."""
    m.cp.add(m.weight >= best_weight)
    scale = 1 + m.inst.horizon * max(1, len(m.requests))
    m.cp.minimize(cp_model.LinearExpr.weighted_sum([m.moved, m.completion], [scale, 1]))
