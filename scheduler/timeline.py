"""Timelines of booked slots per unit, and the earliest-placement routine built on them.

Both greedy planners and the reasons use :class:`Board`: a set of unit timelines that knows
capacity, changeovers and the fair-share cap, and finds the earliest placement of a whole
request (all steps, with lags) given what is already booked. It also sums what each project's
booked requests cost, for its budget.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from scheduler.instance import Alternative, Instance, RequestInfo, StepInfo

Placement = tuple[int, int]
"""``(unit, start slot)`` of one step."""

_span_end = itemgetter(1)


@dataclass
class _Timeline:
    capacity: int
    changeover: int
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    projects: list[int] = field(default_factory=list)
    """For capacity 1: parallel sorted lists of disjoint bookings."""
    bookings: list[tuple[int, int]] = field(default_factory=list)
    """For capacity above 1: all bookings, sorted."""
    longest: int = 0
    """For capacity above 1: the longest booking ever added, to bound the overlap search."""
    known: dict[tuple[bool, int, int], tuple[list[int], list[int]]] = field(default_factory=dict)
    """Per (attended, duration, ``_changeover_project``): disjoint ranges ``[lo, hi]`` (as two
    sorted lists) where no start of the unit's start set for that step is free. Bookings are
    only added while a greedy pass runs, so what was full stays full; removing a booking
    forgets it all."""

    def empty(self) -> bool:
        return not self.starts and not self.bookings

    def add(self, start: int, end: int, project: int) -> None:
        if self.capacity == 1:
            i = bisect_left(self.starts, start)
            self.starts.insert(i, start)
            self.ends.insert(i, end)
            self.projects.insert(i, project)
        else:
            insort(self.bookings, (start, end))
            self.longest = max(self.longest, end - start)

    def remove(self, start: int, end: int) -> None:
        self.known.clear()
        if self.capacity == 1:
            i = bisect_left(self.starts, start)
            while self.ends[i] != end:
                i += 1
            del self.starts[i], self.ends[i], self.projects[i]
        else:
            self.bookings.remove((start, end))

    def learn(self, key: tuple[bool, int, int], lo: int, hi: int) -> None:
        """Note that no start in ``[lo, hi]`` is free for ``key`` (merged with what is known)."""
        if lo > hi:
            return
        los, his = self.known.setdefault(key, ([], []))
        i = bisect_left(his, lo - 1)
        j = bisect_right(los, hi + 1, lo=i)
        if i < j:
            lo, hi = min(lo, los[i]), max(hi, his[j - 1])
        los[i:j] = [lo]
        his[i:j] = [hi]

    def next_try(self, start: int, duration: int, project: int) -> int | None:
        """Return None if ``[start, start+duration)`` is free, else a later start to try."""
        end = start + duration
        if self.capacity == 1:
            co = self.changeover
            i = bisect_right(self.ends, start - co)
            n = len(self.starts)
            while i < n and self.starts[i] < end + co:
                gap = co if self.projects[i] != project else 0
                if self.starts[i] < end + gap and start < self.ends[i] + gap:
                    return self.ends[i] + gap
                i += 1
            return None
        # Only bookings starting in (start - longest, end) can overlap.
        lo = bisect_left(self.bookings, (start - self.longest + 1,))
        hi = bisect_left(self.bookings, (end,), lo)
        overlapping = [(a, b) for a, b in self.bookings[lo:hi] if start < b]
        if len(overlapping) < self.capacity:
            return None
        events = sorted(
            [(max(a, start), 1) for a, _ in overlapping]
            + [(min(b, end), -1) for _, b in overlapping]
        )
        level = 0
        last_full: int | None = None
        for i, (t, delta) in enumerate(events):
            level += delta
            nxt = events[i + 1][0] if i + 1 < len(events) else end
            if level >= self.capacity and nxt > t:
                last_full = nxt - 1
        return None if last_full is None else last_full + 1


def _changeover_project(line: _Timeline, project: int) -> int:
    """Return the project as far as it decides whether a start is free on ``line``: only a
    one-at-a-time unit with a changeover treats a project's own neighbours differently."""
    return project if line.capacity == 1 and line.changeover else -1


