"""Read the scope of a report from the query string, and load its rows as plain facts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app import access, dates, intervals
from app.accounts.models import Project, User
from app.billing.models import Charge
from app.booking.models import (
    Booking,
    BookingRequest,
    BookingStatus,
    Proposal,
    ProposalItem,
    ProposalStatus,
    RequestStatus,
    RequestStep,
    step_equipment,
)
from app.catalog.models import Equipment, EquipmentStatus, Facility
from app.dbtypes import utcnow
from app.errors import BadRequest, NotFound
from app.extensions import db
from app.i18n import localised
from app.intervals import Interval
from app.reports import metrics
from app.reports.metrics import (
    BookingFact,
    ChargeFact,
    ClaimDrawFact,
    ProposalFact,
    RequestFact,
    Unit,
)
from app.vouchers.models import Claim, Voucher, VoucherDraw

MAX_DAYS = 366
DEFAULT_WEEKS = 4


@dataclass(frozen=True)
class Period:
    """Whole local days, first to last inclusive, in one time zone."""

    first_day: date
    last_day: date
    timezone: str

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), ZoneInfo(self.timezone))

    @property
    def end(self) -> datetime:
        return datetime.combine(
            self.last_day + timedelta(days=1), time(0), ZoneInfo(self.timezone)
        )

    def shifted(self, direction: int) -> Period:
        """Return the period of the same length just before (-1) or just after (+1) this one."""
        length = timedelta(days=(self.last_day - self.first_day).days + 1)
        return Period(
            self.first_day + direction * length, self.last_day + direction * length, self.timezone
        )

    @property
    def interval(self) -> Interval:
        return (self.start, self.end)

    def week_starts(self) -> list[datetime]:
        """Return the local Mondays at midnight from the period's first week on."""
        monday = self.first_day - timedelta(days=self.first_day.weekday())
        zone = ZoneInfo(self.timezone)
        starts = []
        while monday <= self.last_day:
            starts.append(datetime.combine(monday, time(0), zone))
            monday += timedelta(days=7)
        return starts

    def month_starts(self) -> list[datetime]:
        """Return the local first days of the months at midnight, from the period's first on."""
        first = self.first_day.replace(day=1)
        zone = ZoneInfo(self.timezone)
        starts = []
        while first <= self.last_day:
            starts.append(datetime.combine(first, time(0), zone))
            first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return starts


@dataclass(frozen=True)
class Scope:
    """The facilities a report covers (one chosen, or all the user may see) and its period."""

    facilities: list[Facility]
    facility: Facility | None
    period: Period
    # Whether the report holds the voucher claims table: administrators only (the centre
    # redeems vouchers, and an issuer's sums span every facility).
    sees_claims: bool = False


def _day(args: Mapping[str, str], name: str, default: date) -> date:
    raw = (args.get(name) or "").strip()
    return dates.parse_day(raw, name) if raw else default


def read_scope(
    user: User, args: Mapping[str, str], *, today: date, default_timezone: str
) -> Scope:
    """Check the report parameters `start`, `end` and `facility`; 400 names the bad one."""
    facilities = access.reportable_facilities(user)
    facility = None
    slug = (args.get("facility") or "").strip()
    if slug:
        facility = next((f for f in facilities if f.slug == slug), None)
        if facility is None:
            raise NotFound(_("No such facility among those you manage."))
    # By default the coming weeks, where the bookings are: this week and the next three.
    this_monday = today - timedelta(days=today.weekday())
    first = _day(args, "start", this_monday)
    last = _day(args, "end", this_monday + timedelta(weeks=DEFAULT_WEEKS, days=-1))
    if last < first:
        raise BadRequest(_("end must not be before start."), field="end")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRequest(
            _("A report covers at most %(days)d days; choose a later start.", days=MAX_DAYS),
            field="start",
        )
    timezone = facility.timezone if facility else default_timezone
    return Scope(
        facilities if facility is None else [facility],
        facility,
        Period(first, last, timezone),
        sees_claims=access.can_manage_claims(user),
    )


@dataclass(frozen=True)
class ReportData:
    """Everything a report is computed from, as plain facts, plus names to label it with."""

    units: list[Unit]
    bookings: list[BookingFact]
    requests: list[RequestFact]
    proposals: dict[int, ProposalFact]
    facility_names: dict[int, str]
    charges: list[ChargeFact] = field(default_factory=list)
    # When the facts were read: a booking that starts later has not started.
    now: datetime | None = None
    # None when the scope does not see voucher claims.
    claim_draws: list[ClaimDrawFact] | None = None


def _usable_windows(unit: Equipment, period: Interval) -> tuple[Interval, ...]:
    from app.catalog.hours import open_windows

    opened = open_windows(unit, period[0], period[1])
    maintenance = [(m.start, m.end) for m in unit.maintenance if m.cancelled_at is None]
    return tuple(intervals.clip(intervals.subtract(opened, maintenance), *period))


