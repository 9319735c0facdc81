"""What a statement shows, line by line, in the reader's language: shared by the page, the
printable page and the workbook."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.billing.models import CustomerKind, Statement, StatementKind
from app.booking.models import Booking
from app.extensions import db
from app.i18n import local_time, localised, month_name
from app.vouchers.services import statement_deductions

CUSTOMER_KINDS = {
    CustomerKind.INCUBATED.value: _l("Incubated startup of the centre"),
    CustomerKind.STARTUP.value: _l("Other startup"),
    CustomerKind.UNIVERSITY.value: _l("University"),
    CustomerKind.EXTERNAL.value: _l("External company"),
}
KINDS = {
    StatementKind.STATEMENT.value: _l("Statement"),
    StatementKind.CREDIT_NOTE.value: _l("Credit note"),
    StatementKind.DEBIT_NOTE.value: _l("Debit note"),
}


@dataclass(frozen=True)
class LineRow:
    day: str
    unit: str
    booking_id: int | None
    title: str
    times: str
    hours: Decimal
    rate_fen: int
    amount_fen: int
    description: str


def customer_kind_label(kind: str) -> str:
    """Return a customer kind in the reader's language."""
    return str(CUSTOMER_KINDS.get(kind, kind))


def kind_label(kind: str) -> str:
    """Return 'statement', 'credit note' or 'debit note' in the reader's language."""
    return str(KINDS.get(kind, kind))


def period_label(statement: Statement) -> str:
    """Return the billed month, as the reader's language writes it."""
    return month_name(statement.month)


def line_rows(statement: Statement) -> list[LineRow]:
    """Return the statement's lines as the reader sees them."""
    tz = statement.facility.timezone
    rows = []
    for line in statement.lines:
        booking = db.session.get(Booking, line.booking_id) if line.booking_id else None
        rows.append(
            LineRow(
                day=local_time(line.start, tz, "day") if line.start else "",
                unit=localised(line.equipment) if line.equipment else "",
                booking_id=line.booking_id,
                title=booking.request.title if booking else "",
                times=(
                    f"{local_time(line.start, tz, 'time')}–{local_time(line.end, tz, 'time')}"
                    if line.start and line.end
                    else ""
                ),
                hours=(Decimal(line.minutes) / 60).quantize(Decimal("0.01")),
                rate_fen=line.hourly_fen + line.surcharge_fen,
                amount_fen=line.amount_fen,
                description=line.description
                or (_("incl. assisted-session surcharge") if line.surcharge_fen else ""),
            )
        )
    return rows


@dataclass(frozen=True)
class DeductionRow:
    label: str
    amount_fen: int


def deduction_rows(statement: Statement) -> list[DeductionRow]:
    """Return what each voucher paid of the statement, named by issuer and number."""
    return [
        DeductionRow(
            _(
                "Voucher %(issuer)s No. %(number)s",
                issuer=d.voucher.issuer,
                number=d.voucher.number,
            ),
            d.amount_fen,
        )
        for d in statement_deductions(statement)
    ]
