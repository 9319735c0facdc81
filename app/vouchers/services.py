"""Innovation vouchers: recording them, drawing charges from them, and what they paid.

The draw rule, stated once. When a charge is written or rewritten it draws from its project's
vouchers that are valid on the charge's start day (in the facility's time zone) and whose scope
covers the charge's facility, the facility's centre or one of the unit's capabilities (a voucher
without scope rows covers every facility), earliest expiry first, ties by lower id. Each voucher
pays at most its share of the charge, rounded down to the fen, and never more than its balance;
together the vouchers pay at most the largest share among those eligible, so the project always
co-pays at least what its most generous voucher leaves to it. A rewritten (unbilled) charge first
returns its draws; a billed charge's draws never change. Credit and debit notes are between the
centre and the project: they neither return money to a voucher nor draw from one.

The balance only ever moves by one conditional UPDATE (`... WHERE balance_fen >= :x`), and the
database's CHECK keeps it between 0 and the amount, so concurrent draws cannot overspend it."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Select, exists, func, or_, select, update

from app import access, dates
from app.accounts.models import Project, User
from app.billing.models import Charge, Statement
from app.billing.money import MAX_FEN, fen_from_yuan, yuan
from app.booking import audit
from app.catalog.models import Capability, Centre, Equipment, Facility
from app.database import write_transaction
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.vouchers.models import Voucher, VoucherDraw, VoucherScope

MAX_ISSUER = 200
MAX_NUMBER = 60
MAX_NOTE = 2000
# A conditional UPDATE fails only when another writer lowered the balance in between; each
# retry reads the lower balance, so a few attempts always settle.
MAX_DRAW_ATTEMPTS = 20
# What may still change once a voucher has paid part of a charge.
CHANGEABLE_ONCE_DRAWN = ("note", "valid_until")
FIELDS = (
    "issuer",
    "number",
    "amount",
    "valid_from",
    "valid_until",
    "share_percent",
    "centres",
    "facilities",
    "capabilities",
    "note",
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ---------------------------------------------------------------- recording and editing


def form_values(voucher: Voucher) -> dict[str, Any]:
    """Return a voucher as the values of its form (strings and lists of strings)."""
    return {
        "project_id": str(voucher.project_id),
        "issuer": voucher.issuer,
        "number": voucher.number,
        "amount": str(yuan(voucher.amount_fen)),
        "valid_from": voucher.valid_from.isoformat(),
        "valid_until": voucher.valid_until.isoformat(),
        "share_percent": str(voucher.share_percent),
        "centres": [str(s.centre_id) for s in voucher.scopes if s.centre_id is not None],
        "facilities": [str(s.facility_id) for s in voucher.scopes if s.facility_id is not None],
        "capabilities": [s.capability_slug for s in voucher.scopes if s.capability_slug],
        "note": voucher.note,
    }


def _ids(raw: Iterable[Any]) -> list[int] | None:
    try:
        return sorted({int(str(v)) for v in raw if str(v).strip()})
    except ValueError:
        return None


def _date(raw: Any) -> date | None:
    text = str(raw or "").strip()
    if not _DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def validate(values: Mapping[str, Any], *, voucher_id: int | None = None) -> dict[str, Any]:
    """Return the voucher's fields cleaned; raise ValidationError naming every bad field."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}

    project_id = _ids([values.get("project_id", "")])
    if not project_id or db.session.get(Project, project_id[0]) is None:
        errors["project_id"] = _("Choose the project the voucher was issued to.")
    else:
        clean["project_id"] = project_id[0]

    issuer = str(values.get("issuer") or "").strip()
    if not issuer:
        errors["issuer"] = _("Enter the issuing bureau, e.g. a district science bureau.")
    elif len(issuer) > MAX_ISSUER:
        errors["issuer"] = _("Keep the issuer under 200 characters.")
    clean["issuer"] = issuer

    number = str(values.get("number") or "").strip()
    if not number:
        errors["number"] = _("Enter the voucher's number as printed on it.")
    elif len(number) > MAX_NUMBER:
        errors["number"] = _("Keep the number under 60 characters.")
    elif issuer and db.session.scalar(
        select(Voucher.id).where(
            Voucher.issuer == issuer, Voucher.number == number, Voucher.id != (voucher_id or -1)
        )
    ):
        errors["number"] = _("This issuer's voucher with this number is already recorded.")
    clean["number"] = number

    try:
        amount = fen_from_yuan(str(values.get("amount") or "").strip())
    except (ValueError, ArithmeticError):
        errors["amount"] = _("Enter an amount in yuan with at most two decimals.")
    else:
        if not 0 < amount <= MAX_FEN:
            errors["amount"] = _("Enter an amount above 0 and up to 100,000,000 yuan.")
        clean["amount_fen"] = amount

    valid_from, valid_until = _date(values.get("valid_from")), _date(values.get("valid_until"))
    if valid_from is None:
        errors["valid_from"] = _("Enter the first valid day as YYYY-MM-DD.")
    elif not dates.supported(valid_from):
        errors["valid_from"] = dates.range_message()
    if valid_until is None:
        errors["valid_until"] = _("Enter the last valid day as YYYY-MM-DD.")
    elif not dates.supported(valid_until):
        errors["valid_until"] = dates.range_message()
    elif valid_from is not None and valid_until < valid_from:
        errors["valid_until"] = _("The last valid day cannot come before the first.")
    clean["valid_from"], clean["valid_until"] = valid_from, valid_until

    try:
        share = int(str(values.get("share_percent") or "").strip())
    except ValueError:
        share = 0
    if not 1 <= share <= 100:
        errors["share_percent"] = _("Enter the share of each charge it covers, 1 to 100 %.")
    clean["share_percent"] = share

    for field, model, column in (
        ("centres", Centre, Centre.id),
        ("facilities", Facility, Facility.id),
    ):
        ids = _ids(values.get(field) or [])
        known = (
            set(db.session.scalars(select(column).where(column.in_(ids or [])))) if ids else set()
        )
        if ids is None or set(ids) - known:
            errors[field] = (
                _("Choose centres from the list.")
                if model is Centre
                else _("Choose facilities from the list.")
            )
        clean[field] = ids or []
    slugs = sorted({str(s).strip() for s in values.get("capabilities") or [] if str(s).strip()})
    known_slugs = set(
        db.session.scalars(select(Capability.slug).where(Capability.slug.in_(slugs)))
    )
    if set(slugs) - known_slugs:
        errors["capabilities"] = _("Choose capabilities from the list.")
    clean["capabilities"] = slugs

    note = str(values.get("note") or "").strip()
    if len(note) > MAX_NOTE:
        errors["note"] = _("Keep the note under 2000 characters.")
    clean["note"] = note

    if errors:
        raise ValidationError(next(iter(errors.values())), errors=errors)
    return clean


