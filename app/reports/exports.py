"""Write report tables as CSV and Excel, and a facility's schedule as CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from app.billing.money import yuan
from app.reports.queries import ScheduleRow
from app.reports.report import HOURS, INT, MONEY, NUMBER, PERCENT, Cell, Column, Table

# Excel reads a UTF-8 CSV as the local code page unless it starts with a byte order mark.
CSV_ENCODING = "utf-8-sig"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# OWASP "CSV injection": a cell starting with one of these may be run as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A spreadsheet whose list separator is ";" (much of Europe) opens our "," file by splitting at
# every ";" and line break, quotes or not, so a formula can also start inside a cell there.
_INNER_FORMULA = re.compile(r'([;\r\n][\s"]*)(?=[=+\-@])')
NUMBER_FORMATS = {
    PERCENT: "0.0%",
    HOURS: "0.00",
    INT: "0",
    NUMBER: "0.###",
    MONEY: "#,##0.00",
}


def csv_value(column: Column, value: Cell) -> Cell:
    """Return a cell as written to CSV: percentages as numbers of percent, blanks empty."""
    if value is None:
        return ""
    if column.kind == PERCENT and isinstance(value, int | float):
        return round(100 * value, 1)
    if column.kind == MONEY and isinstance(value, int):
        return str(yuan(value))
    return value


def _sheet_value(column: Column, value: Cell) -> object:
    """Return a cell as written to a workbook: money as exact yuan, the rest as it is."""
    if column.kind == MONEY and isinstance(value, int):
        return yuan(value)
    return defuse(value)


def csv_title(column: Column) -> str:
    """Return a column title, marking percentage and money columns (CSV has no formats)."""
    if column.kind == PERCENT:
        return f"{column.title} (%)"
    if column.kind == MONEY:
        return f"{column.title} (CNY)"
    return column.title


def defuse(value: Cell) -> Cell:
    """Keep a spreadsheet from running text as a formula (titles are typed by startups)."""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def defuse_csv(value: Cell) -> Cell:
    """Defuse a CSV cell for ","- and ";"-separated readers: an apostrophe before each formula
    start, at the cell's start and after every ";" or line break."""
    if isinstance(value, str):
        value = _INNER_FORMULA.sub(r"\1'", value)
    return defuse(value)


def _csv(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([defuse_csv(v) for v in header])
    writer.writerows([defuse_csv(v) for v in row] for row in rows)
    return buffer.getvalue().encode(CSV_ENCODING)


def table_csv(table: Table) -> bytes:
    """Return a table as CSV, UTF-8 with a byte order mark."""
    return _csv(
        [csv_title(c) for c in table.columns],
        [[csv_value(c, v) for c, v in zip(table.columns, row, strict=True)] for row in table.rows],
    )


def sheet_title(title: str, taken: set[str]) -> str:
    """Return a sheet name Excel accepts: at most 31 characters, no []:*?/\\, unique."""
    base = _SHEET_FORBIDDEN.sub(" ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" {n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _width(value: object) -> int:
    # CJK characters take about two Latin character widths in Excel's default font.
    text = str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def tables_xlsx(tables: Sequence[Table]) -> bytes:
    """Return an Excel workbook with one sheet per table: bold header, set widths, formats."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    taken: set[str] = set()
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(sheet_title(table.sheet, taken))
        sheet.append([defuse(c.title if c.kind != MONEY else csv_title(c)) for c in table.columns])
        for cell in sheet[1]:
            cell.font = bold
        for row in table.rows:
            sheet.append([_sheet_value(c, v) for c, v in zip(table.columns, row, strict=True)])
        for index, column in enumerate(table.columns, start=1):
            letter = get_column_letter(index)
            number_format = NUMBER_FORMATS.get(column.kind)
            if number_format:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = number_format
            longest = max([_width(column.title), *(_width(r[index - 1]) for r in table.rows)])
            sheet.column_dimensions[letter].width = min(60, max(8, longest + 2))
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def schedule_csv(rows: Sequence[ScheduleRow], timezone: str) -> bytes:
    """Return a facility's bookings as CSV, times in the facility's time zone."""
    zone = ZoneInfo(timezone)
    return _csv(
        [
            _("Equipment unit"),
            _("Start (%(tz)s)", tz=timezone),
            _("End (%(tz)s)", tz=timezone),
            _("Project"),
            _("Request"),
            _("Booking"),
        ],
        [
            [
                r.unit,
                r.start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                r.end.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                r.project,
                r.title,
                r.booking_id,
            ]
            for r in rows
        ],
    )
