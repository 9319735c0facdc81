"""Revenue, voucher use and no-show rates per facility and month, from real rows: charges made by
check-out, a statement issued, a voucher draw, a no-show released by its job, a cancellation.

Usage Bio Centre (Asia/Shanghai), rates of tests.usage.conftest (100.00 CNY/h to incubated
startups, 50.00 CNY/h assisted surcharge):
- October 2026: 60 min used (150.00, billed on October's statement), and one no-show;
- November 2026: 120 min used (300.00, not billed, 120.00 paid by a voucher), and one booking
  cancelled before it started.
The other facility: October, 60 min on a unit without a card (100.00 CNY/h), no voucher."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from app.accounts.models import User
from app.billing import services as billing
from app.billing.models import Charge
from app.extensions import db
from app.reports import metrics
from app.usage import services as usage
from app.vouchers.models import Voucher, VoucherDraw
from tests import factories
from tests.usage.conftest import Site, build_site

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD = {"start": "2026-10-01", "end": "2026-11-30"}


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@dataclass
class Month:
    site: Site
    admin: User


def _used(site: Site, start: datetime, minutes: int, staff: User, **kw: Any) -> Charge:
    booking = site.book(start, hours=3, **kw)
    usage.check_in(staff, booking.id, now=start)
    usage.check_out(staff, booking.id, now=start + timedelta(minutes=minutes))
    charge = db.session.scalar(select(Charge).where(Charge.booking_id == booking.id))
    assert charge is not None
    return charge


@pytest.fixture
def months(db: Any) -> Month:
    site = build_site()
    _used(site, local("2026-10-12 10:00"), 60, site.manager)
    missed = site.book(local("2026-10-13 10:00"), hours=2)
    assert usage.release_no_show(missed.id, local("2026-10-13 11:00")) is not None
    billing.issue_statement(
        site.manager, site.facility.id, site.project.id, date(2026, 10, 1), now=local("2026-11-02")
    )
    november = _used(site, local("2026-11-10 10:00"), 120, site.manager)
    site.book(local("2026-11-11 10:00"), hours=2, status="cancelled")
    voucher = Voucher(
        project_id=site.project.id,
        issuer="苏州工业园区科技创新局",
        number="KC-2026-007",
        amount_fen=50_000,
        balance_fen=38_000,
        share_percent=40,
        valid_from=date(2026, 1, 1),
        valid_until=date(2026, 12, 31),
    )
    db.session.add(voucher)
    db.session.flush()
    db.session.add(VoucherDraw(voucher_id=voucher.id, charge_id=november.id, amount_fen=12_000))
    plain = factories.make_equipment(
        site.other_facility, slug="usage-other-oven", name_en="Oven", hourly_rate_cny=100
    )
    _used(
        site,
        local("2026-10-20 10:00"),
        60,
        site.other_manager,
        unit=plain,
        project=site.other_project,
    )
    admin = factories.make_user(is_admin=True)
    return Month(site, admin)


def _revenue(client: FlaskClient, **args: str) -> Any:
    response = client.get("/api/v1/reports/revenue", query_string={**PERIOD, **args})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["table"]


def _rows(table: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["facility"], r["month"]): r for r in table["rows"]}


def test_the_manager_reads_revenue_vouchers_and_no_shows_per_month(
    client: FlaskClient, login: Any, months: Month
) -> None:
    login(months.site.manager)
    table = _revenue(client)
    kinds = {c["key"]: c["kind"] for c in table["columns"]}
    assert kinds["revenue"] == "money" and kinds["no_show_rate"] == "percent"
    rows = _rows(table)
    assert set(rows) == {("Usage Bio Centre", "2026-10"), ("Usage Bio Centre", "2026-11")}
    october = rows[("Usage Bio Centre", "2026-10")]
    assert (october["charges"], october["revenue"], october["billed"], october["unbilled"]) == (
        1,
        15_000,
        15_000,
        0,
    )
    assert (october["voucher_use"], october["bookings_started"], october["no_shows"]) == (0, 2, 1)
    assert october["no_show_rate"] == 0.5
    november = rows[("Usage Bio Centre", "2026-11")]
    assert (november["revenue"], november["billed"], november["unbilled"]) == (30_000, 0, 30_000)
    assert november["voucher_use"] == 12_000
    # The cancelled booking never started; the one used did, and came.
    assert (november["bookings_started"], november["no_shows"], november["no_show_rate"]) == (
        1,
        0,
        0.0,
    )


def test_the_administrator_sees_every_facility_and_a_total(
    client: FlaskClient, login: Any, months: Month
) -> None:
    login(months.admin)
    rows = _rows(_revenue(client))
    mine = ("Usage Bio Centre", "All facilities")
    other = [r for (name, _m), r in rows.items() if name not in mine]
    assert sum(r["revenue"] for r in other) == 10_000
    assert all(r["voucher_use"] == 0 for r in other)
    total = rows[("All facilities", "")]
    assert (total["revenue"], total["billed"], total["voucher_use"]) == (55_000, 15_000, 12_000)
    assert (total["bookings_started"], total["no_shows"]) == (4, 1)


def test_another_facilitys_manager_sees_none_of_it(
    client: FlaskClient, login: Any, months: Month
) -> None:
    login(months.site.other_manager)
    rows = _rows(_revenue(client))
    assert "Usage Bio Centre" not in {name for name, _m in rows}
    assert sum(r["revenue"] for r in rows.values()) == 10_000
    for path in ("/api/v1/reports/revenue", "/reports/export/revenue.csv"):
        response = client.get(path, query_string={**PERIOD, "facility": "usage-bio"})
        assert response.status_code == 404, path


def test_startup_members_read_no_revenue(client: FlaskClient, login: Any, months: Month) -> None:
    login(months.site.member)
    for path in (
        "/api/v1/reports/revenue",
        "/reports/export/revenue.csv",
        "/reports/plots/revenue.svg",
    ):
        assert client.get(path, query_string=PERIOD).status_code == 404, path


def test_csv_and_workbook_write_yuan_exactly(
    client: FlaskClient, login: Any, months: Month
) -> None:
    login(months.site.manager)
    response = client.get("/reports/export/revenue.csv", query_string=PERIOD)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    november = next(r for r in rows if r["Month"] == "2026-11")
    assert (november["Revenue (CNY)"], november["Paid by vouchers (CNY)"]) == ("300.00", "120.00")
    assert november["No-show rate (%)"] == "0.0"

    book = load_workbook(
        io.BytesIO(client.get("/reports/export/report.xlsx", query_string=PERIOD).get_data())
    )
    sheet = book["Revenue"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Facility", "Month", "Charges", "Revenue (CNY)"]
    values = {row[1]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert Decimal(str(values["2026-10"][3])) == Decimal("150.00")
    assert sheet.cell(row=2, column=4).number_format == "#,##0.00"


def test_the_page_and_picture_show_the_months_in_both_languages(
    client: FlaskClient, login: Any, months: Month
) -> None:
    login(months.site.manager)
    page = client.get("/reports/", query_string=PERIOD).get_data(as_text=True)
    assert "Revenue, vouchers and no-shows" in page and "300.00" in page
    assert "/reports/plots/revenue.svg" in page
    picture = client.get("/reports/plots/revenue.svg", query_string=PERIOD)
    assert picture.status_code == 200 and picture.mimetype == "image/svg+xml"
    svg = picture.get_data(as_text=True)
    assert "Usage Bio Centre · 2026-11" in svg and "Revenue (CNY)" in svg

    chinese = client.get("/reports/", query_string=PERIOD, headers={"Accept-Language": "zh"})
    text = chinese.get_data(as_text=True)
    assert "收入、创新券与爽约" in text and "爽约率" in text


# ---------------------------------------------------------------- the pure computation

UTC_MONTHS = [
    metrics.Month("2026-10", local("2026-10-01 00:00"), local("2026-11-01 00:00")),
    metrics.Month("2026-11", local("2026-11-01 00:00"), local("2026-11-15 00:00")),
]


def _booking(start: str, *, active: bool = True, attended: bool | None = None) -> Any:
    moment = local(start)
    return metrics.BookingFact(
        id=1,
        unit_id=1,
        facility_id=7,
        project_id=1,
        request_id=1,
        start=moment,
        end=moment + timedelta(hours=1),
        active=active,
        attended=attended,
        created_at=moment,
        manual=False,
    )


def test_revenue_counts_each_charge_and_booking_in_the_month_it_started() -> None:
    charges = [
        metrics.ChargeFact(7, local("2026-10-31 23:59"), 1_000, True, 400),
        metrics.ChargeFact(7, local("2026-11-01 00:00"), 2_000, False),
        # After the period's clipped end: in no row.
        metrics.ChargeFact(7, local("2026-11-20 10:00"), 9_000, False),
    ]
    bookings = [
        _booking("2026-10-05 09:00", attended=True),
        _booking("2026-10-06 09:00", active=False, attended=False),
        _booking("2026-10-07 09:00", active=False),
        _booking("2026-11-10 09:00"),
    ]
    found = metrics.revenue(charges, bookings, UTC_MONTHS, now=local("2026-11-10 08:00"))
    october, november = found[(7, "2026-10")], found[(7, "2026-11")]
    assert (october.revenue_fen, october.billed_fen, october.voucher_fen) == (1_000, 1_000, 400)
    assert (october.started, october.no_shows, october.no_show_rate) == (2, 1, 0.5)
    assert (november.revenue_fen, november.unbilled_fen) == (2_000, 2_000)
    # November's booking starts after `now`: not started, so no rate yet.
    assert (november.started, november.no_show_rate) == (0, None)


def test_months_cut_the_period_at_local_month_starts() -> None:
    cut = metrics.months(
        (local("2026-10-20 00:00"), local("2026-12-03 00:00")),
        [local("2026-10-01 00:00"), local("2026-11-01 00:00"), local("2026-12-01 00:00")],
    )
    assert [(m.label, m.start.day, m.end.day) for m in cut] == [
        ("2026-10", 20, 1),
        ("2026-11", 1, 1),
        ("2026-12", 1, 3),
    ]
