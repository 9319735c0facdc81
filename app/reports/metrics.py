"""Pure report computations over plain data: no database, no Flask, no time zone lookups."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.intervals import Interval, clip, overlap, total_length


@dataclass(frozen=True)
class Unit:
    """An equipment unit with its usable windows (open hours minus maintenance) in the period."""

    id: int
    facility_id: int
    name: str
    capacity: int
    capabilities: tuple[str, ...]
    usable: tuple[Interval, ...]


@dataclass(frozen=True)
class BookingFact:
    """One booking of a unit, active or cancelled."""

    id: int
    unit_id: int
    facility_id: int
    project_id: int
    request_id: int
    start: datetime
    end: datetime
    active: bool
    attended: bool | None
    created_at: datetime
    manual: bool


@dataclass(frozen=True)
class RequestFact:
    """A request of a facility: what was asked for and when it was first booked."""

    id: int
    facility_id: int
    created_at: datetime
    weight: int
    requested_hours: float
    window: Interval
    withdrawn: bool
    first_booked_at: datetime | None
    first_booking_manual: bool


@dataclass(frozen=True)
class ProposalFact:
    """A solver proposal: the requests it placed and the metrics the booking core stored."""

    id: int
    facility_id: int
    status: str
    created_at: datetime
    placed: Mapping[int, float]
    placed_weight: int
    metrics: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Load:
    """Booked hours against usable capacity hours (usable hours × capacity)."""

    booked_hours: float = 0.0
    capacity_hours: float = 0.0

    @property
    def ratio(self) -> float | None:
        return self.booked_hours / self.capacity_hours if self.capacity_hours > 0 else None

    def __add__(self, other: Load) -> Load:
        return Load(
            self.booked_hours + other.booked_hours, self.capacity_hours + other.capacity_hours
        )


@dataclass(frozen=True)
class Week:
    """An ISO week, clipped to the period."""

    label: str
    start: datetime
    end: datetime


def hours(span: timedelta) -> float:
    """Return a duration in hours."""
    return span.total_seconds() / 3600


def iso_weeks(period: Interval, week_starts: Sequence[datetime]) -> list[Week]:
    """Cut the period at the given week starts (local Mondays at midnight, as aware datetimes)."""
    bounds = sorted({period[0], period[1], *(w for w in week_starts if period[0] < w < period[1])})
    weeks = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        year, week, _ = start.isocalendar()
        weeks.append(Week(f"{year}-W{week:02d}", start, end))
    return weeks


def unit_loads(
    units: Iterable[Unit], bookings: Iterable[BookingFact], period: Interval
) -> dict[int, Load]:
    """Return each unit's active booked hours and capacity hours inside the period."""
    booked: dict[int, float] = defaultdict(float)
    for b in bookings:
        if b.active:
            booked[b.unit_id] += hours(overlap((b.start, b.end), period))
    return {
        u.id: Load(booked[u.id], u.capacity * hours(total_length(clip(u.usable, *period))))
        for u in units
    }


def group_loads(
    units: Iterable[Unit],
    loads: Mapping[int, Load],
    keys: Callable[[Unit], Iterable[Hashable]],
) -> dict[Hashable, Load]:
    """Sum unit loads into groups; a unit may belong to several groups (capabilities)."""
    grouped: dict[Hashable, Load] = defaultdict(Load)
    for unit in units:
        for key in keys(unit):
            grouped[key] = grouped[key] + loads[unit.id]
    return dict(grouped)


def weekly_unit_loads(
    units: Sequence[Unit], bookings: Sequence[BookingFact], weeks: Sequence[Week]
) -> dict[str, dict[int, Load]]:
    """Return, per week label, each unit's load in that week."""
    return {w.label: unit_loads(units, bookings, (w.start, w.end)) for w in weeks}


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the q-th percentile (0–100), interpolating linearly between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Waiting:
    """Hours from request to first booking, over the requests first booked in the period."""

    count: int
    median_hours: float | None
    p90_hours: float | None


def waiting_times(requests: Iterable[RequestFact], period: Interval) -> dict[int, Waiting]:
    """Return waiting statistics per facility; manual bookings are left out (nobody waited)."""
    waits: dict[int, list[float]] = defaultdict(list)
    for r in requests:
        booked = r.first_booked_at
        if booked is None or r.first_booking_manual or not period[0] <= booked < period[1]:
            continue
        waits[r.facility_id].append(max(0.0, hours(booked - r.created_at)))
    return {
        facility: Waiting(len(v), statistics.median(v), percentile(v, 90))
        for facility, v in waits.items()
    }


def startups_served(bookings: Iterable[BookingFact], period: Interval) -> dict[int, set[int]]:
    """Return the projects with an active booking in the period, per facility."""
    served: dict[int, set[int]] = defaultdict(set)
    for b in bookings:
        if b.active and overlap((b.start, b.end), period):
            served[b.facility_id].add(b.project_id)
    return dict(served)


