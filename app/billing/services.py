"""Rate cards, charges and statements: the rules of billing, each owning its transaction
(except record_charge, which joins the check-out or correction that calls it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from app import access
from app.accounts.models import Project, User
from app.billing.models import (
    Charge,
    ChargeBasis,
    CustomerKind,
    RateCard,
    Statement,
    StatementKind,
    StatementLine,
)
from app.billing.money import MAX_FEN, fen_for_minutes, fen_from_yuan
from app.booking import audit
from app.booking.models import Booking, BookingRequest, BookingStatus
from app.catalog.models import Equipment, Facility
from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.vouchers import services as vouchers

if TYPE_CHECKING:
    from app.usage.models import Usage

MAX_NOTE_REASON = 2000
RATE_FIELDS = (
    "incubated_fen",
    "startup_fen",
    "university_fen",
    "external_fen",
    "assisted_surcharge_fen",
    "minimum_charge_fen",
)


# ---------------------------------------------------------------- rate cards


def rate_card(unit: Equipment) -> RateCard:
    """Return the unit's rate card; a unit without one charges its hourly_rate_cny to all."""
    card = db.session.get(RateCard, unit.id) if unit.id is not None else None
    if card is not None:
        return card
    fen = fen_from_yuan(unit.hourly_rate_cny)
    return RateCard(
        equipment_id=unit.id,
        incubated_fen=fen,
        startup_fen=fen,
        university_fen=fen,
        external_fen=fen,
        assisted_surcharge_fen=0,
        minimum_charge_fen=0,
        source="catalogue",
    )


def sync_rate_card(unit: Equipment, values: dict[str, int]) -> bool:
    """Bring a catalogue-owned card in line with facilities.yaml; return whether it changed.

    A card an administrator edited (source "admin") is the administrator's and stays."""
    card = db.session.get(RateCard, unit.id) if unit.id is not None else None
    if card is None:
        db.session.add(RateCard(equipment=unit, source="catalogue", **values))
        return True
    if card.source != "catalogue":
        return False
    changed = False
    for name, value in values.items():
        if getattr(card, name) != value:
            setattr(card, name, value)
            changed = True
    return changed


def rate_values(form: dict[str, Any]) -> dict[str, int]:
    """Parse a rate card's amounts in yuan into fen; raise ValidationError naming the field."""
    values, errors = {}, {}
    for name in RATE_FIELDS:
        raw = str(form.get(name, "")).strip()
        try:
            fen = fen_from_yuan(raw)
        except (ValueError, ArithmeticError):
            errors[name] = _("Enter an amount in yuan with at most two decimals.")
            continue
        if not 0 <= fen <= MAX_FEN:
            errors[name] = _("Enter an amount from 0 to 100,000,000 yuan.")
            continue
        values[name] = fen
    if errors:
        raise ValidationError(next(iter(errors.values())), errors=errors)
    return values


def update_rate_card(user: User, equipment_id: int, values: dict[str, int]) -> RateCard:
    """Set a unit's rate card (administrators); the sync leaves it alone from then on."""
    if not access.can_edit_rates(user):
        raise NotFound(_("Not found."))
    write_transaction()
    unit = db.session.get(Equipment, equipment_id)
    if unit is None:
        raise NotFound(_("No such unit."))
    card = db.session.get(RateCard, unit.id)
    before = {name: getattr(card, name) for name in RATE_FIELDS} if card else None
    if card is None:
        card = RateCard(equipment_id=unit.id)
        db.session.add(card)
    for name, value in values.items():
        setattr(card, name, value)
    card.source = "admin"
    card.updated_by_id = user.id
    audit.record(
        user,
        "rates.update",
        "equipment",
        unit.id,
        facility_id=unit.facility_id,
        before=before,
        after=values,
    )
    db.session.commit()
    return card


def set_customer_kind(user: User, project_id: int, kind: str) -> Project:
    """Set who a project is to the centre (administrators)."""
    if not access.can_edit_rates(user):
        raise NotFound(_("Not found."))
    if kind not in {k.value for k in CustomerKind}:
        raise ValidationError(_("Choose a customer kind."), field="customer_kind")
    write_transaction()
    project = db.session.get(Project, project_id)
    if project is None:
        raise NotFound(_("No such project."))
    audit.record(
        user,
        "project.customer_kind",
        "project",
        project.id,
        project_id=project.id,
        before=project.customer_kind,
        after=kind,
    )
    project.customer_kind = kind
    db.session.commit()
    return project


