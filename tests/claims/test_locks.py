"""The database itself locks a submitted or paid claim and its voucher draws, refuses a claim's
state out of order, a submission whose total is not its draws', and a draw moving between
claims: raw SQL is refused on SQLite and PostgreSQL alike."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.vouchers import claims
from app.vouchers.models import CLAIM_TRIGGERS, Claim, VoucherDraw
from tests import factories
from tests.claims.conftest import BUREAU, MARCH, MARCH_31, ClaimSite

LOCKED = "never change"
APRIL = date(2027, 4, 1)


def _draft(cs: ClaimSite) -> Claim:
    cs.draw(cs.use(factories.at("2027-03-01 01:00"), 60), 1_000)
    cs.draw(cs.use(factories.at("2027-03-02 01:00"), 60), 2_000)
    cs.bill(MARCH)
    return claims.prepare_claim(cs.admin, BUREAU, MARCH, MARCH_31)


def _refused(sql: str, match: str, **params: object) -> None:
    with pytest.raises(DBAPIError, match=match):
        db.session.execute(text(sql), params)
    db.session.rollback()


LOCKED_CHANGES = [
    "UPDATE claims SET total_fen = 1",
    "UPDATE claims SET issuer = 'another bureau'",
    "UPDATE claims SET period_end = period_start",
    "UPDATE claims SET number = 'VC-X'",
    "UPDATE claims SET state = 'draft'",
    "UPDATE voucher_draws SET amount_fen = 1",
    "UPDATE voucher_draws SET claim_id = NULL",
    "DELETE FROM voucher_draws",
]


@pytest.mark.parametrize("sql", LOCKED_CHANGES)
def test_the_database_refuses_to_change_a_submitted_claim(cs: ClaimSite, sql: str) -> None:
    claims.submit_claim(cs.admin, _draft(cs).id)
    _refused(sql, LOCKED)


@pytest.mark.parametrize("sql", [*LOCKED_CHANGES, "UPDATE claims SET state = 'submitted'"])
def test_the_database_refuses_to_change_a_paid_claim(cs: ClaimSite, sql: str) -> None:
    claim = claims.submit_claim(cs.admin, _draft(cs).id)
    claims.mark_paid(cs.admin, claim.id)
    _refused(sql, LOCKED)


def test_the_database_refuses_a_new_line_on_a_submitted_claim(cs: ClaimSite) -> None:
    claim = claims.submit_claim(cs.admin, _draft(cs).id)
    extra = cs.use(factories.at("2027-04-05 01:00"), 60)
    cs.bill(APRIL)
    _refused(
        "INSERT INTO voucher_draws (voucher_id, charge_id, amount_fen, claim_id, created_at) "
        "VALUES (:voucher, :charge, 100, :claim, CURRENT_TIMESTAMP)",
        LOCKED,
        voucher=cs.voucher.id,
        charge=extra.id,
        claim=claim.id,
    )
    unclaimed = cs.draw(extra, 100)
    _refused(
        "UPDATE voucher_draws SET claim_id = :claim WHERE id = :id",
        LOCKED,
        claim=claim.id,
        id=unclaimed.id,
    )


def test_the_database_lets_only_submitted_become_paid(cs: ClaimSite) -> None:
    claim = claims.submit_claim(cs.admin, _draft(cs).id)
    db.session.execute(
        text("UPDATE claims SET state = 'paid', paid_at = CURRENT_TIMESTAMP WHERE id = :id"),
        {"id": claim.id},
    )
    db.session.commit()
    assert db.session.scalar(select(Claim.state)) == "paid"


def test_the_database_keeps_a_claims_states_in_order(cs: ClaimSite) -> None:
    claim = _draft(cs)
    _refused("UPDATE claims SET state = 'paid'", "paid only after it is submitted")
    _refused(
        "INSERT INTO claims (number, issuer, period_start, period_end, state, total_fen, "
        "created_at) VALUES ('VC-Y', 'x', '2027-05-01', '2027-05-31', 'submitted', 0, "
        "CURRENT_TIMESTAMP)",
        "starts as a draft",
    )
    _refused("UPDATE claims SET state = 'submitted', total_fen = 1", "total of its voucher draws")
    db.session.execute(
        text("UPDATE claims SET state = 'submitted' WHERE id = :id"), {"id": claim.id}
    )
    db.session.commit()


def test_a_draft_claims_draws_may_still_change(cs: ClaimSite) -> None:
    _draft(cs)
    db.session.execute(text("UPDATE voucher_draws SET amount_fen = amount_fen + 1"))
    db.session.execute(text("UPDATE claims SET total_fen = 3002"))
    db.session.commit()


def test_the_database_refuses_to_move_a_draw_to_another_claim(cs: ClaimSite) -> None:
    march = _draft(cs)
    cs.draw(cs.use(factories.at("2027-04-01 01:00"), 60), 500)
    cs.bill(factories.at("2027-04-01 01:00").date().replace(day=1))
    april = claims.prepare_claim(
        cs.admin,
        BUREAU,
        factories.at("2027-04-01 01:00").date(),
        MARCH_31.replace(month=4, day=30),
    )
    draw = db.session.scalar(select(VoucherDraw).where(VoucherDraw.claim_id == march.id))
    assert draw is not None
    _refused(
        "UPDATE voucher_draws SET claim_id = :april WHERE id = :id",
        "on one claim only",
        april=april.id,
        id=draw.id,
    )


def test_the_migration_creates_the_models_triggers() -> None:
    path = next(Path(__file__).parents[2].glob("migrations/versions/claim01a_*.py"))
    spec = importlib.util.spec_from_file_location("claim01a", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    def words(statements: list[str]) -> list[str]:
        return [" ".join(s.split()) for s in statements]

    for dialect, statements in CLAIM_TRIGGERS.items():
        assert words(migration.TRIGGERS[dialect]) == words(statements)