@dataclass(frozen=True)
class Attendance:
    """No-shows among active bookings, and cancellations among all bookings, in the period."""

    bookings: int = 0
    booked_hours: float = 0.0
    no_shows: int = 0
    no_show_hours: float = 0.0
    cancellations: int = 0
    cancelled_hours: float = 0.0

    @property
    def no_show_share(self) -> float | None:
        return self.no_shows / self.bookings if self.bookings else None

    @property
    def cancellation_share(self) -> float | None:
        total = self.bookings + self.cancellations
        return self.cancellations / total if total else None


def attendance(bookings: Iterable[BookingFact], period: Interval) -> dict[int, Attendance]:
    """Return no-show and cancellation counts and hours per facility."""
    tallies: dict[int, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0.0, 0, 0.0])
    for b in bookings:
        span = hours(overlap((b.start, b.end), period))
        if span <= 0:
            continue
        t = tallies[b.facility_id]
        # A no-show is released (cancelled) by the no-show job, yet it is a no-show.
        if not b.active and b.attended is not False:
            t[4] += 1
            t[5] += span
            continue
        t[0] += 1
        t[1] += span
        if b.attended is False:
            t[2] += 1
            t[3] += span
    return {
        facility: Attendance(int(t[0]), t[1], int(t[2]), t[3], int(t[4]), t[5])
        for facility, t in tallies.items()
    }


@dataclass(frozen=True)
class Demand:
    """What a facility's requests asked for in the period and what was booked of it."""

    requests: int = 0
    requested_hours: float = 0.0
    requested_weight: int = 0
    booked_requests: int = 0
    booked_hours: float = 0.0
    booked_weight: int = 0


def demand(
    requests: Iterable[RequestFact], bookings: Iterable[BookingFact], period: Interval
) -> dict[int, Demand]:
    """Return, per facility, the requests whose window meets the period and what got booked."""
    booked_hours: dict[int, float] = defaultdict(float)
    for b in bookings:
        if b.active:
            booked_hours[b.request_id] += hours(b.end - b.start)
    tallies: dict[int, Demand] = defaultdict(Demand)
    for r in requests:
        if r.withdrawn or overlap(r.window, period) <= timedelta(0):
            continue
        d = tallies[r.facility_id]
        got = booked_hours.get(r.id, 0.0)
        tallies[r.facility_id] = Demand(
            d.requests + 1,
            d.requested_hours + r.requested_hours,
            d.requested_weight + r.weight,
            d.booked_requests + (1 if got else 0),
            d.booked_hours + got,
            d.booked_weight + (r.weight if got else 0),
        )
    return dict(tallies)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class SolverOutcome:
    """The latest proposal of a facility against first come, first served on the same problem.

    The first-come-first-served figures come from the metrics the booking core stored; any of
    them may be missing (older proposals, a solve that failed half-way)."""

    proposal_id: int
    created_at: datetime
    status: str
    placed_requests: int
    placed_hours: float
    placed_weight: int
    fcfs_requests: float | None
    fcfs_hours: float | None
    fcfs_weight: float | None

    @property
    def weight_ratio(self) -> float | None:
        if not self.fcfs_weight:
            return None
        return self.placed_weight / self.fcfs_weight


def _fcfs_metrics(metrics: Mapping[str, Any]) -> Mapping[str, Any]:
    for key in ("fcfs", "first_come_first_served", "greedy"):
        nested = metrics.get(key)
        if isinstance(nested, Mapping):
            return nested
    # Flat keys ("fcfs_accepted_weight") are the other shape a metrics dict may take.
    return {
        name.removeprefix(prefix): value
        for name, value in metrics.items()
        for prefix in ("fcfs_", "first_come_first_served_")
        if name.startswith(prefix)
    }


def solver_outcome(proposal: ProposalFact) -> SolverOutcome:
    """Summarise what a proposal placed and what first come, first served would have.

    Like is compared with like: the solver's figures are the ones the booking core stored
    over the same requests as first come, first served (the requests the solve had to place,
    not the published bookings it carried pinned). A proposal stored without them falls back
    to its items."""
    stored = proposal.metrics or {}
    fcfs = _fcfs_metrics(stored)
    requests = _number(stored.get("accepted_requests"))
    hours = _number(stored.get("accepted_hours"))
    weight = _number(stored.get("accepted_weight"))
    return SolverOutcome(
        proposal_id=proposal.id,
        created_at=proposal.created_at,
        status=proposal.status,
        placed_requests=int(requests) if requests is not None else len(proposal.placed),
        placed_hours=hours if hours is not None else sum(proposal.placed.values()),
        placed_weight=int(weight) if weight is not None else proposal.placed_weight,
        fcfs_requests=_number(fcfs.get("accepted_requests", fcfs.get("accepted"))),
        fcfs_hours=_number(fcfs.get("accepted_hours", fcfs.get("hours"))),
        fcfs_weight=_number(fcfs.get("accepted_weight", fcfs.get("weight"))),
    )


