"""A known data set: two facilities in Asia/Shanghai, open 09:00–18:00 Monday to Friday.

The period is 2027-03-01 (Monday, ISO week 9) to 2027-03-14 (Sunday, week 10). Every figure
the tests expect is worked out by hand from the bookings below."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.accounts.models import Project, User
from app.booking.models import Booking, BookingRequest, Proposal, ProposalItem
from app.catalog.models import Equipment, Facility, MaintenanceWindow
from app.extensions import db
from tests import factories

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD = {"start": "2027-03-01", "end": "2027-03-14"}


def local(text: str) -> datetime:
    """Parse '2027-03-01 09:00' as Shanghai time."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@dataclass
class Known:
    a: Facility
    b: Facility
    a1: Equipment
    a2: Equipment
    b1: Equipment
    p1: Project
    p2: Project
    p3: Project
    manager_a: User
    manager_b: User
    admin: User
    startup: User
    requests: dict[str, BookingRequest]


def _request(
    project: Project,
    unit: Equipment,
    author: User,
    *,
    title: str,
    window: tuple[str, str],
    hours: float,
    created: str,
    weight: int = 1,
    status: str = "booked",
) -> BookingRequest:
    return factories.make_request(
        project,
        [unit],
        by=author,
        durations=[int(hours * 60)],
        title=title,
        weight=weight,
        earliest_start=local(window[0]),
        deadline=local(window[1]),
        status=status,
        created_at=local(created),
    )


def _book(
    req: BookingRequest,
    unit: Equipment,
    start: str,
    end: str,
    *,
    created: str,
    status: str = "active",
    **overrides: Any,
) -> Booking:
    return factories.make_booking(
        None,
        unit,
        local(start),
        local(end),
        request=req,
        status=status,
        created_at=local(created),
        cancelled_at=local(created) if status == "cancelled" else None,
        **overrides,
    )


