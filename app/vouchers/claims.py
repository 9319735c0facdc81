"""The centre's redemption claims: per voucher issuer and period, the voucher-paid charges the
centre asks the issuing bureau to reimburse. Each service owns its transaction.

A claim is prepared as a draft, refreshed or discarded while it is one, submitted (which locks
it) and then marked paid. The database holds the lock and the one-claim-per-draw rule too (the
triggers in app.vouchers.models); the services say why first, in the reader's language."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import access, dates
from app.accounts.models import User
from app.billing.models import Charge
from app.booking import audit
from app.catalog.models import Facility
from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.vouchers.models import Claim, ClaimState, Voucher, VoucherDraw

# The longest period one claim may cover: a year, leap day included.
MAX_CLAIM_DAYS = 366
LOCKED_STATES = (ClaimState.SUBMITTED.value, ClaimState.PAID.value)


# ---------------------------------------------------------------- what a claim gathers


def known_issuers() -> list[str]:
    """Return the issuers of the recorded vouchers, in order: a claim is made to one of them."""
    return list(db.session.scalars(select(Voucher.issuer).distinct().order_by(Voucher.issuer)))


def claimable_draws(issuer: str, period_start: date, period_end: date) -> list[VoucherDraw]:
    """Return the issuer's voucher draws of the period that no claim holds yet, in time order.

    A draw belongs to the period in which its charge's use started, by the facility's local
    calendar. Only draws whose charge is on an issued statement are claimed: the bureau
    reimburses billed use, which the project has seen on its statement and which never changes
    afterwards (a correction is a separate note), so a claim never asks for money a later
    check-out correction would take back."""
    # A margin wide enough for any time zone; the exact local day is checked below.
    since = datetime.combine(period_start - timedelta(days=1), time(0), UTC)
    until = datetime.combine(period_end + timedelta(days=2), time(0), UTC)
    rows = db.session.execute(
        select(VoucherDraw, Charge.start, Facility.timezone)
        .join(Voucher, VoucherDraw.voucher_id == Voucher.id)
        .join(Charge, VoucherDraw.charge_id == Charge.id)
        .join(Facility, Charge.facility_id == Facility.id)
        .where(
            Voucher.issuer == issuer,
            VoucherDraw.claim_id.is_(None),
            Charge.statement_id.is_not(None),
            Charge.start >= since,
            Charge.start < until,
        )
        .order_by(Charge.start, VoucherDraw.id)
    ).all()
    return [
        draw
        for draw, start, tz in rows
        if period_start <= start.astimezone(ZoneInfo(tz)).date() <= period_end
    ]


def claim_number(issuer: str, period_start: date, period_end: date) -> str:
    """Return a claim's number: its period and a short fixed code of its issuer."""
    code = f"{zlib.crc32(issuer.encode('utf-8')):08X}"
    return f"VC-{period_start:%Y%m%d}-{period_end:%Y%m%d}-{code}"


def _period(period_start: date | None, period_end: date | None) -> tuple[date, date]:
    errors = {}
    for name, value in (("period_start", period_start), ("period_end", period_end)):
        if value is None:
            errors[name] = _("Enter a date written YYYY-MM-DD.")
        elif not dates.supported(value):
            errors[name] = dates.range_message()
    if not errors:
        assert period_start is not None and period_end is not None
        if period_end < period_start:
            errors["period_end"] = _("The period ends on or after the day it starts.")
        elif (period_end - period_start).days + 1 > MAX_CLAIM_DAYS:
            errors["period_end"] = _("A claim covers at most %(days)d days.", days=MAX_CLAIM_DAYS)
    if errors:
        raise ValidationError(next(iter(errors.values())), errors=errors)
    assert period_start is not None and period_end is not None
    return period_start, period_end


def _require(user: User) -> None:
    if not access.can_manage_claims(user):
        raise NotFound(_("Not found."))


# ---------------------------------------------------------------- the claim's life