def _units(facility_ids: Sequence[int], period: Interval) -> list[Unit]:
    booked_ids = set(
        db.session.scalars(
            select(Booking.equipment_id).where(
                Booking.start < period[1],
                Booking.end > period[0],
                Booking.status == BookingStatus.ACTIVE.value,
            )
        )
    )
    rows = db.session.scalars(
        select(Equipment)
        .where(Equipment.facility_id.in_(facility_ids))
        .order_by(Equipment.facility_id, Equipment.slug)
    )
    return [
        Unit(
            id=u.id,
            facility_id=u.facility_id,
            name=localised(u),
            capacity=max(1, u.capacity),
            capabilities=tuple(u.capability_names),
            usable=_usable_windows(u, period),
        )
        for u in rows
        if u.status == EquipmentStatus.ACTIVE.value or u.id in booked_ids
    ]


def _bookings(facility_ids: Sequence[int], period: Interval) -> list[BookingFact]:
    rows = db.session.execute(
        select(Booking, Equipment.facility_id, BookingRequest.project_id)
        .join(Equipment, Booking.equipment_id == Equipment.id)
        .join(BookingRequest, Booking.request_id == BookingRequest.id)
        .where(
            Equipment.facility_id.in_(facility_ids),
            Booking.start < period[1],
            Booking.end > period[0],
        )
        .order_by(Booking.start, Booking.id)
    )
    return [
        BookingFact(
            id=b.id,
            unit_id=b.equipment_id,
            facility_id=facility_id,
            project_id=project_id,
            request_id=b.request_id,
            start=b.start,
            end=b.end,
            active=b.status == BookingStatus.ACTIVE.value,
            attended=b.attended,
            created_at=b.created_at,
            manual=b.source == "manual",
        )
        for b, facility_id, project_id in rows
    ]


def _request_facilities(facility_ids: Sequence[int]) -> dict[int, int]:
    """Map each request of the facilities to its facility (all steps lie in one facility)."""
    found: dict[int, int] = {}
    sources = [
        select(RequestStep.request_id, RequestStep.facility_id).where(
            RequestStep.facility_id.in_(facility_ids)
        ),
        select(RequestStep.request_id, Equipment.facility_id)
        .join(step_equipment, step_equipment.c.step_id == RequestStep.id)
        .join(Equipment, Equipment.id == step_equipment.c.equipment_id)
        .where(Equipment.facility_id.in_(facility_ids)),
        select(Booking.request_id, Equipment.facility_id)
        .join(Equipment, Equipment.id == Booking.equipment_id)
        .where(Equipment.facility_id.in_(facility_ids)),
    ]
    for query in sources:
        for request_id, facility_id in db.session.execute(query):
            if facility_id is not None:
                found.setdefault(request_id, facility_id)
    return found


def _requests(facility_ids: Sequence[int], period: Interval) -> list[RequestFact]:
    facility_of = _request_facilities(facility_ids)
    if not facility_of:
        return []
    booked_in_period = select(Booking.request_id).where(
        Booking.created_at >= period[0], Booking.created_at < period[1]
    )
    requests = db.session.scalars(
        select(BookingRequest).where(
            BookingRequest.id.in_(list(facility_of)),
            or_(
                (BookingRequest.earliest_start < period[1])
                & (BookingRequest.deadline > period[0]),
                BookingRequest.id.in_(booked_in_period),
            ),
        )
    ).all()
    ids = [r.id for r in requests]
    minutes: dict[int, int] = {
        request_id: total
        for request_id, total in db.session.execute(
            select(RequestStep.request_id, func.sum(RequestStep.duration_minutes))
            .where(RequestStep.request_id.in_(ids))
            .group_by(RequestStep.request_id)
        )
    }
    first: dict[int, tuple[datetime, bool]] = {}
    for request_id, created_at, source in db.session.execute(
        select(Booking.request_id, Booking.created_at, Booking.source)
        .where(Booking.request_id.in_(ids))
        .order_by(Booking.created_at, Booking.id)
    ):
        first.setdefault(request_id, (created_at, source == "manual"))
    return [
        RequestFact(
            id=r.id,
            facility_id=facility_of[r.id],
            created_at=r.created_at,
            weight=r.weight,
            requested_hours=(minutes.get(r.id) or 0) / 60,
            window=(r.earliest_start, r.deadline),
            withdrawn=r.status == RequestStatus.WITHDRAWN.value,
            first_booked_at=first[r.id][0] if r.id in first else None,
            first_booking_manual=first[r.id][1] if r.id in first else False,
        )
        for r in requests
    ]


