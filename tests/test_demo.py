"""The demo data loads once, changes nothing the second time, and congests its fortnight."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from app import demo
from app.errors import NotFound
from scheduler import first_come_first_served


@pytest.fixture
def catalogue(app: Any, db: Any) -> None:
    from app.catalog.sync import sync_catalogue

    sync_catalogue(app.config["FACILITIES_FILE"])


def _row_counts(db: Any) -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_demo_needs_the_catalogue(db: Any) -> None:
    with pytest.raises(NotFound, match="facilities sync"):
        demo.load()


def test_demo_loads_once_and_a_second_load_changes_nothing(catalogue: None, db: Any) -> None:
    first = demo.load()
    assert first.created["requests"] == len(demo.REQUESTS)
    assert first.created["published bookings"] == len(demo.PUBLISHED)
    assert first.created["accounts"] == len(demo.PEOPLE)
    assert (first.created["checked-out bookings"], first.created["no-shows"]) == (4, 2)
    assert first.created["statements"] == 1
    assert first.created["vouchers"] == 1
    assert first.created["voucher claims"] == 1
    assert first.created["needs"] == len(demo.NEEDS)
    assert first.created["broker roles"] == 3
    before = _row_counts(db)
    second = demo.load()
    assert second.created == {}
    assert str(second).endswith("no changes")
    assert _row_counts(db) == before


def test_demo_accounts_log_in_with_the_documented_passwords(
    catalogue: None, client: Any, db: Any
) -> None:
    demo.load()
    for email, password in (
        ("admin@pilotslot.example", demo.ADMIN_PASSWORD),
        ("li.na@jbbio.example", demo.DEMO_PASSWORD),
        ("chen.jing@njbio.example", demo.DEMO_PASSWORD),
    ):
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, email
        client.post("/logout")


def test_first_come_first_served_turns_away_about_a_fifth_of_the_weight(
    catalogue: None, db: Any
) -> None:
    from app.booking.problems import build_problem
    from app.catalog.models import Facility

    demo.load()
    requested = turned_away = 0.0
    for slug in ("njbio-poc", "njict-platform"):
        facility = db.session.scalars(select(Facility).where(Facility.slug == slug)).one()
        problem, _index = build_problem(facility, now=datetime.now(UTC))
        pinned = {p.request for p in problem.pinned}
        weights = {r.id: r.weight for r in problem.requests if r.id not in pinned}
        result = first_come_first_served(problem)
        lost = sum(weights.get(u.request, 0) for u in result.unscheduled)
        facility_share = lost / sum(weights.values())
        assert 0.1 <= facility_share <= 0.4, (slug, facility_share)
        requested += sum(weights.values())
        turned_away += lost
    assert 0.15 <= turned_away / requested <= 0.3


def test_demo_statement_deducts_the_district_voucher_which_is_partly_spent(
    catalogue: None, db: Any
) -> None:
    from app.billing.demo import VOUCHER_ISSUER
    from app.billing.models import Statement
    from app.vouchers.models import Voucher
    from app.vouchers.services import statement_deductions

    demo.load()
    voucher = db.session.scalar(select(Voucher).where(Voucher.issuer == VOUCHER_ISSUER))
    statement = db.session.scalar(select(Statement))
    assert voucher is not None and statement is not None
    assert 0 < voucher.balance_fen < voucher.amount_fen
    assert statement.voucher_deductions_fen == voucher.amount_fen - voucher.balance_fen
    assert statement.payable_fen == statement.subtotal_fen - statement.voucher_deductions_fen
    assert [d.voucher.id for d in statement_deductions(statement)] == [voucher.id]


def test_demo_claim_to_the_district_bureau_lists_the_voucher_paid_charges(
    catalogue: None, db: Any
) -> None:
    from app.billing.demo import VOUCHER_ISSUER
    from app.vouchers.models import Claim, ClaimState, Voucher

    demo.load()
    voucher = db.session.scalar(select(Voucher).where(Voucher.issuer == VOUCHER_ISSUER))
    claim = db.session.scalar(select(Claim).where(Claim.issuer == VOUCHER_ISSUER))
    assert voucher is not None and claim is not None
    assert claim.state == ClaimState.DRAFT.value
    assert claim.total_fen == voucher.amount_fen - voucher.balance_fen > 0
    assert {d.voucher_id for d in claim.draws} == {voucher.id}
    assert sum(d.amount_fen for d in claim.draws) == claim.total_fen
