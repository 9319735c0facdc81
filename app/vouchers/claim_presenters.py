"""What a claim shows, line by line, in the reader's language: shared by the claim's page, its
printable page and its workbook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from app.i18n import local_date, local_time, localised
from app.vouchers.claims import claim_lines
from app.vouchers.models import Claim, ClaimState

STATES = {
    ClaimState.DRAFT.value: _l("Draft"),
    ClaimState.SUBMITTED.value: _l("Submitted"),
    ClaimState.PAID.value: _l("Paid"),
}


@dataclass(frozen=True)
class ClaimRow:
    project: str
    booking_id: int
    booking: str
    facility: str
    unit: str
    started: str
    ended: str
    voucher: str
    charge_fen: int
    amount_fen: int


def state_label(state: str) -> str:
    """Return a claim's state in the reader's language."""
    return str(STATES.get(state, state))


def period_label(claim: Claim) -> str:
    """Return the claim's period, first and last day, as the reader's language writes dates."""
    return f"{local_date(claim.period_start)} – {local_date(claim.period_end)}"


def claim_rows(claim: Claim) -> list[ClaimRow]:
    """Return every voucher-paid charge of the claim as the reader sees it."""
    rows = []
    for line in claim_lines(claim):
        charge, tz = line.charge, line.tz
        booking = charge.booking
        rows.append(
            ClaimRow(
                project=booking.request.project.name,
                booking_id=booking.id,
                booking=booking.request.title,
                facility=localised(line.facility),
                unit=localised(charge.equipment),
                started=local_time(charge.start, tz, "date_time"),
                ended=local_time(
                    charge.end,
                    tz,
                    "time" if _same_day(charge.start, charge.end, tz) else "date_time",
                ),
                voucher=line.voucher.number,
                charge_fen=charge.amount_fen,
                amount_fen=line.draw.amount_fen,
            )
        )
    return rows


def _same_day(start: datetime, end: datetime, tz: str) -> bool:
    zone = ZoneInfo(tz)
    return start.astimezone(zone).date() == end.astimezone(zone).date()