@pytest.fixture
def known(make_facility: Any, make_equipment: Any, make_user: Any, make_project: Any) -> Known:
    a = make_facility(slug="fac-a", name_zh="苏州中试基地", name_en="Suzhou pilot base")
    b = make_facility(slug="fac-b", name_zh="上海概念验证中心", name_en="Shanghai PoC centre")
    a1 = make_equipment(
        a, slug="a1", name_zh="液质联用仪", name_en="LC-MS", capabilities=("lc-ms",)
    )
    a2 = make_equipment(
        a,
        slug="a2",
        name_zh="生物反应器",
        name_en="Bioreactor",
        capacity=2,
        capabilities=("bioreactor", "lc-ms"),
    )
    b1 = make_equipment(
        b, slug="b1", name_zh="暗室", name_en="Anechoic chamber", capabilities=("emc",)
    )
    p1 = make_project(name="Alpha Bio")
    p2 = make_project(name="Beta Devices")
    p3 = make_project(name="Gamma Chips")
    startup = make_user(projects=(p1,))
    manager_a = make_user(manages=(a,))
    manager_b = make_user(manages=(b,))
    admin = make_user(is_admin=True)
    db.session.add(
        MaintenanceWindow(
            equipment=a1,
            start=local("2027-03-10 09:00"),
            end=local("2027-03-10 18:00"),
            reason_zh="离子源清洗",
            reason_en="Ion source cleaning",
        )
    )
    window = ("2027-03-01 00:00", "2027-03-20 00:00")
    r: dict[str, BookingRequest] = {}
    # a1, week 9: Monday and Tuesday, 9 h each = 18 h of 45 open hours (40 %).
    r["mon"] = _request(
        p1,
        a1,
        startup,
        title="Monday run",
        window=window,
        hours=9,
        created="2027-02-27 09:00",
        weight=2,
    )
    _book(r["mon"], a1, "2027-03-01 09:00", "2027-03-01 18:00", created="2027-02-27 19:00")
    r["tue"] = _request(
        p2, a1, startup, title="Tuesday run", window=window, hours=9, created="2027-02-28 09:00"
    )
    _book(r["tue"], a1, "2027-03-02 09:00", "2027-03-02 18:00", created="2027-03-01 05:00")
    # a1, week 10: a 3 h no-show on Monday, 4 h on Thursday, a cancelled 3 h on Friday;
    # Wednesday is maintenance, so 36 open hours.
    r["noshow"] = _request(
        p1,
        a1,
        startup,
        title='=HYPERLINK("x")',
        window=window,
        hours=3,
        created="2027-03-01 10:00",
    )
    _book(
        r["noshow"],
        a1,
        "2027-03-08 09:00",
        "2027-03-08 12:00",
        created="2027-03-02 16:00",
        attended=False,
    )
    r["thu"] = _request(
        p2,
        a1,
        startup,
        title="Thursday run",
        window=window,
        hours=4,
        created="2027-03-02 10:00",
        weight=3,
    )
    _book(
        r["thu"],
        a1,
        "2027-03-11 09:00",
        "2027-03-11 13:00",
        created="2027-03-03 22:00",
        attended=True,
    )
    r["cancelled"] = _request(
        p1,
        a1,
        startup,
        title="Cancelled run",
        window=window,
        hours=3,
        created="2027-03-02 11:00",
        status="cancelled",
    )
    _book(
        r["cancelled"],
        a1,
        "2027-03-12 09:00",
        "2027-03-12 12:00",
        created="2027-03-02 12:00",
        status="cancelled",
    )
    # a2 (capacity 2), week 9: both lanes all Monday = 18 h of 2 × 45.
    r["lane0"] = _request(
        p3, a2, startup, title="Lane zero", window=window, hours=9, created="2027-02-20 09:00"
    )
    _book(r["lane0"], a2, "2027-03-01 09:00", "2027-03-01 18:00", created="2027-02-21 09:00")
    r["lane1"] = _request(
        p2, a2, startup, title="Lane one", window=window, hours=9, created="2027-02-20 09:00"
    )
    _book(
        r["lane1"],
        a2,
        "2027-03-01 09:00",
        "2027-03-01 18:00",
        created="2027-02-21 09:00",
        lane=1,
        source="manual",
    )
    # Asked for but never booked, and withdrawn (left out of demand).
    r["pending"] = _request(
        p3,
        a2,
        startup,
        title="Waiting run",
        window=window,
        hours=5,
        created="2027-03-05 09:00",
        weight=4,
        status="pending",
    )
    r["withdrawn"] = _request(
        p3,
        a2,
        startup,
        title="Withdrawn run",
        window=window,
        hours=7,
        created="2027-03-05 09:00",
        weight=5,
        status="withdrawn",
    )
    # b1: 2 h on Wednesday of week 9.
    r["b"] = _request(
        p3, b1, startup, title="Chamber test", window=window, hours=2, created="2027-02-25 09:00"
    )
    _book(r["b"], b1, "2027-03-03 10:00", "2027-03-03 12:00", created="2027-02-26 09:00")
    db.session.flush()
    # A's latest proposal placed Monday and Thursday; first come, first served placed Monday.
    run, old_run, b_run = factories.make_run(a), factories.make_run(a), factories.make_run(b)
    old = Proposal(
        facility=a,
        run_id=old_run.id,
        status="approved",
        metrics={},
        created_at=local("2027-02-20 09:00"),
    )
    latest = Proposal(
        facility=a,
        run_id=run.id,
        status="approved",
        created_at=local("2027-02-27 18:00"),
        metrics={"fcfs": {"accepted_weight": 2, "accepted_hours": 9.0, "accepted_requests": 1}},
    )
    latest.items = [
        ProposalItem(
            request=r["mon"],
            step=r["mon"].steps[0],
            equipment=a1,
            start=local("2027-03-01 09:00"),
            end=local("2027-03-01 18:00"),
        ),
        ProposalItem(
            request=r["thu"],
            step=r["thu"].steps[0],
            equipment=a1,
            start=local("2027-03-11 09:00"),
            end=local("2027-03-11 13:00"),
        ),
    ]
    b_proposal = Proposal(
        facility=b,
        run_id=b_run.id,
        status="draft",
        metrics={},
        created_at=local("2027-02-26 08:00"),
    )
    db.session.add_all([old, latest, b_proposal])
    db.session.commit()
    return Known(a, b, a1, a2, b1, p1, p2, p3, manager_a, manager_b, admin, startup, r)