def _scopes(clean: Mapping[str, Any]) -> list[VoucherScope]:
    return (
        [VoucherScope(centre_id=i) for i in clean["centres"]]
        + [VoucherScope(facility_id=i) for i in clean["facilities"]]
        + [VoucherScope(capability_slug=s) for s in clean["capabilities"]]
    )


def _audit_values(clean: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, date) else v)
        for k, v in clean.items()
        if k != "project_id"
    }


def record_voucher(user: User, values: Mapping[str, Any]) -> Voucher:
    """Record a voucher issued to a project (administrators); its balance starts full."""
    if not access.can_manage_vouchers(user):
        raise NotFound(_("Not found."))
    write_transaction()
    clean = validate(values)
    voucher = Voucher(
        project_id=clean["project_id"],
        issuer=clean["issuer"],
        number=clean["number"],
        amount_fen=clean["amount_fen"],
        balance_fen=clean["amount_fen"],
        share_percent=clean["share_percent"],
        valid_from=clean["valid_from"],
        valid_until=clean["valid_until"],
        note=clean["note"],
        created_by_id=user.id,
    )
    voucher.scopes = _scopes(clean)
    db.session.add(voucher)
    db.session.flush()
    audit.record(
        user,
        "voucher.record",
        "voucher",
        voucher.id,
        project_id=voucher.project_id,
        **_audit_values(clean),
    )
    db.session.commit()
    return voucher


def is_drawn(voucher: Voucher) -> bool:
    """Tell whether the voucher has paid part of any charge."""
    return bool(
        db.session.scalar(
            select(VoucherDraw.id).where(VoucherDraw.voucher_id == voucher.id).limit(1)
        )
    )


