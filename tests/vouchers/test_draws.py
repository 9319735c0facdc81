"""Charges draw vouchers down: earliest expiry first, at most each voucher's share, never
above its balance, only where its scope and validity allow; rewritten charges give their
draws back first, billed ones never change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.billing import services as billing
from app.billing.models import ChargeBasis
from app.errors import Conflict
from app.extensions import db
from app.usage import services as usage
from app.vouchers import services as vouchers
from tests import factories
from tests.billing.test_statements import APRIL_2, MARCH, used
from tests.usage.conftest import MONDAY_9, Site, build_site
from tests.vouchers.conftest import balance, capabilities, draws, make_voucher

# An hour of the site's unit costs its incubated project 150.00 CNY (100.00 + 50.00 assisted).
HOUR_FEN = 15_000


def test_the_earliest_expiring_voucher_pays_first(site: Site) -> None:
    later = make_voucher(site, amount="100", valid_until="2027-12-31")
    sooner = make_voucher(site, amount="100", valid_until="2027-06-30")
    charge = used(site, MONDAY_9, 60)
    assert draws(charge) == {sooner.id: 10_000, later.id: 5_000}
    assert (balance(sooner), balance(later)) == (0, 5_000)


def test_vouchers_expiring_the_same_day_draw_by_lower_id(site: Site) -> None:
    first = make_voucher(site, amount="100")
    second = make_voucher(site, amount="100")
    charge = used(site, MONDAY_9, 60)
    assert draws(charge) == {first.id: 10_000, second.id: 5_000}


def test_a_voucher_pays_at_most_its_share_and_the_project_co_pays(site: Site) -> None:
    voucher = make_voucher(site, share_percent="70")
    charge = used(site, MONDAY_9, 60)
    assert draws(charge) == {voucher.id: 10_500}
    assert balance(voucher) == 100_000 - 10_500


def test_the_share_rounds_down_to_the_fen(site: Site) -> None:
    voucher = make_voucher(site, share_percent="33")
    charge = used(site, MONDAY_9, 61)
    assert charge.amount_fen == 15_250
    assert draws(charge) == {voucher.id: 5_032}


def test_shares_of_several_vouchers_never_add_up_beyond_the_largest(site: Site) -> None:
    small = make_voucher(site, share_percent="30", valid_until="2027-06-30")
    large = make_voucher(site, share_percent="50")
    charge = used(site, MONDAY_9, 60)
    # 30 % from the one expiring first, then only up to 50 % of the charge in all.
    assert draws(charge) == {small.id: 4_500, large.id: 3_000}


def test_a_voucher_never_pays_more_than_its_balance(site: Site) -> None:
    voucher = make_voucher(site, amount="40")
    first = used(site, MONDAY_9, 60)
    second = used(site, MONDAY_9 + timedelta(days=1), 60)
    assert draws(first) == {voucher.id: 4_000} and draws(second) == {}
    assert balance(voucher) == 0


def test_the_database_refuses_a_negative_balance(site: Site) -> None:
    voucher = make_voucher(site, amount="10")
    with pytest.raises(IntegrityError):
        db.session.execute(
            text("UPDATE vouchers SET balance_fen = balance_fen - 1001 WHERE id = :id"),
            {"id": voucher.id},
        )
        db.session.flush()
    db.session.rollback()
    assert balance(voucher) == 1_000


def test_vouchers_for_another_facility_centre_capability_or_project_are_not_drawn(
    site: Site,
) -> None:
    make_voucher(site, facilities=[str(site.other_facility.id)])
    make_voucher(site, centres=[str(site.other_facility.centre_id)])
    make_voucher(site, capabilities=["sem"])
    make_voucher(site, project_id=str(site.other_project.id))
    charge = used(site, MONDAY_9, 60)
    assert draws(charge) == {}


def test_vouchers_for_the_facility_its_centre_or_the_units_capability_are_drawn(
    site: Site,
) -> None:
    by_facility = make_voucher(site, amount="10", facilities=[str(site.facility.id)])
    by_centre = make_voucher(site, amount="10", centres=[str(site.facility.centre_id)])
    by_capability = make_voucher(site, amount="10", capabilities=["sem", "lc-ms"])
    anywhere = make_voucher(site, amount="10")
    charge = used(site, MONDAY_9, 60)
    assert draws(charge) == {
        by_facility.id: 1_000,
        by_centre.id: 1_000,
        by_capability.id: 1_000,
        anywhere.id: 1_000,
    }


def test_validity_counts_the_local_day_the_use_started(site: Site) -> None:
    # 00:30 on 1 March in Shanghai is still 28 February in UTC.
    start = factories.at("2027-02-28 16:30")
    make_voucher(site, valid_from="2027-01-01", valid_until="2027-02-28")
    make_voucher(site, valid_from="2027-03-02", valid_until="2027-03-31")
    starting = make_voucher(site, valid_from="2027-03-01", valid_until="2027-03-01")
    charge = used(site, start, 60)
    assert draws(charge) == {starting.id: HOUR_FEN}


def test_a_corrected_charge_returns_its_draws_and_draws_again(site: Site) -> None:
    voucher = make_voucher(site, amount="200")
    booking = site.book(MONDAY_9, hours=2)
    usage.check_in(site.manager, booking.id, now=MONDAY_9)
    usage.check_out(site.manager, booking.id, now=MONDAY_9 + timedelta(minutes=60))
    assert balance(voucher) == 20_000 - HOUR_FEN
    # A voucher expiring sooner, recorded since: the rewritten charge draws it first.
    sooner = make_voucher(site, amount="50", valid_until="2027-03-31")
    usage.correct_usage(
        site.manager,
        booking.id,
        checked_in_at=MONDAY_9,
        checked_out_at=MONDAY_9 + timedelta(minutes=30),
        reason="Left early.",
        now=MONDAY_9 + timedelta(hours=3),
    )
    charge = billing._existing(booking)
    assert charge is not None and charge.amount_fen == 7_500
    assert draws(charge) == {sooner.id: 5_000, voucher.id: 2_500}
    assert (balance(sooner), balance(voucher)) == (0, 17_500)


def test_a_billed_charges_draws_never_change(site: Site) -> None:
    voucher = make_voucher(site, amount="100")
    charge = used(site, MONDAY_9, 60)
    billing.issue_statement(site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2)
    for change in (vouchers.return_draws, vouchers.draw_charge, vouchers.redraw_charge):
        with pytest.raises(Conflict):
            change(charge)
        db.session.rollback()
    with pytest.raises(Conflict):
        usage.correct_usage(
            site.manager,
            charge.booking_id,
            checked_in_at=MONDAY_9,
            checked_out_at=MONDAY_9 + timedelta(minutes=10),
            reason="Wrong times.",
            now=APRIL_2,
        )
    db.session.rollback()
    assert draws(charge) == {voucher.id: 10_000} and balance(voucher) == 0


def test_a_credit_note_leaves_voucher_money_alone(site: Site) -> None:
    voucher = make_voucher(site, amount="100")
    charge = used(site, MONDAY_9, 60)
    statement = billing.issue_statement(
        site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2
    )
    note = billing.issue_note(
        site.manager, statement.id, kind="credit_note", amount_fen=5_000, reason="Goodwill."
    )
    assert note.voucher_deductions_fen == 0 and note.payable_fen == -5_000
    assert draws(charge) == {voucher.id: 10_000} and balance(voucher) == 0


def test_the_statement_deducts_what_the_vouchers_paid(site: Site) -> None:
    half = make_voucher(site, amount="100", share_percent="50")
    used(site, MONDAY_9, 60)
    used(site, MONDAY_9 + timedelta(days=1), 90)
    found = billing.draft(site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2)
    assert found.voucher_deductions_fen == 10_000
    statement = billing.issue_statement(
        site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2
    )
    # 150.00 + 225.00; the voucher paid 75.00, then the 25.00 it had left.
    assert (statement.subtotal_fen, statement.voucher_deductions_fen, statement.payable_fen) == (
        37_500,
        10_000,
        27_500,
    )
    assert [(d.voucher.id, d.amount_fen) for d in vouchers.statement_deductions(statement)] == [
        (half.id, 10_000)
    ]


def test_booked_time_charges_draw_when_the_statement_is_issued(db: Any) -> None:
    capabilities()
    site = build_site(charge_basis=ChargeBasis.BOOKED.value)
    voucher = make_voucher(site, amount="100")
    site.book(MONDAY_9, hours=3)
    assert balance(voucher) == 10_000
    statement = billing.issue_statement(
        site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2
    )
    assert statement.subtotal_fen == 45_000 and statement.voucher_deductions_fen == 10_000
    assert statement.payable_fen == 35_000 and balance(voucher) == 0
