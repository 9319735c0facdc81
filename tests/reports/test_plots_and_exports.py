"""Pictures and export files drawn from plain series and tables, without a database."""

from __future__ import annotations

import csv
import io
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from app.reports import exports, plots
from app.reports.report import HOURS, PERCENT, Column, Series, Table

SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(data: bytes) -> str:
    root = ElementTree.fromstring(data)
    assert root.tag == f"{SVG}svg"
    return " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


HEAT = Series(["液质联用仪", "Bioreactor"], ["2027-W09", "2027-W10"], [[0.4, None], [1.3, 0.0]])


def test_heatmap_writes_each_cell_and_clamps_nothing_in_its_label() -> None:
    texts = svg_texts(plots.heatmap_svg(HEAT))
    for label in ("液质联用仪", "Bioreactor", "2027-W09", "40%", "130%", "—", "0%"):
        assert label in texts


@pytest.mark.parametrize("draw", [plots.heatmap_svg, plots.bars_svg, plots.trend_svg])
def test_an_empty_period_draws_a_message_not_an_error(draw: object) -> None:
    assert callable(draw)
    assert "No data in this period" in svg_texts(draw(Series([], [], [])))


def test_labels_still_render_without_a_chinese_font(monkeypatch: pytest.MonkeyPatch) -> None:
    # filterwarnings=error would turn a "Glyph missing" warning into a failure here.
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    texts = svg_texts(plots.bars_svg(Series(["u"], ["苏州中试基地", "上海"], [[0.5, None]])))
    assert "苏州中试基地" in texts and "50%" in texts


def test_the_chinese_font_is_used_when_installed() -> None:
    if plots.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert plots.cjk_font() in str(plots.trend_svg(Series(["甲"], ["W1", "W2"], [[0.1, 0.2]])))


def test_alt_texts_carry_the_facility_figures() -> None:
    bars = Series(["u"], ["苏州中试基地"], [[0.4]])
    trend = Series(["苏州中试基地"], ["2027-W09", "2027-W10"], [[0.4, 0.1]])
    alt = plots.alt_texts(HEAT, bars, trend)
    assert "苏州中试基地 40%" in alt["facilities"]
    assert "2 equipment units" in alt["heatmap"] and "2027-W09 – 2027-W10" in alt["trend"]


TABLE = Table(
    "units",
    "Equipment units",
    "Utilisation per equipment unit",
    [
        Column("unit", "Equipment unit"),
        Column("h", "Booked hours", HOURS),
        Column("u", "Utilisation", PERCENT),
    ],
    [["液质联用仪", 18.0, 0.4], ["=1+1", 0.0, None]],
)


def test_csv_has_a_bom_percent_numbers_and_no_formulas() -> None:
    data = exports.table_csv(TABLE)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["Equipment unit", "Booked hours", "Utilisation (%)"],
        ["液质联用仪", "18.0", "40.0"],
        ["'=1+1", "0.0", ""],
    ]


HOSTILE = [
    "=1+1",
    "+SUM(A1)",
    "-2+3",
    "@cmd",
    "\t=1+1",
    "\r=1+1",
    'Pilot run;=HYPERLINK("http://x")',
    "Pilot run; @SUM(A1)",
    'Pilot run;"=1+1"',
    "Pilot run;\t-2+3",
    "Two lines\n=1+1",
    "Two lines\r\n+1",
    "a;b;c;=d",
]
FORMULA = ("=", "+", "-", "@")


def _starts_a_formula(field: str) -> bool:
    return field.lstrip(' \t\r\n"')[:1] in FORMULA


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_csv_cells_cannot_start_a_formula_in_comma_or_semicolon_locales(delimiter: str) -> None:
    table = Table(
        "t",
        "T",
        "T",
        [Column("a", "=HEADER()"), Column("b", "Request")],
        [[text, text] for text in HOSTILE],
    )
    text = exports.table_csv(table).decode("utf-8-sig")
    for data in (text, exports.schedule_csv([], "UTC").decode("utf-8-sig")):
        # A spreadsheet set to ";" splits at every ";" and reads each line break as a new row,
        # whatever the quotes around a cell written for ",".
        fields = [f for line in data.splitlines() for f in line.split(delimiter)]
        fields += [
            f
            for row in csv.reader(io.StringIO(data, newline=""), delimiter=delimiter)
            for f in row
        ]
        assert [f for f in fields if _starts_a_formula(f)] == []


def test_defused_csv_cells_keep_their_text() -> None:
    table = Table("t", "T", "T", [Column("a", "Request")], [[text] for text in HOSTILE])
    rows = list(csv.reader(io.StringIO(exports.table_csv(table).decode("utf-8-sig"))))
    # Only an apostrophe is added, which spreadsheets hide; nothing is dropped.
    assert [r[0].replace("'", "") for r in rows[1:]] == HOSTILE
    assert rows[1:4] == [["'=1+1"], ["'+SUM(A1)"], ["'-2+3"]]


def test_workbook_sheet_is_formatted_and_safe() -> None:
    book = load_workbook(io.BytesIO(exports.tables_xlsx([TABLE, TABLE])))
    assert book.sheetnames == ["Equipment units", "Equipment units 2"]
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == ["Equipment unit", "Booked hours", "Utilisation"]
    assert all(c.font.bold for c in sheet[1])
    assert sheet["C2"].value == 0.4 and sheet["C2"].number_format == "0.0%"
    assert sheet["A3"].value == "'=1+1" and sheet["A3"].data_type == "s"
    # Five CJK characters are about ten Latin widths, plus padding.
    assert sheet.column_dimensions["A"].width >= 12


@pytest.mark.parametrize(
    ("title", "expected"),
    [("Demand [2027/03]", "Demand  2027 03"), ("x" * 40, "x" * 31), ("???", "Sheet")],
)
def test_sheet_titles_follow_excel_rules(title: str, expected: str) -> None:
    assert exports.sheet_title(title, set()) == expected


def test_workbook_headers_are_never_formulas() -> None:
    table = Table("t", "T", "T", [Column("a", "=HEADER()")], [["=1+1"]])
    sheet = load_workbook(io.BytesIO(exports.tables_xlsx([table]))).worksheets[0]
    assert [(c.value, c.data_type) for c in sheet["A"]] == [("'=HEADER()", "s"), ("'=1+1", "s")]