# ---------------------------------------------------------------- charges


def _minutes(start: datetime, end: datetime) -> int:
    # Whole minutes; the seconds of a check-in or check-out are not billed.
    return max(0, int((end - start).total_seconds()) // 60)


@dataclass(frozen=True)
class Price:
    """What a use of a unit costs: the billed minutes, the rates, and the amount."""

    minutes: int
    hourly_fen: int
    surcharge_fen: int
    amount_fen: int
    minimum_applied: bool


def price_of_use(unit: Equipment, customer_kind: str, minutes: int, *, attended: bool) -> Price:
    """Price `minutes` of use of a unit: the hourly rate of the customer kind, plus the
    assisted surcharge when attended, the changeover when the facility bills it, raised to
    the minimum charge. The one pricing rule: charges and the solver's estimates use it."""
    card = rate_card(unit)
    if unit.facility.bill_changeover:
        minutes += unit.changeover_minutes
    hourly = card.hourly_fen(customer_kind)
    surcharge = card.assisted_surcharge_fen if attended else 0
    amount = fen_for_minutes(minutes, hourly + surcharge)
    return Price(
        minutes=minutes,
        hourly_fen=hourly,
        surcharge_fen=surcharge,
        amount_fen=max(amount, card.minimum_charge_fen),
        minimum_applied=amount < card.minimum_charge_fen,
    )


def price(booking: Booking, start: datetime, end: datetime, basis: str) -> Charge:
    """Return the (unsaved) charge of a booking billed from start to end on a basis."""
    unit = booking.equipment
    facility = unit.facility
    project = booking.request.project
    found = price_of_use(
        unit, project.customer_kind, _minutes(start, end), attended=booking.step.attended
    )
    return Charge(
        booking_id=booking.id,
        project_id=project.id,
        facility_id=facility.id,
        equipment_id=unit.id,
        customer_kind=project.customer_kind,
        basis=basis,
        start=start,
        end=end,
        minutes=found.minutes,
        hourly_fen=found.hourly_fen,
        surcharge_fen=found.surcharge_fen,
        amount_fen=found.amount_fen,
        minimum_applied=found.minimum_applied,
    )


def charge_for(booking: Booking, usage: Usage | None) -> Charge | None:
    """Return the (unsaved) charge the facility's basis makes of a booking, or None yet."""
    facility = booking.equipment.facility
    if facility.charge_basis == ChargeBasis.BOOKED.value:
        return price(booking, booking.start, booking.end, ChargeBasis.BOOKED.value)
    if usage is None or usage.checked_in_at is None or usage.checked_out_at is None:
        return None
    return price(booking, usage.checked_in_at, usage.checked_out_at, ChargeBasis.ACTUAL.value)


def _existing(booking: Booking) -> Charge | None:
    return db.session.scalar(select(Charge).where(Charge.booking_id == booking.id))


def require_unbilled(booking: Booking) -> None:
    """Raise Conflict when the booking's charge is on an issued statement."""
    charge = _existing(booking)
    if charge is not None and charge.statement_id is not None:
        raise Conflict(
            _(
                "This booking is billed on an issued statement; correct it with a credit or "
                "debit note."
            )
        )


def record_charge(booking: Booking, usage: Usage | None) -> Charge | None:
    """Write (or rewrite) the booking's charge in the caller's transaction, and draw it from
    the project's vouchers (app.vouchers.services states the rule)."""
    require_unbilled(booking)
    fresh = charge_for(booking, usage)
    charge = _existing(booking)
    if fresh is None:
        return charge
    if charge is None:
        db.session.add(fresh)
        db.session.flush()
        vouchers.draw_charge(fresh)
        return fresh
    for name in (
        "customer_kind",
        "basis",
        "start",
        "end",
        "minutes",
        "hourly_fen",
        "surcharge_fen",
        "amount_fen",
        "minimum_applied",
    ):
        setattr(charge, name, getattr(fresh, name))
    db.session.flush()
    vouchers.redraw_charge(charge)
    return charge


# ---------------------------------------------------------------- statements


def month_bounds(month: date, tz: str) -> tuple[datetime, datetime]:
    """Return the UTC bounds of a calendar month in the facility's time zone."""
    zone = ZoneInfo(tz)
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return datetime.combine(first, time(0), zone), datetime.combine(following, time(0), zone)


def _ended_unbilled_bookings(
    facility: Facility, project_id: int, before: datetime, now: datetime
) -> list[Any]:
    """Return (booking, usage) of a booked-basis facility's ended bookings without a charge."""
    from app.usage.models import Usage

    return list(
        db.session.execute(
            select(Booking, Usage)
            .join(Equipment, Booking.equipment_id == Equipment.id)
            .join(BookingRequest, Booking.request_id == BookingRequest.id)
            .outerjoin(Usage, Usage.booking_id == Booking.id)
            .outerjoin(Charge, Charge.booking_id == Booking.id)
            .where(
                Equipment.facility_id == facility.id,
                BookingRequest.project_id == project_id,
                Booking.status == BookingStatus.ACTIVE.value,
                Booking.start < before,
                Booking.end <= now,
                Charge.id.is_(None),
            )
            .order_by(Booking.start, Booking.id)
        )
    )


@dataclass(frozen=True)
class Draft:
    """What a statement for a facility, project and month would hold if issued now."""

    facility: Facility
    project: Project
    month: date
    charges: list[Charge]

    @property
    def subtotal_fen(self) -> int:
        return sum(c.amount_fen for c in self.charges)

    @property
    def voucher_deductions_fen(self) -> int:
        # What the recorded charges drew; a booked-basis charge still to be written draws when
        # the statement is issued, so a draft may show less than the issued statement.
        return sum(d.amount_fen for d in self.deductions)

    @property
    def deductions(self) -> list[vouchers.Deduction]:
        return vouchers.deductions_for(c.id for c in self.charges if c.id is not None)

    @property
    def payable_fen(self) -> int:
        return self.subtotal_fen - self.voucher_deductions_fen


def draft(
    user: User, facility_id: int, project_id: int, month: date, *, now: datetime | None = None
) -> Draft:
    """Return the unbilled charges of a project at a facility up to the end of the month."""
    now = now or utcnow()
    facility = db.session.get(Facility, facility_id)
    if facility is None or not access.can_issue_statements(user, facility):
        raise NotFound(_("No such facility among those you manage."))
    project = db.session.get(Project, project_id)
    if project is None:
        raise NotFound(_("No such project."))
    end = month_bounds(month, facility.timezone)[1]
    charges = list(
        db.session.scalars(
            select(Charge)
            .where(
                Charge.facility_id == facility.id,
                Charge.project_id == project.id,
                Charge.statement_id.is_(None),
                Charge.start < end,
            )
            .order_by(Charge.start, Charge.id)
        )
    )
    if facility.charge_basis == ChargeBasis.BOOKED.value:
        for booking, usage in _ended_unbilled_bookings(facility, project.id, end, now):
            fresh = charge_for(booking, usage)
            if fresh is not None:
                fresh.booking = booking
                charges.append(fresh)
        charges.sort(key=lambda c: (c.start, c.booking_id))
    return Draft(facility, project, month.replace(day=1), charges)


def billable_projects(
    user: User, facility: Facility, month: date, *, now: datetime | None = None
) -> list[Draft]:
    """Return a draft for every project with unbilled charges at the facility by month end."""
    now = now or utcnow()
    if not access.can_issue_statements(user, facility):
        raise NotFound(_("No such facility among those you manage."))
    end = month_bounds(month, facility.timezone)[1]
    project_ids = set(
        db.session.scalars(
            select(Charge.project_id).where(
                Charge.facility_id == facility.id,
                Charge.statement_id.is_(None),
                Charge.start < end,
            )
        )
    )
    if facility.charge_basis == ChargeBasis.BOOKED.value:
        project_ids |= set(
            db.session.scalars(
                select(BookingRequest.project_id)
                .join(Booking, Booking.request_id == BookingRequest.id)
                .join(Equipment, Booking.equipment_id == Equipment.id)
                .outerjoin(Charge, Charge.booking_id == Booking.id)
                .where(
                    Equipment.facility_id == facility.id,
                    Booking.status == BookingStatus.ACTIVE.value,
                    Booking.start < end,
                    Booking.end <= now,
                    Charge.id.is_(None),
                )
            )
        )
    drafts = [draft(user, facility.id, pid, month, now=now) for pid in sorted(project_ids)]
    return [d for d in drafts if d.charges]


def _line(position: int, charge: Charge) -> StatementLine:
    return StatementLine(
        position=position,
        charge_id=charge.id,
        booking_id=charge.booking_id,
        equipment_id=charge.equipment_id,
        start=charge.start,
        end=charge.end,
        minutes=charge.minutes,
        hourly_fen=charge.hourly_fen,
        surcharge_fen=charge.surcharge_fen,
        amount_fen=charge.amount_fen,
    )


def issue_statement(
    user: User, facility_id: int, project_id: int, month: date, *, now: datetime | None = None
) -> Statement:
    """Issue the month's statement of a project at a facility; it never changes afterwards."""
    now = now or utcnow()
    write_transaction()
    found = draft(user, facility_id, project_id, month, now=now)
    end = month_bounds(found.month, found.facility.timezone)[1]
    if now < end:
        raise Conflict(_("A month's statement can be issued once the month is over."))
    if not found.charges:
        raise Conflict(_("Nothing to bill for this project and month."))
    number = f"{found.facility.slug.upper()}-{found.month:%Y%m}-P{found.project.id}"
    if db.session.scalar(select(Statement.id).where(Statement.number == number)):
        raise Conflict(_("This month's statement is already issued."))
    written = [c for c in found.charges if c.id is None]
    db.session.add_all(written)
    db.session.flush()
    for charge in written:
        vouchers.draw_charge(charge)
    statement = Statement(
        number=number,
        kind=StatementKind.STATEMENT.value,
        facility_id=found.facility.id,
        project_id=found.project.id,
        month=found.month,
        customer_kind=found.project.customer_kind,
        subtotal_fen=found.subtotal_fen,
        voucher_deductions_fen=found.voucher_deductions_fen,
        payable_fen=found.payable_fen,
        issued_at=now,
        issued_by_id=user.id,
    )
    statement.lines = [_line(i, c) for i, c in enumerate(found.charges)]
    db.session.add(statement)
    db.session.flush()
    for charge in found.charges:
        charge.statement_id = statement.id
    audit.record(
        user,
        "statement.issue",
        "statement",
        statement.id,
        facility_id=statement.facility_id,
        project_id=statement.project_id,
        number=number,
        payable_fen=statement.payable_fen,
    )
    db.session.commit()
    return statement


def issue_note(
    user: User, statement_id: int, *, kind: str, amount_fen: int | None, reason: str
) -> Statement:
    """Issue a credit or debit note that corrects an issued statement by an amount."""
    write_transaction()
    original = get_statement(user, statement_id)
    if not access.can_issue_statements(user, original.facility_id):
        raise NotFound(_("No such statement among those you can see."))
    if original.kind != StatementKind.STATEMENT.value:
        raise Conflict(_("Notes correct a statement, not another note."))
    reason = (reason or "").strip()
    errors = {}
    if kind not in (StatementKind.CREDIT_NOTE.value, StatementKind.DEBIT_NOTE.value):
        errors["kind"] = _("Choose a credit note or a debit note.")
    if amount_fen is None or not 0 < amount_fen <= MAX_FEN:
        errors["amount"] = _("Enter an amount above 0 yuan with at most two decimals.")
    if not reason:
        errors["reason"] = _("Say why the statement is corrected.")
    elif len(reason) > MAX_NOTE_REASON:
        errors["reason"] = _("Keep the reason under 2000 characters.")
    if errors:
        raise ValidationError(next(iter(errors.values())), errors=errors)
    assert amount_fen is not None
    count = len(
        db.session.scalars(select(Statement.id).where(Statement.reference_id == original.id)).all()
    )
    prefix = "CN" if kind == StatementKind.CREDIT_NOTE.value else "DN"
    signed = -amount_fen if kind == StatementKind.CREDIT_NOTE.value else amount_fen
    note = Statement(
        number=f"{original.number}-{prefix}{count + 1}",
        kind=kind,
        facility_id=original.facility_id,
        project_id=original.project_id,
        month=original.month,
        customer_kind=original.customer_kind,
        subtotal_fen=signed,
        voucher_deductions_fen=0,
        payable_fen=signed,
        reference_id=original.id,
        reason=reason,
        issued_at=utcnow(),
        issued_by_id=user.id,
    )
    note.lines = [StatementLine(position=0, amount_fen=signed, description=reason)]
    db.session.add(note)
    db.session.flush()
    audit.record(
        user,
        f"statement.{kind}",
        "statement",
        note.id,
        facility_id=note.facility_id,
        project_id=note.project_id,
        reference=original.number,
        amount_fen=signed,
        reason=reason,
    )
    db.session.commit()
    return note


def get_statement(user: User, statement_id: int) -> Statement:
    """Return the statement, or NotFound when it does not exist or is not the user's to see."""
    statement = db.session.get(Statement, statement_id)
    if statement is None or not access.can_see_statement(user, statement):
        raise NotFound(_("No such statement among those you can see."))
    return statement


def list_statements(
    user: User,
    *,
    facility_id: int | None = None,
    project_id: int | None = None,
    month: date | None = None,
) -> list[Statement]:
    """Return the statements and notes the user may see, newest month first."""
    query = (
        select(Statement)
        .where(access.statement_filter(user, Statement.facility_id, Statement.project_id))
        .order_by(Statement.month.desc(), Statement.number)
    )
    if facility_id is not None:
        query = query.where(Statement.facility_id == facility_id)
    if project_id is not None:
        query = query.where(Statement.project_id == project_id)
    if month is not None:
        query = query.where(Statement.month == month.replace(day=1))
    return list(db.session.scalars(query))


# Every time zone is within this of UTC: a month's charges lie inside its UTC days widened so.
_WIDEST_OFFSET = timedelta(hours=14)


def list_charges(
    user: User,
    *,
    facility_id: int | None = None,
    project_id: int | None = None,
    month: date | None = None,
    billed: bool | None = None,
) -> list[Charge]:
    """Return the stored charges the user may see (their projects', their facilities'), in
    time order; a month is the facility's local calendar month the use started in."""
    query = (
        select(Charge, Facility.timezone)
        .join(Facility, Facility.id == Charge.facility_id)
        .where(access.statement_filter(user, Charge.facility_id, Charge.project_id))
        .order_by(Charge.start, Charge.id)
    )
    if facility_id is not None:
        query = query.where(Charge.facility_id == facility_id)
    if project_id is not None:
        query = query.where(Charge.project_id == project_id)
    if billed is not None:
        query = query.where(
            Charge.statement_id.is_not(None) if billed else Charge.statement_id.is_(None)
        )
    if month is None:
        return [charge for charge, _tz in db.session.execute(query)]
    first, following = month_bounds(month, "UTC")
    query = query.where(
        Charge.start >= first - _WIDEST_OFFSET, Charge.start < following + _WIDEST_OFFSET
    )
    found = []
    for charge, tz in db.session.execute(query):
        start, end = month_bounds(month, tz)
        if start <= charge.start < end:
            found.append(charge)
    return found


def voucher_paid(charge_ids: list[int]) -> dict[int, int]:
    """Return, per charge id, the fen its innovation vouchers paid (absent: none)."""
    from app.vouchers.models import VoucherDraw

    if not charge_ids:
        return {}
    rows = db.session.execute(
        select(VoucherDraw.charge_id, func.sum(VoucherDraw.amount_fen))
        .where(VoucherDraw.charge_id.in_(charge_ids))
        .group_by(VoucherDraw.charge_id)
    )
    return {charge_id: int(total) for charge_id, total in rows}


def notes_of(statement: Statement) -> list[Statement]:
    """Return the credit and debit notes that reference a statement."""
    return list(
        db.session.scalars(
            select(Statement)
            .where(Statement.reference_id == statement.id)
            .order_by(Statement.issued_at, Statement.id)
        )
    )


# ---------------------------------------------------------------- immutability


def _refuse_changes_to_issued(session: Session, _context: Any, _instances: Any) -> None:
    """Refuse, before anything is written, a change to an issued statement or its lines, or
    to a charge already billed on one."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Statement | StatementLine) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise Conflict(_("An issued statement cannot change; issue a credit or debit note."))
        if isinstance(obj, Charge):
            history = db.inspect(obj).attrs.statement_id.history
            # Billed before this flush: not the flush that puts it on its statement.
            if history.deleted:
                billed_before = history.deleted[0]
            else:
                billed_before = None if history.added else obj.statement_id
            if billed_before is not None and (
                obj in session.deleted or session.is_modified(obj, include_collections=False)
            ):
                raise Conflict(_("A billed charge cannot change; issue a credit or debit note."))


event.listen(Session, "before_flush", _refuse_changes_to_issued)
