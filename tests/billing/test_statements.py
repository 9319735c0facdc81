"""Rate cards by customer kind, charges from usage or booked time, statements that never
change once issued, and the notes that correct them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.billing import services
from app.billing.models import Charge, Statement
from app.booking.models import AuditEvent
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.usage import services as usage
from tests.usage.conftest import MONDAY_9, Site, build_site

MARCH = date(2027, 3, 1)
APRIL_2 = MONDAY_9 + timedelta(days=32)


def used(site: Site, start: Any, minutes: int, **kw: Any) -> Charge:
    booking = site.book(start, hours=max(1, minutes / 60), **kw)
    usage.check_in(site.manager, booking.id, now=start)
    usage.check_out(site.manager, booking.id, now=start + timedelta(minutes=minutes))
    charge = db.session.scalar(select(Charge).where(Charge.booking_id == booking.id))
    assert charge is not None
    return charge


def test_the_rate_is_the_projects_customer_kinds(site: Site) -> None:
    site.project.customer_kind = "university"
    db.session.commit()
    charge = used(site, MONDAY_9, 60)
    assert (charge.customer_kind, charge.hourly_fen, charge.amount_fen) == (
        "university",
        12_000,
        17_000,
    )


def test_unattended_steps_pay_no_surcharge_and_short_ones_the_minimum(site: Site) -> None:
    booking = site.book(MONDAY_9)
    booking.step.attended = False
    db.session.commit()
    usage.check_in(site.manager, booking.id, now=MONDAY_9)
    usage.check_out(site.manager, booking.id, now=MONDAY_9 + timedelta(minutes=10))
    charge = db.session.scalar(select(Charge).where(Charge.booking_id == booking.id))
    assert charge is not None and charge.surcharge_fen == 0
    # 10 minutes at 100.00/h is 16.67, below the 30.00 minimum.
    assert charge.amount_fen == 3_000 and charge.minimum_applied


def test_changeover_is_billed_when_the_facility_says_so(db: Any) -> None:
    site = build_site(bill_changeover=True)
    charge = used(site, MONDAY_9, 60)
    assert charge.minutes == 90 and charge.amount_fen == 22_500


def test_a_booked_time_facility_bills_ended_bookings_without_usage(db: Any) -> None:
    site = build_site(charge_basis="booked")
    site.book(MONDAY_9, hours=3)
    found = services.draft(site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2)
    assert [(c.basis, c.minutes, c.amount_fen) for c in found.charges] == [("booked", 180, 45_000)]
    statement = services.issue_statement(
        site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2
    )
    assert statement.subtotal_fen == 45_000
    assert db.session.scalar(select(Charge.statement_id)) == statement.id


def test_a_unit_without_a_card_charges_its_catalogue_rate_to_everyone(site: Site) -> None:
    db.session.delete(db.session.get(services.RateCard, site.unit.id))
    db.session.commit()
    charge = used(site, MONDAY_9, 60)
    assert (charge.hourly_fen, charge.surcharge_fen, charge.amount_fen) == (10_000, 0, 10_000)


def test_the_month_statement_lists_the_charges_and_totals_them(site: Site) -> None:
    first = used(site, MONDAY_9, 90)
    second = used(site, MONDAY_9 + timedelta(days=7), 60)
    used(site, MONDAY_9 + timedelta(days=31), 60)  # April: not on March's statement

    with pytest.raises(Conflict):
        services.issue_statement(
            site.manager, site.facility.id, site.project.id, MARCH, now=MONDAY_9
        )
    statement = services.issue_statement(
        site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2
    )

    assert statement.number == f"USAGE-BIO-202703-P{site.project.id}"
    assert [line.charge_id for line in statement.lines] == [first.id, second.id]
    assert statement.subtotal_fen == 22_500 + 15_000
    assert statement.voucher_deductions_fen == 0
    assert statement.payable_fen == statement.subtotal_fen
    db.session.expire_all()
    assert db.session.get(Charge, first.id).statement_id == statement.id  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        services.issue_statement(
            site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2
        )
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "statement.issue"))
    assert event is not None and event.details["payable_fen"] == 37_500


def test_an_empty_month_issues_nothing(site: Site) -> None:
    with pytest.raises(Conflict):
        services.issue_statement(
            site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2
        )
    assert db.session.scalar(select(Statement)) is None


def test_only_the_facilitys_managers_issue_statements(site: Site) -> None:
    used(site, MONDAY_9, 60)
    for stranger in (site.member, site.other_manager):
        with pytest.raises(NotFound):
            services.issue_statement(
                stranger, site.facility.id, site.project.id, MARCH, now=APRIL_2
            )


def _issued(site: Site) -> Statement:
    used(site, MONDAY_9, 60)
    return services.issue_statement(
        site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2
    )


def test_an_issued_statement_never_changes_through_the_app(site: Site) -> None:
    statement = _issued(site)
    statement.payable_fen = 1
    with pytest.raises(Conflict):
        db.session.flush()
    db.session.rollback()
    line = db.session.get(Statement, statement.id).lines[0]  # type: ignore[union-attr]
    db.session.delete(line)
    with pytest.raises(Conflict):
        db.session.flush()
    db.session.rollback()
    charge = db.session.scalar(select(Charge))
    assert charge is not None
    charge.amount_fen = 1
    with pytest.raises(Conflict):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE statements SET payable_fen = 1",
        "UPDATE statement_lines SET amount_fen = 1",
        "UPDATE charges SET amount_fen = 1",
    ],
)
def test_the_database_refuses_to_change_an_issued_statement(site: Site, sql: str) -> None:
    _issued(site)
    with pytest.raises(DBAPIError, match="never change"):
        db.session.execute(text(sql))
    db.session.rollback()


def test_an_unbilled_charge_may_still_change(site: Site) -> None:
    used(site, MONDAY_9, 60)
    db.session.execute(text("UPDATE charges SET amount_fen = 1"))
    db.session.commit()


def test_usage_on_an_issued_statement_is_corrected_by_a_note_not_in_place(site: Site) -> None:
    statement = _issued(site)
    booking_id = statement.lines[0].booking_id
    assert booking_id is not None
    with pytest.raises(Conflict, match="credit or debit note"):
        usage.correct_usage(
            site.manager,
            booking_id,
            checked_in_at=MONDAY_9,
            checked_out_at=MONDAY_9 + timedelta(minutes=30),
            reason="left early",
            now=APRIL_2,
        )


def test_notes_reference_the_statement_they_correct(site: Site) -> None:
    statement = _issued(site)
    credit = services.issue_note(
        site.manager, statement.id, kind="credit_note", amount_fen=5_000, reason="Pump fault"
    )
    debit = services.issue_note(
        site.manager, statement.id, kind="debit_note", amount_fen=2_000, reason="Extra sample"
    )
    assert credit.reference_id == statement.id and credit.payable_fen == -5_000
    assert credit.number == f"{statement.number}-CN1"
    assert debit.number == f"{statement.number}-DN2" and debit.payable_fen == 2_000
    assert [n.id for n in services.notes_of(statement)] == [credit.id, debit.id]
    with pytest.raises(Conflict):
        services.issue_note(
            site.manager, credit.id, kind="credit_note", amount_fen=1, reason="again"
        )
    with pytest.raises(ValidationError) as bad:
        services.issue_note(
            site.manager, statement.id, kind="credit_note", amount_fen=0, reason=""
        )
    assert set(bad.value.errors) == {"amount", "reason"}
    with pytest.raises(NotFound):
        services.issue_note(
            site.member, statement.id, kind="credit_note", amount_fen=100, reason="mine"
        )


def test_a_startup_sees_only_its_own_statements_and_a_manager_only_their_facilities(
    db: Any,
) -> None:
    site = build_site()
    statement = _issued(site)
    assert services.list_statements(site.member) == [statement]
    assert services.list_statements(site.manager) == [statement]
    for stranger in (site.outsider, site.other_manager):
        assert services.list_statements(stranger) == []
        with pytest.raises(NotFound):
            services.get_statement(stranger, statement.id)


def test_rate_cards_are_for_administrators_and_validated_per_field(site: Site) -> None:
    admin = site.manager
    with pytest.raises(NotFound):
        services.update_rate_card(admin, site.unit.id, {"startup_fen": 1})
    admin.is_admin = True
    db.session.commit()
    with pytest.raises(ValidationError) as bad:
        services.rate_values({name: "1" for name in services.RATE_FIELDS} | {"startup_fen": "x"})
    assert list(bad.value.errors) == ["startup_fen"]
    values = services.rate_values({name: "12.34" for name in services.RATE_FIELDS})
    card = services.update_rate_card(admin, site.unit.id, values)
    assert card.startup_fen == 1_234 and card.source == "admin"
    services.set_customer_kind(admin, site.project.id, "external")
    assert site.project.customer_kind == "external"
    with pytest.raises(ValidationError):
        services.set_customer_kind(admin, site.project.id, "friend")
