"""Components of a problem (units linked by requests, solved apart) and progress reports."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from scheduler.instance import Instance, RequestInfo
from scheduler.plan import Plan


@dataclass(frozen=True)
class Progress:
    """A snapshot of the search, summed (or for makespan, maxed) over components."""

    objective: float
    bound: float
    elapsed_seconds: float
    components_done: int
    components_total: int


ProgressCallback = Callable[[Progress], None]


@dataclass
class Component:
    """Units linked by requests that may use them, and those requests."""

    units: list[int]
    requests: list[RequestInfo]
    size: int
    plan: Plan = field(default_factory=dict)
    value: int = 0
    """Score (weight) or makespan of ``plan``, in model units."""
    bound: int = 0
    status: str = "GREEDY"
    greedy_value: int = 0
    valid: bool = True
    """Whether ``plan`` obeys every hard rule of the component (pinned and makespan ones)."""
    seconds: float = 0.0
    guide: dict[int, float] | None = None
    """Request index -> how much of it the LP relaxation accepts, once solved."""
    work: float = 0.0
    """Work units the search of this component did (``scheduler.cpsat.search.WORK_DTIME``)."""


def components(inst: Instance) -> list[Component]:
    """Split the requests that can be placed into groups that share no unit and no budget."""
    parent = list(range(len(inst.units)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(units: list[int]) -> None:
        for u in units[1:]:
            ru, r0 = find(u), find(units[0])
            if ru != r0:
                parent[ru] = r0

    live = [r for r in inst.requests if not r.impossible]
    for req in live:
        join([a.unit for s in req.steps for a in s.live()])
    # A budget that binds links its project's requests wherever they run: what one of them
    # spends, the others cannot, so they are planned together.
    spend: dict[int, int] = defaultdict(int)
    members: dict[int, list[int]] = defaultdict(list)
    for req in live:
        if req.project in inst.budgets and not req.pinned:
            spend[req.project] += req.cost
            members[req.project].append(req.steps[0].live()[0].unit)
    for project, cost in spend.items():
        room = inst.headroom(project)
        if room is not None and cost > room:
            join(members[project])
    groups: dict[int, Component] = {}
    for req in live:
        root = find(req.steps[0].live()[0].unit)
        comp = groups.setdefault(root, Component([], [], 0))
        comp.requests.append(req)
        comp.size += sum(len(s.live()) for s in req.steps)
    for u in range(len(inst.units)):
        if find(u) in groups:
            groups[find(u)].units.append(u)
    return sorted(groups.values(), key=lambda c: -c.size)


class Tracker:
    """Sums the components' plans and bounds and reports them through ``on_progress``."""

    def __init__(
        self,
        inst: Instance,
        comps: list[Component],
        started: float,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.inst = inst
        self.comps = comps
        self.started = started
        self.on_progress = on_progress
        self.done = 0
        self.scale = inst.score_scale
        self.last: float | None = None

    def objective(self) -> float:
        if self.inst.makespan:
            return max((c.value for c in self.comps), default=0) * self.inst.granularity
        return sum(c.value for c in self.comps) / self.scale

    def bound(self) -> float:
        if self.inst.makespan:
            return max((c.bound for c in self.comps), default=0) * self.inst.granularity
        return sum(c.bound for c in self.comps) / self.scale

    def report(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        objective = self.objective()
        better = self.last is None or (
            objective < self.last if self.inst.makespan else objective > self.last
        )
        if better or force:
            self.last = objective
            self.on_progress(
                Progress(
                    objective,
                    self.bound(),
                    time.perf_counter() - self.started,
                    self.done,
                    len(self.comps),
                )
            )