class Board:
    """What is booked on every unit, and where a request can still go."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.lines = [_Timeline(u.capacity, u.changeover) for u in inst.units]
        self.caps = [inst.fair_cap(u) for u in inst.units]
        self.used: dict[tuple[int, int], int] = {}
        self.plan: dict[int, list[Placement]] = {}
        self.collisions: list[str] = []
        self.pending: dict[int, int] = {}
        """Slots per unit held by earlier steps of the request being placed (for fair share)."""
        self.spent: dict[int, int] = {}
        """Project index -> what its booked requests that are not pinned cost, in fen."""

    @classmethod
    def with_pins(cls, inst: Instance) -> Board:
        """Return a board holding only the pinned steps."""
        board = cls(inst)
        for req in inst.requests:
            for step in req.steps:
                if step.pinned is not None:
                    u, s = step.pinned
                    if board.lines[u].next_try(s, step.duration, req.project) is not None:
                        board.collisions.append(
                            f"pinned step {step.index} of request {req.id!r} collides with "
                            f"another pinned step on {inst.units[u].id!r}"
                        )
                    board.lines[u].add(s, s + step.duration, req.project)
        return board

    def book(self, req: RequestInfo, placements: Sequence[Placement]) -> None:
        """Book every step of ``req`` at ``placements``."""
        for step, (u, s) in zip(req.steps, placements, strict=True):
            self.lines[u].add(s, s + step.duration, req.project)
            if step.pinned is None:
                key = (u, req.project)
                self.used[key] = self.used.get(key, 0) + step.duration
        if not req.pinned:
            self.spent[req.project] = self.spent.get(req.project, 0) + req.cost
        self.plan[req.index] = list(placements)

    def unbook(self, req: RequestInfo) -> None:
        """Remove every step of ``req`` from the board."""
        for step, (u, s) in zip(req.steps, self.plan.pop(req.index), strict=True):
            self.lines[u].remove(s, s + step.duration)
            if step.pinned is None:
                self.used[(u, req.project)] -= step.duration
        if not req.pinned:
            self.spent[req.project] -= req.cost

    def affordable(self, req: RequestInfo) -> bool:
        """A project's accepted requests that are not pinned cost together at most what its
        budget leaves after its pinned ones (``Instance.headroom``)."""
        room = self.inst.headroom(req.project)
        return req.pinned or room is None or self.spent.get(req.project, 0) + req.cost <= room

    def earliest_step(
        self,
        req: RequestInfo,
        step: StepInfo,
        t_min: int,
        t_max: int | None,
        prefer: Callable[[Alternative], float] | None = None,
    ) -> Placement | None:
        """Return the earliest free placement of ``step`` starting in ``[t_min, t_max]``."""
        best: Placement | None = None
        best_key: tuple[int, float] = (0, 0.0)
        for i, alt in enumerate(step.alternatives):
            if not alt.starts:
                continue
            s = self._earliest_on(req, step, alt, t_min, t_max)
            if s is None:
                continue
            key = (s, prefer(alt) if prefer is not None else float(i))
            if best is None or key < best_key:
                best, best_key = (alt.unit, s), key
        return best

    def _earliest_on(
        self, req: RequestInfo, step: StepInfo, alt: Alternative, t_min: int, t_max: int | None
    ) -> int | None:
        line = self.lines[alt.unit]
        if step.pinned is not None:
            pin = step.pinned[1]
            return pin if t_min <= pin and (t_max is None or pin <= t_max) else None
        cap = self.caps[alt.unit]
        if cap is not None:
            held = self.used.get((alt.unit, req.project), 0) + self.pending.get(alt.unit, 0)
            if held + step.duration > cap:
                return None
        # The tries only move forward, so the span holding the next try is found from the
        # last one on: one bisection, then a walk (a rescan from the first span each try cost
        # a third of a greedy pass on large regions).
        spans = alt.starts
        n = len(spans)
        j = bisect_left(spans, t_min, key=_span_end)
        t = t_min
        # Inside the request's window its start set is the unit's for this duration (less
        # starts another request's pin makes unusable), so the stretch a walk found full is
        # full for every later request of the same key: they skip it in one step. Walking a
        # busy day booking by booking was three fifths of a greedy pass, spent on requests
        # left out. (A request with a pin of its own keeps starts near it that others lack.)
        memo = not req.pinned
        key = (step.attended, step.duration, _changeover_project(line, req.project))
        full = line.known.get(key) if memo else None
        walked_from = -1
        while True:
            while j < n and spans[j][1] < t:
                j += 1
            if j == n:
                if memo and walked_from >= 0:
                    line.learn(key, walked_from, spans[-1][1])
                return None
            s = max(spans[j][0], t)
            if t_max is not None and s > t_max:
                if memo and walked_from >= 0:
                    line.learn(key, walked_from, t_max)
                return None
            if walked_from < 0:
                walked_from = s
            if full is not None:
                i = bisect_right(full[0], s) - 1
                if i >= 0 and full[1][i] >= s:
                    t = full[1][i] + 1
                    continue
            nxt = line.next_try(s, step.duration, req.project)
            if nxt is None:
                if memo and s > walked_from:
                    line.learn(key, walked_from, s - 1)
                return s
            t = max(nxt, s + 1)

    def fits(self, req: RequestInfo, placements: Sequence[Placement]) -> bool:
        """Return True if every step of ``req`` can be booked exactly at ``placements``."""
        self.pending.clear()
        try:
            return self._fits(req, placements)
        finally:
            self.pending.clear()

    def _fits(self, req: RequestInfo, placements: Sequence[Placement]) -> bool:
        prev_end: int | None = None
        for step, (unit, start) in zip(req.steps, placements, strict=True):
            if prev_end is not None:
                gap = start - prev_end
                if gap < step.min_lag or (step.max_lag is not None and gap > step.max_lag):
                    return False
            alt = next((a for a in step.alternatives if a.unit == unit), None)
            if alt is None or self._earliest_on(req, step, alt, start, start) != start:
                return False
            prev_end = start + step.duration
            self._hold(unit, step.duration if step.pinned is None else 0)
        return True

    def _hold(self, unit: int, slots: int) -> None:
        self.pending[unit] = self.pending.get(unit, 0) + slots

    def earliest_request(
        self,
        req: RequestInfo,
        prefer: Callable[[Alternative], float] | None = None,
        first_step_from: int = 0,
    ) -> list[Placement] | None:
        """Return the earliest placement of all steps of ``req`` (by first step), or None."""
        return self._place_from(req, 0, first_step_from, None, prefer)

    def _place_from(
        self,
        req: RequestInfo,
        k: int,
        t_min: int,
        t_max: int | None,
        prefer: Callable[[Alternative], float] | None,
    ) -> list[Placement] | None:
        steps = req.steps
        step = steps[k]
        while True:
            here = self.earliest_step(req, step, t_min, t_max, prefer)
            if here is None:
                return None
            if k == len(steps) - 1:
                return [here]
            end = here[1] + step.duration
            nxt = steps[k + 1]
            hi = None if nxt.max_lag is None else end + nxt.max_lag
            self._hold(here[0], step.duration if step.pinned is None else 0)
            try:
                rest = self._place_from(req, k + 1, end + nxt.min_lag, hi, prefer)
            finally:
                self._hold(here[0], -step.duration if step.pinned is None else 0)
            if rest is not None:
                return [here, *rest]
            if nxt.max_lag is None:
                return None
            # A later start of this step only helps once the next step can start somewhere.
            free = self.earliest_step(req, nxt, end + nxt.min_lag, None, prefer)
            if free is None:
                return None
            t_min = max(here[1] + 1, free[1] - nxt.max_lag - step.duration)