def prepare_claim(
    user: User, issuer: str, period_start: date | None, period_end: date | None
) -> Claim:
    """Prepare a draft claim to an issuer for a period (inclusive dates) of its billed draws."""
    _require(user)
    issuer = (issuer or "").strip()
    errors = {}
    if not issuer:
        errors["issuer"] = _("Choose the issuer of the vouchers.")
    elif issuer not in known_issuers():
        errors["issuer"] = _("No voucher was issued by %(issuer)s.", issuer=issuer)
    try:
        start, end = _period(period_start, period_end)
    except ValidationError as error:
        errors.update(error.errors)
    if errors:
        raise ValidationError(next(iter(errors.values())), errors=errors)
    write_transaction()
    overlapping = db.session.scalar(
        select(Claim)
        .where(Claim.issuer == issuer, Claim.period_start <= end, Claim.period_end >= start)
        .order_by(Claim.period_start)
        .limit(1)
    )
    if overlapping is not None:
        raise Conflict(
            _(
                "Claim %(number)s to this issuer already covers %(start)s to %(end)s; a "
                "voucher-paid charge is claimed once.",
                number=overlapping.number,
                start=overlapping.period_start.isoformat(),
                end=overlapping.period_end.isoformat(),
            ),
            field="period_start",
        )
    draws = claimable_draws(issuer, start, end)
    if not draws:
        raise Conflict(
            _(
                "Nothing to claim: no voucher of this issuer paid for a charge on an issued "
                "statement in this period."
            ),
            field="period_start",
        )
    claim = Claim(
        number=claim_number(issuer, start, end),
        issuer=issuer,
        period_start=start,
        period_end=end,
        state=ClaimState.DRAFT.value,
        total_fen=sum(d.amount_fen for d in draws),
        created_by_id=user.id,
    )
    db.session.add(claim)
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict(
            _("A claim to this issuer for this period exists already."), field="period_start"
        ) from error
    _attach(claim, draws)
    audit.record(
        user,
        "claim.prepare",
        "claim",
        claim.id,
        number=claim.number,
        issuer=issuer,
        draws=len(draws),
        total_fen=claim.total_fen,
    )
    db.session.commit()
    return claim


def _attach(claim: Claim, draws: list[VoucherDraw]) -> None:
    """Put draws on the claim, each only if no claim took it meanwhile."""
    ids = [d.id for d in draws]
    result: Any = db.session.execute(
        update(VoucherDraw)
        .where(VoucherDraw.id.in_(ids), VoucherDraw.claim_id.is_(None))
        .values(claim_id=claim.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != len(ids):
        db.session.rollback()
        raise Conflict(_("Another claim took some of these charges meanwhile; try again."))
    for draw in draws:
        db.session.expire(draw, ["claim_id", "claim"])
    db.session.expire(claim, ["draws"])


def _locked_claim(user: User, claim_id: int) -> Claim:
    """Return the claim for a change, its row locked until the transaction ends."""
    _require(user)
    write_transaction()
    claim = db.session.scalar(select(Claim).where(Claim.id == claim_id).with_for_update())
    if claim is None:
        raise NotFound(_("No such claim."))
    return claim


def _draws_total(claim: Claim) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(VoucherDraw.amount_fen), 0)).where(
                VoucherDraw.claim_id == claim.id
            )
        )
        or 0
    )


def refresh_claim(user: User, claim_id: int) -> tuple[Claim, int]:
    """Add to a draft claim the period's draws billed since; return it and how many joined."""
    claim = _locked_claim(user, claim_id)
    if claim.state != ClaimState.DRAFT.value:
        raise Conflict(_("Only a draft claim is refreshed; this one is locked."))
    draws = claimable_draws(claim.issuer, claim.period_start, claim.period_end)
    if draws:
        _attach(claim, draws)
    claim.total_fen = _draws_total(claim)
    audit.record(
        user, "claim.refresh", "claim", claim.id, added=len(draws), total_fen=claim.total_fen
    )
    db.session.commit()
    return claim, len(draws)


def submit_claim(user: User, claim_id: int, *, now: datetime | None = None) -> Claim:
    """Mark a draft claim submitted to its issuer; from then on it and its lines are locked."""
    claim = _locked_claim(user, claim_id)
    if claim.state != ClaimState.DRAFT.value:
        raise Conflict(_("This claim is already submitted."))
    total = _draws_total(claim)
    if total == 0:
        raise Conflict(_("A claim without voucher-paid charges cannot be submitted."))
    if total != claim.total_fen:
        raise Conflict(_("The claim's lines changed since it was prepared; refresh it first."))
    # All three in one UPDATE: the lock admits no later change to who submitted it, when.
    by = user.id
    claim.state = ClaimState.SUBMITTED.value
    claim.submitted_at = now or utcnow()
    claim.submitted_by_id = by
    audit.record(user, "claim.submit", "claim", claim.id, total_fen=claim.total_fen)
    db.session.commit()
    return claim


def mark_paid(user: User, claim_id: int, *, now: datetime | None = None) -> Claim:
    """Mark a submitted claim paid by its issuer."""
    claim = _locked_claim(user, claim_id)
    if claim.state == ClaimState.DRAFT.value:
        raise Conflict(_("A claim is marked paid only after it is submitted."))
    if claim.state == ClaimState.PAID.value:
        raise Conflict(_("This claim is already marked paid."))
    by = user.id
    claim.state = ClaimState.PAID.value
    claim.paid_at = now or utcnow()
    claim.paid_by_id = by
    audit.record(user, "claim.paid", "claim", claim.id, total_fen=claim.total_fen)
    db.session.commit()
    return claim