@dataclass(frozen=True)
class ChargeFact:
    """One charge of a facility: what it costs, whether it is billed, what vouchers paid."""

    facility_id: int
    start: datetime
    amount_fen: int
    billed: bool
    voucher_fen: int = 0


@dataclass(frozen=True)
class Month:
    """A calendar month, clipped to the period."""

    label: str
    start: datetime
    end: datetime


def months(period: Interval, month_starts: Sequence[datetime]) -> list[Month]:
    """Cut the period at the given month starts (local first days at midnight, aware)."""
    bounds = sorted(
        {period[0], period[1], *(m for m in month_starts if period[0] < m < period[1])}
    )
    return [
        Month(f"{start:%Y-%m}", start, end) for start, end in zip(bounds, bounds[1:], strict=False)
    ]


@dataclass(frozen=True)
class Revenue:
    """A facility's month: its charges in fen (billed or not, voucher-paid), and how many of
    its bookings that started were no-shows."""

    charges: int = 0
    revenue_fen: int = 0
    billed_fen: int = 0
    voucher_fen: int = 0
    started: int = 0
    no_shows: int = 0

    @property
    def unbilled_fen(self) -> int:
        return self.revenue_fen - self.billed_fen

    @property
    def no_show_rate(self) -> float | None:
        return self.no_shows / self.started if self.started else None

    def __add__(self, other: Revenue) -> Revenue:
        return Revenue(
            self.charges + other.charges,
            self.revenue_fen + other.revenue_fen,
            self.billed_fen + other.billed_fen,
            self.voucher_fen + other.voucher_fen,
            self.started + other.started,
            self.no_shows + other.no_shows,
        )


def revenue(
    charges: Iterable[ChargeFact],
    bookings: Iterable[BookingFact],
    months: Sequence[Month],
    now: datetime,
) -> dict[tuple[int, str], Revenue]:
    """Return, per (facility, month label), its charges and its no-shows among the bookings
    that started by `now`; each counts in the month its use started.

    A booking that started is an active one, or a no-show (released, so no longer active); a
    cancelled booking never started."""

    def month_of(moment: datetime) -> str | None:
        return next((m.label for m in months if m.start <= moment < m.end), None)

    found: dict[tuple[int, str], Revenue] = defaultdict(Revenue)
    for c in charges:
        label = month_of(c.start)
        if label is not None:
            key = (c.facility_id, label)
            found[key] = found[key] + Revenue(
                1, c.amount_fen, c.amount_fen if c.billed else 0, c.voucher_fen
            )
    for b in bookings:
        label = month_of(b.start)
        started = b.start <= now and (b.active or b.attended is False)
        if label is not None and started:
            key = (b.facility_id, label)
            found[key] = found[key] + Revenue(started=1, no_shows=int(b.attended is False))
    return dict(found)


@dataclass(frozen=True)
class ClaimDrawFact:
    """One voucher draw: its issuer, the month its charge's use started (local to the
    facility), what it paid, and the state of the claim it is on (None: not yet claimed)."""

    issuer: str
    month: str
    amount_fen: int
    claim_state: str | None


@dataclass(frozen=True)
class ClaimUse:
    """An issuer's month of voucher draws in fen, split by where they stand in redemption."""

    draws: int = 0
    drawn_fen: int = 0
    draft_fen: int = 0
    submitted_fen: int = 0
    paid_fen: int = 0

    @property
    def unclaimed_fen(self) -> int:
        return self.drawn_fen - self.draft_fen - self.submitted_fen - self.paid_fen

    def __add__(self, other: ClaimUse) -> ClaimUse:
        return ClaimUse(
            self.draws + other.draws,
            self.drawn_fen + other.drawn_fen,
            self.draft_fen + other.draft_fen,
            self.submitted_fen + other.submitted_fen,
            self.paid_fen + other.paid_fen,
        )


def claim_use(draws: Iterable[ClaimDrawFact]) -> dict[tuple[str, str], ClaimUse]:
    """Return, per (issuer, month label), its voucher draws and how much of them is on a draft,
    a submitted (not yet paid) or a paid claim; the rest is not yet claimed."""
    found: dict[tuple[str, str], ClaimUse] = defaultdict(ClaimUse)
    for d in draws:
        key = (d.issuer, d.month)
        found[key] = found[key] + ClaimUse(
            1,
            d.amount_fen,
            d.amount_fen if d.claim_state == "draft" else 0,
            d.amount_fen if d.claim_state == "submitted" else 0,
            d.amount_fen if d.claim_state == "paid" else 0,
        )
    return dict(found)
