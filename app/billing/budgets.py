"""What a project may still spend in a facility's solve: its spending cap, less what it has
committed, plus the vouchers it may spend there. The solver gets it as `budgets[]`.

The rules, stated once:

- **Which cap.** The caps of the project whose period (local dates in the solving facility's
  time zone) shares a day with the solve's horizon. With several, the one with the least left
  binds, so a plan keeps every one of them. A project without such a cap is not limited.
- **Committed** in a cap's period: the amounts of the project's charges (at any facility)
  whose use started in the period, plus, for each of its active (approved or pinned) bookings
  that started or starts in the period and has no charge yet, its booked time priced by the
  one pricing rule (`billing.services.price_of_use`). Bookings this solve may move (released
  steps) are left out: their cost is their step's cost in the problem. Credit and debit notes
  do not count. Left of the cap = max(0, cap − committed).
- **Vouchers**: the balances of the project's vouchers valid on the horizon's first local day
  whose scope covers the facility (no scope rows, or a row naming the facility or its centre;
  a voucher scoped only to capabilities is not counted, since the budget cannot tell one
  capability's steps from another's). A voucher pays only its share of each charge and the
  project co-pays the rest out of its cap, so with the smallest share s (percent) among them,
  the vouchers add min(balances, left × s / (100 − s)), rounded down (all of it when s = 100).
- **Remaining** = left + vouchers, at most the format's limit.

A step's estimated cost is its booked time (the duration rounded up to the solve's slots)
priced by the same rule for the project's customer kind, on the dearest of its units.

- **A manager's booking or move** (`placement_over_budget`) is held to the same budget: the
  booking at its new place (its unit, its minutes) may cost no more than the project's remaining
  at that place, the booking itself left out of what is committed. A move that costs no more
  than before within the same cap period adds nothing and is never refused for the budget, even
  when the project is over it already.
- **Approving a proposal** (`approval_over_budget`): the bookings it publishes for a project,
  priced at their units and times, may cost no more than the project has left when it is
  approved. The solve kept to the budget it was given; what the project committed since (another
  facility's approved plan, a manual booking, a charge) can make the plan too dear, and then
  nothing is published.
- **Before the solve** (`request_over_budget`): an open request whose estimated cost at a
  facility (its steps there, each estimated as a solve does) is more than its project's budget
  leaves over the request's window is named on the request's page, so that the member hears it
  before the solve leaves the request out with `over-budget`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.billing.models import Charge, SpendingCap
from app.billing.services import price_of_use
from app.booking.models import Booking, BookingRequest, BookingStatus
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import Project
    from app.catalog.models import Equipment, Facility

# The format's largest amount (scheduler/FORMAT-EXTENSIONS.md: budgets and costs).
MAX_BUDGET_FEN = 10**12


@dataclass(frozen=True)
class ProjectBudget:
    """A project's budget in one solve, and how it was reached."""

    project_id: int
    cap_fen: int
    period_start: date
    period_end: date
    committed_fen: int
    vouchers_fen: int
    remaining_fen: int

    def as_json(self) -> dict[str, Any]:
        """Return the budget as plain JSON values (kept with the proposal)."""
        values = asdict(self)
        values["period_start"] = self.period_start.isoformat()
        values["period_end"] = self.period_end.isoformat()
        return values


def local_days(start: datetime, end: datetime, tz: str) -> tuple[date, date]:
    """Return the first and last local day of [start, end)."""
    zone = ZoneInfo(tz)
    return start.astimezone(zone).date(), (end - timedelta(microseconds=1)).astimezone(zone).date()


def _bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    return (
        datetime.combine(first, time(0), zone),
        datetime.combine(last + timedelta(days=1), time(0), zone),
    )


def committed_fen(
    project: Project, first: date, last: date, tz: str, moving: Collection[int] = ()
) -> int:
    """Return what the project has committed from `first` to `last` (local, inclusive): its
    charges there, and its uncharged active bookings there priced at their booked time,
    leaving out the bookings in `moving`."""
    lo, hi = _bounds(first, last, tz)
    charged = db.session.scalar(
        select(func.coalesce(func.sum(Charge.amount_fen), 0)).where(
            Charge.project_id == project.id, Charge.start >= lo, Charge.start < hi
        )
    )
    bookings = db.session.scalars(
        select(Booking)
        .join(BookingRequest, Booking.request_id == BookingRequest.id)
        .outerjoin(Charge, Charge.booking_id == Booking.id)
        .where(
            BookingRequest.project_id == project.id,
            Booking.status == BookingStatus.ACTIVE.value,
            Booking.start >= lo,
            Booking.start < hi,
            Charge.id.is_(None),
        )
    )
    booked = sum(
        booked_fen(project, b.equipment, b.start, b.end, attended=b.step.attended)
        for b in bookings
        if b.id not in moving
    )
    return int(charged or 0) + booked


