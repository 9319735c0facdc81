"""A statement as an Excel workbook, in the reader's language; amounts in yuan, exact."""

from __future__ import annotations

import io

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from app.billing.models import Statement
from app.billing.money import yuan
from app.billing.presenters import (
    customer_kind_label,
    deduction_rows,
    kind_label,
    line_rows,
    period_label,
)
from app.i18n import local_time, localised
from app.reports.exports import defuse

MONEY_FORMAT = "#,##0.00"


def statement_xlsx(statement: Statement, *, reference: Statement | None = None) -> bytes:
    """Return the statement (or note) as an .xlsx file's bytes."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = statement.number[:31]
    bold = Font(bold=True)
    facts = [
        (kind_label(statement.kind), statement.number),
        (_("Facility"), localised(statement.facility)),
        (_("Project"), statement.project.name),
        (_("Customer kind"), customer_kind_label(statement.customer_kind)),
        (_("Period"), period_label(statement)),
        (_("Issued"), local_time(statement.issued_at, statement.facility.timezone, "date_time")),
    ]
    if reference is not None:
        facts.append((_("Corrects"), reference.number))
    if statement.reason:
        facts.append((_("Reason"), statement.reason))
    for label, value in facts:
        sheet.append([label, defuse(value)])
        sheet.cell(row=sheet.max_row, column=1).font = bold
    sheet.append([])
    header = [
        _("Date"),
        _("Unit"),
        _("Booking"),
        _("Time"),
        _("Hours"),
        _("Rate (CNY/h)"),
        _("Amount (CNY)"),
        _("Note"),
    ]
    sheet.append(header)
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for row in line_rows(statement):
        sheet.append(
            [
                row.day,
                defuse(row.unit),
                defuse(row.title),
                row.times,
                row.hours,
                yuan(row.rate_fen),
                yuan(row.amount_fen),
                defuse(row.description),
            ]
        )
        sheet.cell(row=sheet.max_row, column=5).number_format = "0.00"
        sheet.cell(row=sheet.max_row, column=6).number_format = MONEY_FORMAT
        sheet.cell(row=sheet.max_row, column=7).number_format = MONEY_FORMAT
    sheet.append([])
    totals = [(_("Subtotal"), statement.subtotal_fen)]
    totals += [(defuse(d.label), -d.amount_fen) for d in deduction_rows(statement)]
    totals += [
        (_("Voucher deductions"), -statement.voucher_deductions_fen),
        (_("Amount payable"), statement.payable_fen),
    ]
    for label, fen in totals:
        sheet.append([label, None, None, None, None, None, yuan(fen)])
        sheet.cell(row=sheet.max_row, column=1).font = bold
        sheet.cell(row=sheet.max_row, column=7).number_format = MONEY_FORMAT
    for letter, width in zip("ABCDEFGH", (16, 28, 32, 14, 8, 14, 14, 30), strict=True):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
