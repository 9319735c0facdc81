"""Large-neighbourhood search for components too big for one CP-SAT model to improve.

Each round frees the requests that could use a few units during a stretch of time, keeps
every other accepted request where it is (cut out of the freed steps' start domains, so the
model holds only the freed requests), and lets CP-SAT re-plan that neighbourhood from the
current plan; a round is kept if it adds weight, or keeps it and moves fewer steps away from
the previous proposal.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from ortools.sat.python import cp_model

from scheduler.cpsat.model import Busy, add_keep_previous, build_model
from scheduler.deadline import Stopper
from scheduler.instance import Instance, RequestInfo
from scheduler.plan import Plan, plan_weight
from scheduler.timeline import Board

ROUND_DTIME = 0.01
"""With one worker, the deterministic time of one round (about 0.1-0.5 s)."""
ROUND_SECONDS = 0.4
"""The wall-clock cap of one round: most rounds are proven optimal in well under a tenth."""
TARGETED = 0.9
"""Share of rounds built around a request that is left out, the rest around random units."""
EJECT = 0.8
"""Share of those rounds that free one place where the request would fit and what holds it."""


def _overlaps(req: RequestInfo, units: set[int], lo: int, hi: int) -> bool:
    for step in req.steps:
        for alt in step.live():
            if alt.unit in units and alt.starts[0][0] < hi and lo <= alt.starts[-1][1]:
                return True
    return False


def _fits_window(req: RequestInfo, lo: int, hi: int) -> bool:
    """Return True if every step of ``req`` still has a start inside ``[lo, hi)``."""
    return all(
        any(a.starts[0][0] <= hi - s.duration and lo <= a.starts[-1][1] for a in s.live())
        for s in req.steps
    )


def improve(
    inst: Instance,
    requests: list[RequestInfo],
    plan: Plan,
    *,
    stop_at: float,
    seed: int,
    on_better: Callable[[Plan, int], None],
    max_free: int = 80,
    deterministic_time: float | None = None,
    guide: Mapping[int, float] | None = None,
    rounds: int | None = None,
    done: dict[str, int] | None = None,
    stopper: Stopper | None = None,
    threads: int = 1,
) -> Plan:
    """Return a plan at least as heavy as ``plan``, improved by rounds until ``stop_at``.

    Among plans of equal weight a round keeps the one that moves fewer steps from their place
    in the previous proposal. With ``deterministic_time`` the rounds also stop once CP-SAT has
    used that much of its deterministic time, so that one worker and one seed repeat the same
    rounds. ``guide`` (request index -> share accepted by the LP bound) makes rounds aim more
    often at left-out requests that the relaxation would accept.

    With ``rounds`` the search is budgeted: exactly that many rounds (an empty one counts too),
    each ended by ``ROUND_DTIME`` of CP-SAT's deterministic time and never by the clock, so one
    seed repeats the same rounds on any machine; ``stop_at`` only cuts it short (the caller
    then knows the plan may not repeat). ``done["rounds"]`` receives the rounds done (and,
    with threads, ``done["dropped"]`` those dropped). ``stopper`` ends the rounds (and the
    round running) when the solve's caller asks to stop.

    With ``threads`` above one (a wall-clock search only: neither ``rounds`` nor
    ``deterministic_time``), that many rounds run at once, each on a CP-SAT worker of its own:
    choosing and building a round and keeping its plan take turns under one lock, CP-SAT runs
    beside them; a round is dropped if another kept a plan meanwhile that changed one of its
    units (or, under budgets, its projects' spending).
    """
    search = _Search(inst, requests, plan, guide=guide, max_free=max_free, on_better=on_better)
    search.stopper = stopper or Stopper(math.inf)
    if rounds is not None or deterministic_time is not None:
        threads = 1
    if threads <= 1:
        search.walk(random.Random(seed), stop_at, deterministic_time, rounds, done)
        return search.plan
    with ThreadPoolExecutor(threads, thread_name_prefix="lns") as pool:
        walks = [
            pool.submit(search.walk, random.Random(seed if k == 0 else f"{seed}/{k}"), stop_at)
            for k in range(threads)
        ]
        for walk in walks:
            walk.result()
    if done is not None:
        done["rounds"] = search.count
        done["dropped"] = search.dropped
    return search.plan


class _Search:
    """What the rounds of one search share: the plan, who holds each unit, and one lock."""

    def __init__(
        self,
        inst: Instance,
        requests: list[RequestInfo],
        plan: Plan,
        *,
        guide: Mapping[int, float] | None,
        max_free: int,
        on_better: Callable[[Plan, int], None],
    ) -> None:
        self.inst = inst
        self.requests = requests
        self.plan = plan
        self.guide = guide
        self.max_free = max_free
        self.on_better = on_better
        self.stopper = Stopper(math.inf)
        self.by_unit: dict[int, list[RequestInfo]] = defaultdict(list)
        self.mates: dict[int, set[int]] = defaultdict(set)
        for req in requests:
            for step in req.steps:
                alts = {a.unit for a in step.live()}
                for unit in alts:
                    self.mates[unit] |= alts
            for unit in {a.unit for s in req.steps for a in s.live()}:
                self.by_unit[unit].append(req)
        self.units = sorted(self.by_unit)
        self.day = max(1, 1440 // inst.granularity)
        self.weight = plan_weight(inst, plan)
        self.reach = max((u.changeover for u in inst.units), default=0)
        self.build = 0.05
        self.spent = 0.0
        self.count = 0
        self.dropped = 0
        self.tries: dict[int, int] = {}
        self.alone = Board.with_pins(inst)
        self.holders = _holders(inst, plan)
        self.fair = inst.problem.fair_share is not None
        # How many kept rounds changed each unit, and each budgeted project's spending: a
        # round that ran beside others keeps its plan only if none changed what it read.
        self.changed: dict[int, int] = defaultdict(int)
        self.lock = threading.Lock()

    def walk(
        self,
        rng: random.Random,
        stop_at: float,
        deterministic_time: float | None = None,
        rounds: int | None = None,
        done: dict[str, int] | None = None,
    ) -> None:
        """Run rounds until the stop: the search's only loop, one per thread."""
        inst = self.inst
        day = self.day
        width = day
        margin = max(1, day // 8)
        stopper = self.stopper
        while True:
            with self.lock:
                if stopper.requested():
                    break
                if rounds is not None:
                    if self.count >= rounds or time.perf_counter() >= stop_at:
                        break
                elif time.perf_counter() + self.build >= stop_at - 0.05:
                    break
                if deterministic_time is not None and self.spent >= deterministic_time:
                    break
                self.count += 1
                if done is not None:
                    done["rounds"] = self.count
                plan = self.plan
                picked = self._pick(rng, width, margin)
                if picked is None:
                    continue
                freed, lo, hi, narrow = picked
                if narrow:
                    width = max(day // 4, width * 4 // 5)
                if not freed:
                    width = min(inst.horizon, width * 5 // 4)
                    continue
                freed_set = {r.index for r in freed}
                used_units = {a.unit for r in freed for s in r.steps for a in s.live()}
                budgeted = {r.project for r in freed if r.project in inst.budgets}
                seen = self._versions(used_units, budgeted)
                began = time.perf_counter()
                model = build_model(
                    inst,
                    freed,
                    window=(lo, hi),
                    blocked=_blocked(
                        inst, self.holders, freed_set, used_units, lo - self.reach, hi + self.reach
                    ),
                    held=_held(inst, self.holders, freed_set, used_units) if self.fair else None,
                    spent=_kept_cost(inst, plan, freed_set) if inst.budgets else None,
                )
                add_keep_previous(model)
                # Weight first; a moved step costs less than the lightest request.
                scale = model.previous_steps + 1
                model.cp.maximize(
                    cp_model.LinearExpr.weighted_sum([model.weight, model.moved], [scale, -1])
                )
                model.hint(plan)
                base = sum(r.score for r in freed if r.index in plan)
                before = scale * base - sum(_moved(r, plan.get(r.index)) for r in freed)
                model.cp.add(model.weight >= base)
                self.build = max(self.build, time.perf_counter() - began)
                solver = cp_model.CpSolver()
                params = solver.parameters
                left = stop_at - time.perf_counter()
                exact = deterministic_time is not None or rounds is not None
                limit = left if exact else min(ROUND_SECONDS, left)
                if limit != math.inf:
                    params.max_time_in_seconds = max(0.05, limit)
                # One worker: a round's model is small, and starting CP-SAT's portfolio of
                # workers costs more than it finds (on the congested week, 50 % more rounds in
                # the same time).
                params.num_workers = 1
                params.random_seed = rng.randrange(1 << 30)
                if rounds is not None:
                    params.max_deterministic_time = ROUND_DTIME
                elif deterministic_time is not None:
                    params.max_deterministic_time = max(
                        1e-3, min(ROUND_DTIME, deterministic_time - self.spent)
                    )
            # CP-SAT runs outside the lock (it lets go of Python's), beside other rounds.
            with stopper.hook(solver.stop_search):
                status = model.solve(solver)
            with self.lock:
                self.spent += solver.deterministic_time
                if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                    continue
                local = model.read_plan(solver)
                gain = sum(inst.requests[i].score for i in local) - base
                after = scale * (base + gain) - sum(_moved(r, local.get(r.index)) for r in freed)
                if status == cp_model.OPTIMAL and len(freed) < self.max_free:
                    width = min(inst.horizon, width * 5 // 4)
                elif status != cp_model.OPTIMAL:
                    width = max(day // 4, width * 4 // 5)
                if after < before:
                    continue
                if self._versions(used_units, budgeted) != seen:
                    self.dropped += 1
                    continue
                self._keep(freed_set, local, budgeted)
                self.weight += gain
                if gain:
                    self.on_better(self.plan, self.weight)

    def _pick(
        self, rng: random.Random, width: int, margin: int
    ) -> tuple[list[RequestInfo], int, int, bool] | None:
        """Choose a round's neighbourhood: the freed requests, its stretch of time, and
        whether the stretch should narrow (too many requests in it). None: nothing to try."""
        inst, plan = self.inst, self.plan
        chosen: set[int] = set()
        waiting = [r for r in self.requests if r.index not in plan]
        must: set[int] = set()
        target: RequestInfo | None = None
        if waiting and rng.random() < TARGETED * EJECT:
            # Aim at a request left out, at one place where it would fit alone: free it with
            # the requests that hold that place, so CP-SAT weighs them against it.
            target = self._target(rng, waiting)
            spot = _spot(self.alone, target, rng)
            if spot is None:
                return None
            lo, hi, must = _eject(inst, plan, target, spot, self.holders)
            lo, hi = max(0, lo - margin), min(inst.horizon, hi + margin)
            for u, _ in spot:
                chosen |= self.mates[u]
        elif waiting and rng.random() < TARGETED:
            # Aim at a request left out: its units and the time its window allows.
            # Requests aimed at in vain before are picked less often.
            target = self._target(rng, waiting)
            for unit in {a.unit for st in target.steps for a in st.live()}:
                chosen |= self.mates[unit]
            # The stretch covers the target's whole window, so that it can be freed at all.
            span = max(width, target.deadline - target.release)
            mid = (target.release + target.deadline) // 2
            lo = max(0, min(mid - span // 2, inst.horizon - span))
            hi = min(inst.horizon, lo + span)
        else:
            for unit in rng.sample(self.units, min(len(self.units), rng.randint(1, 3))):
                chosen |= self.mates[unit]
            lo = rng.randrange(0, max(1, inst.horizon - width // 2))
            hi = min(inst.horizon, lo + width)
        freed = []
        for i, req in sorted({r.index: r for u in chosen for r in self.by_unit[u]}.items()):
            if not _overlaps(req, chosen, lo, hi) or not _fits_window(req, lo, hi):
                continue
            places = plan.get(i)
            if places is not None and not all(
                lo <= s and s + st.duration <= hi
                for (_, s), st in zip(places, req.steps, strict=True)
            ):
                continue
            freed.append(req)
        narrow = False
        if len(freed) > self.max_free:
            first = [r for r in freed if r is target or r.index in must]
            others = [r for r in freed if r is not target and r.index not in must]
            freed = first + rng.sample(others, max(0, self.max_free - len(first)))
            narrow = not must
        return freed, lo, hi, narrow

    def _target(self, rng: random.Random, waiting: list[RequestInfo]) -> RequestInfo:
        odds = [_odds(r, self.guide) / (1 + self.tries.get(r.index, 0)) for r in waiting]
        target = rng.choices(waiting, weights=odds)[0]
        self.tries[target.index] = self.tries.get(target.index, 0) + 1
        return target

    def _versions(self, units: set[int], projects: set[int]) -> tuple[int, ...]:
        """Return how often kept rounds changed these units and projects' spending."""
        changed = self.changed
        return (
            *(changed.get(u, 0) for u in sorted(units)),
            *(changed.get(-1 - p, 0) for p in sorted(projects)),
        )

    def _keep(self, freed: set[int], local: Plan, budgeted: set[int]) -> None:
        """Put a round's plan in place of its freed requests' places."""
        inst, plan, holders = self.inst, self.plan, self.holders
        touched = {u for i in freed if i in plan for u, _ in plan[i]}
        touched |= {u for places in local.values() for u, _ in places}
        for i in freed:
            plan.pop(i, None)
        plan.update(local)
        # Who holds each unit, as _holders(plan) would list it: the kept steps in their
        # order, then the round's in the plan's order.
        for u in touched:
            holders[u] = [h for h in holders.get(u, ()) if h[2] not in freed]
            self.changed[u] += 1
        for i, places in local.items():
            for (u, s), step in zip(places, inst.requests[i].steps, strict=True):
                holders[u].append((s, s + step.duration, i, step.index))
        for p in budgeted:
            self.changed[-1 - p] += 1


def _holders(inst: Instance, plan: Plan) -> dict[int, list[tuple[int, int, int, int]]]:
    """Return per unit ``(start, end, request, step)`` of every planned step."""
    out: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    for i, places in plan.items():
        for (u, s), step in zip(places, inst.requests[i].steps, strict=True):
            out[u].append((s, s + step.duration, i, step.index))
    return out


def _spot(alone: Board, req: RequestInfo, rng: random.Random) -> list[tuple[int, int]] | None:
    """Return a random placement of ``req`` on units holding nothing but pinned steps."""
    first = req.steps[0].live()
    lo = min(a.starts[0][0] for a in first)
    hi = max(a.starts[-1][1] for a in first)
    noise = {a.unit: rng.random() for s in req.steps for a in s.live()}
    return alone.earliest_request(
        req, lambda a: noise[a.unit], first_step_from=rng.randint(lo, hi)
    ) or alone.earliest_request(req, lambda a: noise[a.unit])


def _eject(
    inst: Instance,
    plan: Plan,
    target: RequestInfo,
    spot: list[tuple[int, int]],
    holders: dict[int, list[tuple[int, int, int, int]]],
) -> tuple[int, int, set[int]]:
    """Return the stretch covering ``spot`` and the steps of requests in its way, and those."""
    lo, hi = inst.horizon, 0
    must: set[int] = set()
    for (u, s), step in zip(spot, target.steps, strict=True):
        e = s + step.duration
        lo, hi = min(lo, s), max(hi, e)
        gap = inst.units[u].changeover
        must |= {i for a, b, i, _ in holders.get(u, ()) if a < e + gap and s < b + gap}
    for i in must:
        for (_, s), step in zip(plan[i], inst.requests[i].steps, strict=True):
            lo, hi = min(lo, s), max(hi, s + step.duration)
    return lo, hi, must


def _blocked(
    inst: Instance,
    holders: dict[int, list[tuple[int, int, int, int]]],
    freed: set[int],
    units: set[int],
    lo: int,
    hi: int,
) -> dict[int, list[Busy]]:
    """Return, per unit of ``units``, the planned steps not freed that touch ``[lo, hi)``."""
    out: dict[int, list[Busy]] = {}
    for u in units:
        busy = []
        for a, b, i, _ in holders.get(u, ()):
            if i not in freed and a < hi and lo < b:
                busy.append(Busy(a, b, inst.requests[i].project))
        if busy:
            out[u] = busy
    return out


def _held(
    inst: Instance,
    holders: dict[int, list[tuple[int, int, int, int]]],
    freed: set[int],
    units: set[int],
) -> dict[tuple[int, int], int]:
    """Return the slots each project holds on ``units`` outside the freed requests.

    Fair share caps a project's hold over the whole horizon, so this counts every kept step,
    not only those near the neighbourhood; pinned steps are exempt from the cap.
    """
    out: dict[tuple[int, int], int] = defaultdict(int)
    for u in units:
        for a, b, i, k in holders.get(u, ()):
            req = inst.requests[i]
            if i not in freed and req.steps[k].pinned is None:
                out[(u, req.project)] += b - a
    return out


def _kept_cost(inst: Instance, plan: Plan, freed: set[int]) -> dict[int, int]:
    """Return what each project's planned requests outside the freed ones cost, pins aside.

    A budget caps a project's spending over the whole plan, so the neighbourhood gets only
    what the kept requests leave of it."""
    out: dict[int, int] = defaultdict(int)
    for i in plan:
        req = inst.requests[i]
        if i not in freed and not req.pinned and req.project in inst.budgets:
            out[req.project] += req.cost
    return out


def _moved(req: RequestInfo, places: list[tuple[int, int]] | None) -> int:
    """Return how many steps of ``req`` are not where the previous proposal had them."""
    if not req.previous:
        return 0
    if places is None:
        return len(req.previous)
    return sum(1 for k, where in req.previous.items() if places[k] != where)


def _odds(req: RequestInfo, guide: Mapping[int, float] | None) -> float:
    """Return how strongly to aim at a left-out request: its weight per slot, LP-weighted."""
    odds = req.weight / _need(req)
    if guide is not None:
        odds *= 0.1 + guide.get(req.index, 0.0)
    return odds


def _need(req: RequestInfo) -> int:
    """Return the slots the request's steps occupy."""
    return sum(s.duration for s in req.steps) or 1