def booked_fen(
    project: Project, unit: Equipment, start: datetime, end: datetime, *, attended: bool
) -> int:
    """Return what booking ``unit`` from ``start`` to ``end`` costs the project, by the one
    pricing rule."""
    minutes = max(0, int((end - start).total_seconds()) // 60)
    return price_of_use(unit, project.customer_kind, minutes, attended=attended).amount_fen


def spendable_vouchers_fen(project: Project, facility: Facility, day: date, left_fen: int) -> int:
    """Return what the project's vouchers add to its budget at the facility (rule above)."""
    from app.vouchers.services import spendable_at

    # No capabilities: a budget is per project, so only facility- or centre-wide vouchers count.
    vouchers = list(db.session.scalars(spendable_at(project.id, facility, day)))
    if not vouchers:
        return 0
    balance = sum(v.balance_fen for v in vouchers)
    share = min(v.share_percent for v in vouchers)
    if share >= 100:
        return balance
    return min(balance, left_fen * share // (100 - share))


def project_budgets(
    facility: Facility,
    projects: list[Project],
    start: datetime,
    end: datetime,
    moving: Collection[int] = (),
) -> dict[int, ProjectBudget]:
    """Return the budget of each of these projects with a cap over [start, end), by id."""
    if not projects:
        return {}
    first, last = local_days(start, end, facility.timezone)
    caps = db.session.scalars(
        select(SpendingCap)
        .where(
            SpendingCap.project_id.in_(sorted(p.id for p in projects)),
            SpendingCap.period_start <= last,
            SpendingCap.period_end >= first,
        )
        .order_by(SpendingCap.period_start, SpendingCap.id)
    )
    by_project: dict[int, list[SpendingCap]] = {}
    for cap in caps:
        by_project.setdefault(cap.project_id, []).append(cap)
    found = {}
    for project in projects:
        binding: tuple[int, SpendingCap, int] | None = None
        for cap in by_project.get(project.id, []):
            committed = committed_fen(
                project, cap.period_start, cap.period_end, facility.timezone, moving
            )
            left = max(0, cap.amount_fen - committed)
            if binding is None or left < binding[0]:
                binding = (left, cap, committed)
        if binding is None:
            continue
        left, cap, committed = binding
        vouchers = spendable_vouchers_fen(project, facility, first, left)
        found[project.id] = ProjectBudget(
            project_id=project.id,
            cap_fen=cap.amount_fen,
            period_start=cap.period_start,
            period_end=cap.period_end,
            committed_fen=committed,
            vouchers_fen=vouchers,
            remaining_fen=min(MAX_BUDGET_FEN, left + vouchers),
        )
    return found


def placement_over_budget(
    booking: Booking, unit: Equipment, start: datetime, end: datetime, *, new: bool = False
) -> dict[str, Any] | None:
    """Return the amounts when placing ``booking`` at (unit, start, end) takes its project past
    its budget there (see the module's rules), else None. ``new``: a booking being made, which
    had no place before."""
    project = booking.request.project
    tz = unit.facility.timezone
    budget = project_budgets(unit.facility, [project], start, end, moving=[booking.id]).get(
        project.id
    )
    if budget is None:
        return None
    attended = booking.step.attended
    cost = booked_fen(project, unit, start, end, attended=attended)
    if cost <= budget.remaining_fen:
        return None
    if not new:
        day = booking.start.astimezone(ZoneInfo(tz)).date()
        before = booked_fen(
            project, booking.equipment, booking.start, booking.end, attended=attended
        )
        if budget.period_start <= day <= budget.period_end and cost <= before:
            return None
    return {
        "cost_fen": cost,
        "remaining_fen": budget.remaining_fen,
        "budget_fen": budget.cap_fen,
        "committed_fen": budget.committed_fen,
        "vouchers_fen": budget.vouchers_fen,
        "period_start": budget.period_start.isoformat(),
        "period_end": budget.period_end.isoformat(),
    }


def approval_over_budget(facility: Facility, published: list[Booking]) -> list[dict[str, Any]]:
    """Return, for each project whose bookings just published (flushed, not committed) cost
    more than its budget now leaves without them, the amounts; empty when every one fits."""
    by_project: dict[int, list[Booking]] = {}
    for booking in published:
        by_project.setdefault(booking.request.project_id, []).append(booking)
    out = []
    for project_id, bookings in sorted(by_project.items()):
        project = bookings[0].request.project
        start = min(b.start for b in bookings)
        end = max(b.end for b in bookings)
        budget = project_budgets(
            facility, [project], start, end, moving={b.id for b in bookings}
        ).get(project_id)
        if budget is None:
            continue
        cost = sum(
            booked_fen(project, b.equipment, b.start, b.end, attended=b.step.attended)
            for b in bookings
        )
        if cost > budget.remaining_fen:
            out.append(
                {
                    "project": project.name,
                    "project_id": project_id,
                    "cost_fen": cost,
                    **budget.as_json(),
                }
            )
    return out


def request_over_budget(req: BookingRequest) -> list[dict[str, Any]]:
    """Return, for each facility of an open request's steps whose estimated cost there is more
    than the project's budget leaves, the facility and the amounts; empty when it fits."""
    from app.booking.problems import GRANULARITY_MINUTES
    from app.booking.requests import allowed_units

    project = req.project
    steps_at: dict[int, list[Any]] = {}
    for step in req.steps:
        if step.facility is not None:
            steps_at.setdefault(step.facility.id, []).append(step)
    out = []
    for steps in steps_at.values():
        facility = steps[0].facility
        budget = project_budgets(facility, [project], req.earliest_start, req.deadline).get(
            project.id
        )
        if budget is None:
            continue
        cost = 0
        for step in steps:
            units = [u for u in allowed_units(step) if u.facility_id == facility.id]
            if units:
                cost += step_cost_fen(
                    units,
                    project,
                    step.duration_minutes,
                    attended=step.attended,
                    slot_minutes=GRANULARITY_MINUTES,
                )
        if cost > budget.remaining_fen:
            out.append({"facility": facility, "cost_fen": cost, **budget.as_json()})
    return out


def step_cost_fen(
    units: list[Equipment],
    project: Project,
    duration_minutes: int,
    *,
    attended: bool,
    slot_minutes: int,
) -> int:
    """Return a step's estimated cost: its duration, rounded up to whole slots of the solve,
    booked on the dearest of its units."""
    minutes = -(-duration_minutes // slot_minutes) * slot_minutes
    return min(
        MAX_BUDGET_FEN,
        max(
            price_of_use(u, project.customer_kind, minutes, attended=attended).amount_fen
            for u in units
        ),
    )
