"""Demo data for usage and billing: last month's bookings of the LC-MS, checked in and out, two
no-shows, an innovation voucher of the Jiangbei New Area that pays part of the antibody
startup's charges, and the month's statement for that startup, issued with the deduction."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.accounts.models import Project, User
from app.billing import services as billing
from app.booking import bookings as booking_service
from app.booking.models import BookingRequest
from app.catalog.models import Equipment
from app.extensions import db
from app.usage import services as usage
from app.vouchers.models import Voucher, VoucherScope

UNIT = "njbio-lcms-1"
USED_TITLE = "Last month's titre assays"
MISSED_TITLE = "Last month's serum panel"
# (day after the month's first Monday, start, hours); used ones are checked in 5 minutes late
# and out 10 minutes early.
USED = ((0, "10:00", 2), (1, "10:00", 3), (2, "14:00", 2), (7, "10:00", 4))
MISSED = ((3, "10:00", 2), (8, "14:00", 2))
# The district bureau's voucher: 5,000.00 CNY, half of each charge at the unit's facility.
VOUCHER_ISSUER = "南京市江北新区科技创新局"
VOUCHER_AMOUNT_FEN = 500_000
VOUCHER_SHARE = 50


class Report(Protocol):
    def add(self, kind: str) -> None: ...


def _first_monday_of_last_month(today: date) -> date:
    first = today.replace(day=1) - timedelta(days=1)
    first = first.replace(day=1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def load_last_month(
    today: date,
    zone: str,
    units: dict[str, Equipment],
    used_by: Project,
    missed_by: Project,
    manager: User,
    report: Report,
) -> None:
    """Create last month's usage, two no-shows and one issued statement, once."""
    if db.session.scalar(select(BookingRequest.id).where(BookingRequest.title == USED_TITLE)):
        return
    unit = units[UNIT]
    monday = _first_monday_of_last_month(today)
    db.session.add(
        Voucher(
            project_id=used_by.id,
            issuer=VOUCHER_ISSUER,
            number=f"JBXQ-KJCXQ-{monday.year}-0137",
            amount_fen=VOUCHER_AMOUNT_FEN,
            balance_fen=VOUCHER_AMOUNT_FEN,
            share_percent=VOUCHER_SHARE,
            valid_from=monday.replace(day=1),
            valid_until=date(monday.year + 1, monday.month, 1) - timedelta(days=1),
            note=f"江北新区{monday.year}年度科技创新券（第二批）",
            scopes=[VoucherScope(facility_id=unit.facility_id)],
        )
    )
    db.session.commit()
    report.add("vouchers")

    def at(day: int, clock: str) -> datetime:
        hour, minute = map(int, clock.split(":"))
        return datetime.combine(monday + timedelta(days=day), time(hour, minute), ZoneInfo(zone))

    for day, clock, hours in USED:
        start = at(day, clock)
        booking = booking_service.manual_booking(
            manager,
            project_id=used_by.id,
            equipment_id=unit.id,
            start=start,
            end=start + timedelta(hours=hours),
            title=USED_TITLE,
        )
        usage.check_in(manager, booking.id, now=start + timedelta(minutes=5))
        usage.check_out(
            manager, booking.id, now=start + timedelta(hours=hours) - timedelta(minutes=10)
        )
        report.add("checked-out bookings")
    for day, clock, hours in MISSED:
        start = at(day, clock)
        booking = booking_service.manual_booking(
            manager,
            project_id=missed_by.id,
            equipment_id=unit.id,
            start=start,
            end=start + timedelta(hours=hours),
            title=MISSED_TITLE,
        )
        grace = unit.facility.no_show_grace_minutes
        usage.release_no_show(booking.id, start + timedelta(minutes=grace))
        report.add("no-shows")
    billing.issue_statement(manager, unit.facility_id, used_by.id, monday.replace(day=1))
    report.add("statements")