def update_voucher(user: User, voucher_id: int, values: Mapping[str, Any]) -> Voucher:
    """Change a voucher (administrators); once drawn, only its note and a later end of
    validity, since the draws already made rest on the rest."""
    if not access.can_manage_vouchers(user):
        raise NotFound(_("Not found."))
    write_transaction()
    # The row lock waits out a draw in flight, so "drawn" below is what it really is.
    voucher = db.session.get(Voucher, voucher_id, with_for_update=True)
    if voucher is None:
        raise NotFound(_("No such voucher."))
    before = form_values(voucher)
    merged = {**before, **{k: v for k, v in values.items() if k in (*FIELDS, "project_id")}}
    clean = validate(merged, voucher_id=voucher.id)
    old = validate(before, voucher_id=voucher.id)
    if is_drawn(voucher):
        errors = {}
        for field, key in (
            ("project_id", "project_id"),
            ("issuer", "issuer"),
            ("number", "number"),
            ("amount", "amount_fen"),
            ("valid_from", "valid_from"),
            ("share_percent", "share_percent"),
            ("centres", "centres"),
            ("facilities", "facilities"),
            ("capabilities", "capabilities"),
        ):
            if clean[key] != old[key]:
                errors[field] = _(
                    "This voucher has paid part of a charge: only its note and a later end "
                    "of validity can change."
                )
        if clean["valid_until"] < voucher.valid_until:
            errors["valid_until"] = _(
                "This voucher has paid part of a charge: its validity can only be extended."
            )
        if errors:
            raise ValidationError(next(iter(errors.values())), errors=errors)
    else:
        voucher.issuer = clean["issuer"]
        voucher.number = clean["number"]
        voucher.amount_fen = clean["amount_fen"]
        voucher.balance_fen = clean["amount_fen"]
        voucher.share_percent = clean["share_percent"]
        voucher.valid_from = clean["valid_from"]
        voucher.project_id = clean["project_id"]
        voucher.scopes = _scopes(clean)
    voucher.valid_until = clean["valid_until"]
    voucher.note = clean["note"]
    audit.record(
        user,
        "voucher.update",
        "voucher",
        voucher.id,
        project_id=voucher.project_id,
        before=_audit_values(old),
        after=_audit_values(clean),
    )
    db.session.commit()
    return voucher


# ---------------------------------------------------------------- reading


def get_voucher(user: User, voucher_id: int) -> Voucher:
    """Return the voucher, or NotFound when it does not exist or is not the user's to see."""
    voucher = db.session.get(Voucher, voucher_id)
    if voucher is None or not access.can_see_voucher(user, voucher):
        raise NotFound(_("No such voucher among those you can see."))
    return voucher


def list_vouchers(user: User, *, project_id: int | None = None) -> list[Voucher]:
    """Return the vouchers the user may see (of one project, if given), by project and expiry."""
    query = (
        select(Voucher)
        .join(Project, Voucher.project_id == Project.id)
        .where(access.voucher_filter(user, Voucher.project_id))
        .order_by(Project.name, Voucher.valid_until, Voucher.id)
    )
    if project_id is not None:
        query = query.where(Voucher.project_id == project_id)
    return list(db.session.scalars(query))


def draws_of(voucher: Voucher) -> list[VoucherDraw]:
    """Return what the voucher paid, charge by charge, in the order of the charges' use."""
    return list(
        db.session.scalars(
            select(VoucherDraw)
            .join(Charge, VoucherDraw.charge_id == Charge.id)
            .where(VoucherDraw.voucher_id == voucher.id)
            .order_by(Charge.start, VoucherDraw.id)
        )
    )


# ---------------------------------------------------------------- drawing


def spendable_at(
    project_id: int, facility: Facility, day: date, capabilities: Collection[str] = ()
) -> Select[tuple[Voucher]]:
    """Return the query of a project's vouchers with a balance, valid on `day` (local), whose
    scope covers the facility, its centre or one of `capabilities`, in drawing order."""
    scoped = exists().where(VoucherScope.voucher_id == Voucher.id)
    covers = exists().where(
        VoucherScope.voucher_id == Voucher.id,
        or_(
            VoucherScope.centre_id == facility.centre_id,
            VoucherScope.facility_id == facility.id,
            VoucherScope.capability_slug.in_(list(capabilities) or [""]),
        ),
    )
    return (
        select(Voucher)
        .where(
            Voucher.project_id == project_id,
            Voucher.valid_from <= day,
            Voucher.valid_until >= day,
            Voucher.balance_fen > 0,
            or_(~scoped, covers),
        )
        .order_by(Voucher.valid_until, Voucher.id)
    )


def eligible_vouchers(charge: Charge) -> list[Voucher]:
    """Return the project's vouchers the charge may draw from, in drawing order."""
    facility = db.session.get(Facility, charge.facility_id)
    unit = db.session.get(Equipment, charge.equipment_id)
    assert facility is not None and unit is not None
    day = charge.start.astimezone(ZoneInfo(facility.timezone)).date()
    return list(
        db.session.scalars(spendable_at(charge.project_id, facility, day, unit.capability_names))
    )


