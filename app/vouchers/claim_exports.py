"""A claim as an Excel workbook, in the reader's language; amounts in yuan, exact."""

from __future__ import annotations

import io

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from app.billing.money import yuan
from app.i18n import local_time
from app.reports.exports import defuse
from app.vouchers.claim_presenters import claim_rows, period_label, state_label
from app.vouchers.models import Claim

MONEY_FORMAT = "#,##0.00"
# The header row's cells; the test and readers find the lines under it.
COLUMNS = 10


def claim_xlsx(claim: Claim) -> bytes:
    """Return the claim as an .xlsx file's bytes: facts, one row per voucher-paid charge, total."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = claim.number[:31]
    bold = Font(bold=True)
    facts = [
        (_("Voucher claim"), claim.number),
        (_("Issuer"), claim.issuer),
        (_("Period"), period_label(claim)),
        (_("State"), state_label(claim.state)),
    ]
    if claim.submitted_at is not None:
        facts.append((_("Submitted"), local_time(claim.submitted_at, fmt="date_time")))
    if claim.paid_at is not None:
        facts.append((_("Paid"), local_time(claim.paid_at, fmt="date_time")))
    for label, value in facts:
        sheet.append([label, defuse(value)])
        sheet.cell(row=sheet.max_row, column=1).font = bold
    sheet.append([])
    sheet.append(
        [
            _("Project"),
            _("Booking"),
            _("Booking title"),
            _("Facility"),
            _("Unit"),
            _("Started"),
            _("Ended"),
            _("Voucher"),
            _("Charge (CNY)"),
            _("Voucher pays (CNY)"),
        ]
    )
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for row in claim_rows(claim):
        sheet.append(
            [
                defuse(row.project),
                row.booking_id,
                defuse(row.booking),
                defuse(row.facility),
                defuse(row.unit),
                row.started,
                row.ended,
                defuse(row.voucher),
                yuan(row.charge_fen),
                yuan(row.amount_fen),
            ]
        )
        sheet.cell(row=sheet.max_row, column=9).number_format = MONEY_FORMAT
        sheet.cell(row=sheet.max_row, column=10).number_format = MONEY_FORMAT
    sheet.append([])
    sheet.append([_("Total claimed"), *([None] * (COLUMNS - 2)), yuan(claim.total_fen)])
    sheet.cell(row=sheet.max_row, column=1).font = bold
    sheet.cell(row=sheet.max_row, column=COLUMNS).number_format = MONEY_FORMAT
    for letter, width in zip("ABCDEFGHIJ", (20, 9, 30, 24, 20, 18, 18, 18, 14, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