def _latest_proposals(facility_ids: Sequence[int], period: Interval) -> dict[int, ProposalFact]:
    """Return each facility's latest draft or approved proposal made before the period ends."""
    latest: dict[int, ProposalFact] = {}
    for facility_id in facility_ids:
        proposal = db.session.scalar(
            select(Proposal)
            .where(
                Proposal.facility_id == facility_id,
                Proposal.status.in_([ProposalStatus.DRAFT.value, ProposalStatus.APPROVED.value]),
                Proposal.created_at < period[1],
            )
            .order_by(Proposal.created_at.desc(), Proposal.id.desc())
            .limit(1)
        )
        if proposal is None:
            continue
        placed: dict[int, float] = defaultdict(float)
        weights: dict[int, int] = {}
        for item, weight in db.session.execute(
            select(ProposalItem, BookingRequest.weight)
            .join(BookingRequest, BookingRequest.id == ProposalItem.request_id)
            .where(ProposalItem.proposal_id == proposal.id)
        ):
            placed[item.request_id] += metrics.hours(item.end - item.start)
            weights[item.request_id] = weight
        latest[facility_id] = ProposalFact(
            id=proposal.id,
            facility_id=facility_id,
            status=proposal.status,
            created_at=proposal.created_at,
            placed=dict(placed),
            placed_weight=sum(weights.values()),
            metrics=proposal.metrics or {},
        )
    return latest


def _charges(facility_ids: Sequence[int], period: Interval) -> list[ChargeFact]:
    """Return the facilities' charges whose use started in the period, with voucher draws."""
    drawn = (
        select(VoucherDraw.charge_id, func.sum(VoucherDraw.amount_fen).label("fen"))
        .group_by(VoucherDraw.charge_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Charge.facility_id,
            Charge.start,
            Charge.amount_fen,
            Charge.statement_id.is_not(None),
            func.coalesce(drawn.c.fen, 0),
        )
        .outerjoin(drawn, drawn.c.charge_id == Charge.id)
        .where(
            Charge.facility_id.in_(facility_ids),
            Charge.start >= period[0],
            Charge.start < period[1],
        )
        .order_by(Charge.start, Charge.id)
    )
    return [
        ChargeFact(facility_id, start, int(amount), bool(billed), int(voucher))
        for facility_id, start, amount, billed, voucher in rows
    ]


def _claim_draws(facility_ids: Sequence[int], period: Period) -> list[ClaimDrawFact]:
    """Return the facilities' voucher draws whose charge's use started in the period's days,
    each day and month by the facility's own calendar (as claims count them)."""
    # A margin wide enough for any time zone; the exact local day is checked below.
    since = datetime.combine(period.first_day - timedelta(days=1), time(0), UTC)
    until = datetime.combine(period.last_day + timedelta(days=2), time(0), UTC)
    rows = db.session.execute(
        select(
            Voucher.issuer, Charge.start, Facility.timezone, VoucherDraw.amount_fen, Claim.state
        )
        .join(Voucher, VoucherDraw.voucher_id == Voucher.id)
        .join(Charge, VoucherDraw.charge_id == Charge.id)
        .join(Facility, Charge.facility_id == Facility.id)
        .outerjoin(Claim, VoucherDraw.claim_id == Claim.id)
        .where(Charge.facility_id.in_(facility_ids), Charge.start >= since, Charge.start < until)
        .order_by(Charge.start, VoucherDraw.id)
    )
    facts = []
    for issuer, start, timezone, amount, state in rows:
        day = start.astimezone(ZoneInfo(timezone)).date()
        if period.first_day <= day <= period.last_day:
            facts.append(ClaimDrawFact(issuer, f"{day:%Y-%m}", int(amount), state))
    return facts


def load(scope: Scope, *, now: datetime | None = None) -> ReportData:
    """Load the facts of every facility in the scope over its period."""
    ids = [f.id for f in scope.facilities]
    period = scope.period.interval
    return ReportData(
        units=_units(ids, period),
        bookings=_bookings(ids, period),
        requests=_requests(ids, period),
        proposals=_latest_proposals(ids, period),
        facility_names={f.id: localised(f) for f in scope.facilities},
        charges=_charges(ids, period),
        now=now or utcnow(),
        claim_draws=_claim_draws(ids, scope.period) if scope.sees_claims else None,
    )


@dataclass(frozen=True)
class ScheduleRow:
    """One active booking of a facility, for the schedule export."""

    unit: str
    start: datetime
    end: datetime
    project: str
    title: str
    booking_id: int


def schedule(facility: Facility, period: Interval) -> list[ScheduleRow]:
    """Return the facility's active bookings that meet the period, in time order."""
    rows = db.session.execute(
        select(Booking, Equipment, Project.name, BookingRequest.title)
        .join(Equipment, Booking.equipment_id == Equipment.id)
        .join(BookingRequest, Booking.request_id == BookingRequest.id)
        .join(Project, BookingRequest.project_id == Project.id)
        .where(
            Equipment.facility_id == facility.id,
            Booking.status == BookingStatus.ACTIVE.value,
            Booking.start < period[1],
            Booking.end > period[0],
        )
        .order_by(Booking.start, Equipment.slug, Booking.id)
    )
    return [
        ScheduleRow(localised(unit), b.start, b.end, project, title, b.id)
        for b, unit, project, title in rows
    ]