def _take(voucher_id: int, wanted: int) -> int:
    """Lower a voucher's balance by up to `wanted` fen in one conditional UPDATE; return how
    much it gave."""
    for _attempt in range(MAX_DRAW_ATTEMPTS):
        # A statement of its own: on PostgreSQL it reads the latest committed balance.
        balance = db.session.scalar(select(Voucher.balance_fen).where(Voucher.id == voucher_id))
        amount = min(wanted, balance or 0)
        if amount <= 0:
            return 0
        result = db.session.execute(
            update(Voucher)
            .where(Voucher.id == voucher_id, Voucher.balance_fen >= amount)
            .values(balance_fen=Voucher.balance_fen - amount)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return amount
    return 0


def _require_unbilled(charge: Charge) -> None:
    if charge.statement_id is not None:
        raise Conflict(_("A billed charge's voucher draws never change."))


def return_draws(charge: Charge) -> int:
    """Give an unbilled charge's draws back to their vouchers; return the fen returned."""
    _require_unbilled(charge)
    returned = 0
    for draw in db.session.scalars(select(VoucherDraw).where(VoucherDraw.charge_id == charge.id)):
        if draw.claim_id is not None:
            raise Conflict(_("This charge's voucher draw is on a claim and cannot change."))
        db.session.execute(
            update(Voucher)
            .where(Voucher.id == draw.voucher_id)
            .values(balance_fen=Voucher.balance_fen + draw.amount_fen)
            .execution_options(synchronize_session=False)
        )
        returned += draw.amount_fen
        db.session.delete(draw)
    db.session.flush()
    _expire_balances()
    return returned


def draw_charge(charge: Charge) -> list[VoucherDraw]:
    """Draw a flushed, unbilled charge from its project's vouchers by the rule above."""
    _require_unbilled(charge)
    candidates = eligible_vouchers(charge) if charge.amount_fen > 0 else []
    if not candidates:
        return []
    ceiling = charge.amount_fen * max(v.share_percent for v in candidates) // 100
    drawn, draws = 0, []
    for voucher in candidates:
        wanted = min(charge.amount_fen * voucher.share_percent // 100, ceiling - drawn)
        if wanted <= 0:
            continue
        got = _take(voucher.id, wanted)
        if got:
            draw = VoucherDraw(voucher_id=voucher.id, charge_id=charge.id, amount_fen=got)
            db.session.add(draw)
            draws.append(draw)
            drawn += got
        if drawn >= ceiling:
            break
    db.session.flush()
    _expire_balances()
    return draws


def redraw_charge(charge: Charge) -> list[VoucherDraw]:
    """Return a rewritten charge's previous draws, then draw it afresh."""
    return_draws(charge)
    return draw_charge(charge)


def _expire_balances() -> None:
    # The UPDATEs went around the ORM: loaded vouchers must read their balance again.
    for obj in db.session.identity_map.values():
        if isinstance(obj, Voucher):
            db.session.expire(obj, ["balance_fen"])


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class Deduction:
    """What one voucher paid of a statement's charges."""

    voucher: Voucher
    amount_fen: int


def deductions_for(charge_ids: Iterable[int]) -> list[Deduction]:
    """Return, per voucher (earliest expiry first), what it paid of these charges."""
    ids = sorted(set(charge_ids))
    if not ids:
        return []
    rows = db.session.execute(
        select(Voucher, func.sum(VoucherDraw.amount_fen))
        .join(VoucherDraw, VoucherDraw.voucher_id == Voucher.id)
        .where(VoucherDraw.charge_id.in_(ids))
        .group_by(Voucher.id)
        .order_by(Voucher.valid_until, Voucher.id)
    )
    return [Deduction(voucher, int(total)) for voucher, total in rows]


def statement_deductions(statement: Statement) -> list[Deduction]:
    """Return what each voucher paid of a statement's billed charges (none for a note)."""
    charge_ids = db.session.scalars(select(Charge.id).where(Charge.statement_id == statement.id))
    return deductions_for(charge_ids)


@dataclass(frozen=True)
class Choices:
    """What a voucher's form offers: projects, and the places it may be spent."""

    projects: list[Project]
    centres: list[Centre]
    facilities: list[Facility]
    capabilities: list[Capability]


def choices() -> Choices:
    """Return the form's choices, each list in a stable order."""
    return Choices(
        list(db.session.scalars(select(Project).order_by(Project.name))),
        list(db.session.scalars(select(Centre).order_by(Centre.slug))),
        list(db.session.scalars(select(Facility).order_by(Facility.slug))),
        list(db.session.scalars(select(Capability).order_by(Capability.slug))),
    )