def discard_claim(user: User, claim_id: int) -> str:
    """Discard a draft claim: its draws go back to unclaimed and the claim is deleted.

    Returns the discarded claim's number. The row is deleted rather than kept as discarded:
    a claim's number is its issuer and period, so the same period can be prepared again, and
    nothing was sent to the bureau under it. A submitted or paid claim is never discarded."""
    claim = _locked_claim(user, claim_id)
    if claim.state != ClaimState.DRAFT.value:
        raise Conflict(
            _(
                "Claim %(number)s is submitted to its issuer: only a draft claim is discarded.",
                number=claim.number,
            )
        )
    number = claim.number
    released: Any = db.session.execute(
        update(VoucherDraw)
        .where(VoucherDraw.claim_id == claim.id)
        .values(claim_id=None)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        user,
        "claim.discard",
        "claim",
        claim.id,
        number=number,
        issuer=claim.issuer,
        period_start=claim.period_start.isoformat(),
        period_end=claim.period_end.isoformat(),
        draws=released.rowcount,
        total_fen=claim.total_fen,
    )
    db.session.expire(claim, ["draws"])
    db.session.delete(claim)
    db.session.commit()
    return number


def get_claim(user: User, claim_id: int) -> Claim:
    """Return the claim, or NotFound when it does not exist or is not the user's to see."""
    _require(user)
    claim = db.session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(_("No such claim."))
    return claim


def list_claims(user: User) -> list[Claim]:
    """Return every claim, the latest period first."""
    _require(user)
    return list(
        db.session.scalars(
            select(Claim).order_by(Claim.period_start.desc(), Claim.issuer, Claim.id)
        )
    )


# ---------------------------------------------------------------- what a claim shows


@dataclass(frozen=True)
class ClaimLine:
    """One voucher-paid charge of a claim, as the page, the printable page and the workbook
    show it."""

    draw: VoucherDraw
    charge: Charge
    voucher: Voucher
    facility: Facility

    @property
    def tz(self) -> str:
        return self.facility.timezone


def claim_lines(claim: Claim) -> list[ClaimLine]:
    """Return the claim's voucher draws with their charges, in the order the use happened."""
    rows = db.session.execute(
        select(VoucherDraw, Charge, Voucher, Facility)
        .join(Charge, VoucherDraw.charge_id == Charge.id)
        .join(Voucher, VoucherDraw.voucher_id == Voucher.id)
        .join(Facility, Charge.facility_id == Facility.id)
        .where(VoucherDraw.claim_id == claim.id)
        .order_by(Charge.start, VoucherDraw.id)
    ).all()
    return [ClaimLine(*row) for row in rows]


# ---------------------------------------------------------------- demo


def prepare_demo_claim(today: date, by: User, issuer: str) -> Claim | None:
    """Prepare the demo's draft claim to an issuer for the month before today, if its
    vouchers paid for billed use then (each charge counted by its facility's calendar).

    Returns None (and changes nothing) when a claim for that month exists or nothing is
    claimable."""
    last = today.replace(day=1) - timedelta(days=1)
    start = last.replace(day=1)
    if db.session.scalar(
        select(Claim.id).where(Claim.issuer == issuer, Claim.period_start == start)
    ):
        return None
    if not claimable_draws(issuer, start, last):
        return None
    return prepare_claim(by, issuer, start, last)


# ---------------------------------------------------------------- the lock, in the app


def _refuse_changes_to_locked(session: Session, _context: Any, _instances: Any) -> None:
    """Refuse, before anything is written, a change to a submitted or paid claim (other than
    marking a submitted one paid) or to the voucher draws on one."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Claim):
            history = db.inspect(obj).attrs.state.history
            before = history.deleted[0] if history.deleted else obj.state
            if before not in LOCKED_STATES:
                continue
            changed = {
                attr.key
                for attr in db.inspect(obj).attrs
                if attr.history.has_changes() and attr.key != "draws"
            }
            moving_to_paid = (
                before == ClaimState.SUBMITTED.value
                and obj.state == ClaimState.PAID.value
                and changed <= {"state", "paid_at", "paid_by_id"}
            )
            if obj in session.deleted or (changed and not moving_to_paid):
                raise Conflict(_("A submitted or paid claim cannot change."))
        if isinstance(obj, VoucherDraw):
            history = db.inspect(obj).attrs.claim_id.history
            claim_id = history.deleted[0] if history.deleted else obj.claim_id
            if claim_id is None:
                continue
            if obj in session.deleted or session.is_modified(obj, include_collections=False):
                with session.no_autoflush:
                    state = session.scalar(select(Claim.state).where(Claim.id == claim_id))
                if state in LOCKED_STATES:
                    raise Conflict(_("A voucher draw on a submitted or paid claim cannot change."))


event.listen(Session, "before_flush", _refuse_changes_to_locked)
