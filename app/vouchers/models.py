"""Innovation vouchers (科技创新券), what each charge drew from them, and the centre's claims.

A voucher is issued to one project by a bureau (the issuer); each charge at a facility it may be
spent on draws part of the charge from it, at most its share (the co-payment rule) and never
more than its balance. The balance is a column the database itself keeps non-negative, so two
check-outs drawing at once cannot overspend it: the second one's UPDATE fails its CHECK.

A claim gathers the voucher-paid draws of one issuer and period: what the centre submits to the
bureau to be reimbursed. Once a claim is submitted its draws are locked."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.dbtypes import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import Project, User
    from app.billing.models import Charge
    from app.catalog.models import Capability, Centre, Facility


class Voucher(db.Model):
    """One voucher of one project: issuer, number, amount, validity, share and balance."""

    __tablename__ = "vouchers"
    __table_args__ = (
        UniqueConstraint("issuer", "number", name="uq_vouchers_issuer_number"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("balance_fen >= 0", name="balance_not_negative"),
        CheckConstraint("balance_fen <= amount_fen", name="balance_within_amount"),
        CheckConstraint("share_percent BETWEEN 1 AND 100", name="share_percent_range"),
        CheckConstraint("valid_from <= valid_until", name="validity_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    # The bureau that issued it and will reimburse the centre, e.g. 苏州工业园区科技创新局.
    issuer: Mapped[str] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(60))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    balance_fen: Mapped[int] = mapped_column(BigInteger)
    # The share of each charge the voucher may pay; the project co-pays the rest.
    share_percent: Mapped[int] = mapped_column(default=100)
    # Inclusive, in the facility's local calendar: a charge counts on the day its use started.
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    project: Mapped[Project] = relationship()
    created_by: Mapped[User | None] = relationship()
    scopes: Mapped[list[VoucherScope]] = relationship(
        back_populates="voucher", cascade="all, delete-orphan"
    )
    draws: Mapped[list[VoucherDraw]] = relationship(back_populates="voucher")

    def __repr__(self) -> str:
        return f"<Voucher {self.issuer} {self.number} {self.balance_fen}/{self.amount_fen} fen>"


class VoucherScope(db.Model):
    """Where a voucher may be spent: a centre, a facility or a capability (exactly one).

    A voucher without scope rows may be spent at every facility."""

    __tablename__ = "voucher_scopes"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN centre_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN facility_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN capability_slug IS NULL THEN 0 ELSE 1 END) = 1",
            name="exactly_one_target",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), index=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), default=None)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), default=None)
    capability_slug: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("capabilities.slug"), default=None
    )

    voucher: Mapped[Voucher] = relationship(back_populates="scopes")
    centre: Mapped[Centre | None] = relationship()
    facility: Mapped[Facility | None] = relationship()
    capability: Mapped[Capability | None] = relationship()


class VoucherDraw(db.Model):
    """The part of one charge that one voucher pays; on a claim once the centre claims it."""

    __tablename__ = "voucher_draws"
    __table_args__ = (
        UniqueConstraint("voucher_id", "charge_id", name="uq_voucher_draws_voucher_charge"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), index=True)
    charge_id: Mapped[int] = mapped_column(ForeignKey("charges.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    voucher: Mapped[Voucher] = relationship(back_populates="draws")
    charge: Mapped[Charge] = relationship()
    claim: Mapped[Claim | None] = relationship(back_populates="draws")

    def __repr__(self) -> str:
        return f"<VoucherDraw voucher {self.voucher_id} charge {self.charge_id} {self.amount_fen}>"


class ClaimState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PAID = "paid"


class Claim(db.Model):
    """The centre's redemption claim to one issuer for one period: its voucher draws, totalled."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("issuer", "period_start", name="uq_claims_issuer_period"),
        CheckConstraint("period_start <= period_end", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    issuer: Mapped[str] = mapped_column(String(200))
    # Inclusive dates; a draw belongs to the period its charge's use started in.
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default=ClaimState.DRAFT.value)
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    draws: Mapped[list[VoucherDraw]] = relationship(back_populates="claim")

    def __repr__(self) -> str:
        return f"<Claim {self.number} {self.state} {self.total_fen} fen>"


# ---------------------------------------------------------------- the claim's lock
#
# The database itself keeps a submitted or paid claim as it was sent to the bureau: its issuer,
# period, number and total never change, its voucher draws are neither changed, removed nor
# added to, and its state only moves on from submitted to paid. A claim starts as a draft, is
# submitted with the total of its draws, and a draw is on one claim only (it never moves from
# one claim to another). The services in app.vouchers.claims say why first, in the reader's
# language; these triggers hold for every writer, raw SQL included. On PostgreSQL a draw's
# trigger reads its claim FOR SHARE, so a claim being submitted and a draw joining it
# concurrently wait for each other instead of both passing.
CLAIM_LOCKED_MESSAGE = "a submitted or paid claim and its voucher draws never change"
CLAIM_ORDER_MESSAGE = "a claim starts as a draft and is paid only after it is submitted"
CLAIM_TOTAL_MESSAGE = "a claim is submitted with the total of its voucher draws"
ONE_CLAIM_MESSAGE = "a voucher draw is on one claim only"
_LOCKED = "('submitted', 'paid')"
_CLAIM_KEPT = (
    "id",
    "number",
    "issuer",
    "period_start",
    "period_end",
    "total_fen",
    "created_at",
    "created_by_id",
    "submitted_at",
    "submitted_by_id",
)
_SQLITE_KEPT = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in _CLAIM_KEPT)
_POSTGRES_NEW = ", ".join(f"NEW.{c}" for c in _CLAIM_KEPT)
_POSTGRES_OLD = ", ".join(f"OLD.{c}" for c in _CLAIM_KEPT)
_SQLITE_DRAWS_SUM = (
    "(SELECT COALESCE(SUM(amount_fen), 0) FROM voucher_draws WHERE claim_id = OLD.id)"
)


def _sqlite_state(column: str) -> str:
    return f"(SELECT state FROM claims WHERE id = {column})"


CLAIM_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER claims_start_as_draft BEFORE INSERT ON claims "
        "WHEN NEW.state <> 'draft' "
        f"BEGIN SELECT RAISE(ABORT, '{CLAIM_ORDER_MESSAGE}'); END",
        "CREATE TRIGGER claims_state_order BEFORE UPDATE ON claims "
        "WHEN OLD.state = 'draft' AND NEW.state NOT IN ('draft', 'submitted') "
        f"BEGIN SELECT RAISE(ABORT, '{CLAIM_ORDER_MESSAGE}'); END",
        "CREATE TRIGGER claims_submitted_total BEFORE UPDATE ON claims "
        "WHEN OLD.state = 'draft' AND NEW.state = 'submitted' "
        f"AND NEW.total_fen IS NOT {_SQLITE_DRAWS_SUM} "
        f"BEGIN SELECT RAISE(ABORT, '{CLAIM_TOTAL_MESSAGE}'); END",
        "CREATE TRIGGER claims_locked BEFORE UPDATE ON claims "
        f"WHEN OLD.state IN {_LOCKED} AND NOT (OLD.state = 'submitted' AND NEW.state = 'paid' "
        f"AND {_SQLITE_KEPT}) "
        f"BEGIN SELECT RAISE(ABORT, '{CLAIM_LOCKED_MESSAGE}'); END",
        "CREATE TRIGGER voucher_draws_one_claim BEFORE UPDATE ON voucher_draws "
        "WHEN OLD.claim_id IS NOT NULL AND NEW.claim_id IS NOT NULL "
        "AND NEW.claim_id <> OLD.claim_id "
        f"BEGIN SELECT RAISE(ABORT, '{ONE_CLAIM_MESSAGE}'); END",
        "CREATE TRIGGER voucher_draws_claim_locked_update BEFORE UPDATE ON voucher_draws "
        f"WHEN {_sqlite_state('OLD.claim_id')} IN {_LOCKED} "
        f"OR (NEW.claim_id IS NOT OLD.claim_id AND {_sqlite_state('NEW.claim_id')} IN {_LOCKED}) "
        f"BEGIN SELECT RAISE(ABORT, '{CLAIM_LOCKED_MESSAGE}'); END",
        "CREATE TRIGGER voucher_draws_claim_locked_delete BEFORE DELETE ON voucher_draws "
        f"WHEN {_sqlite_state('OLD.claim_id')} IN {_LOCKED} "
        f"BEGIN SELECT RAISE(ABORT, '{CLAIM_LOCKED_MESSAGE}'); END",
        "CREATE TRIGGER voucher_draws_claim_locked_insert BEFORE INSERT ON voucher_draws "
        f"WHEN {_sqlite_state('NEW.claim_id')} IN {_LOCKED} "
        f"BEGIN SELECT RAISE(ABORT, '{CLAIM_LOCKED_MESSAGE}'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION refuse_locked_claim_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'INSERT' THEN "
        "  IF NEW.state <> 'draft' THEN "
        f"    RAISE EXCEPTION '{CLAIM_ORDER_MESSAGE}' "
        "USING ERRCODE = 'integrity_constraint_violation'; "
        "  END IF; "
        "  RETURN NEW; "
        "END IF; "
        "IF OLD.state = 'draft' THEN "
        "  IF NEW.state NOT IN ('draft', 'submitted') THEN "
        f"    RAISE EXCEPTION '{CLAIM_ORDER_MESSAGE}' "
        "USING ERRCODE = 'integrity_constraint_violation'; "
        "  END IF; "
        "  IF NEW.state = 'submitted' AND NEW.total_fen IS DISTINCT FROM "
        "(SELECT COALESCE(SUM(amount_fen), 0) FROM voucher_draws WHERE claim_id = OLD.id) THEN "
        f"    RAISE EXCEPTION '{CLAIM_TOTAL_MESSAGE}' "
        "USING ERRCODE = 'integrity_constraint_violation'; "
        "  END IF; "
        "  RETURN NEW; "
        "END IF; "
        "IF OLD.state = 'submitted' AND NEW.state = 'paid' "
        f"AND ({_POSTGRES_NEW}) IS NOT DISTINCT FROM ({_POSTGRES_OLD}) THEN "
        "  RETURN NEW; "
        "END IF; "
        f"RAISE EXCEPTION '{CLAIM_LOCKED_MESSAGE}' "
        "USING ERRCODE = 'integrity_constraint_violation'; "
        "END $$",
        "CREATE TRIGGER claims_locked BEFORE INSERT OR UPDATE ON claims "
        "FOR EACH ROW EXECUTE FUNCTION refuse_locked_claim_change()",
        "CREATE OR REPLACE FUNCTION refuse_locked_draw_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ DECLARE claim_state text; BEGIN "
        "IF TG_OP <> 'INSERT' AND OLD.claim_id IS NOT NULL THEN "
        "  SELECT state INTO claim_state FROM claims WHERE id = OLD.claim_id FOR SHARE; "
        f"  IF claim_state IN {_LOCKED} THEN "
        f"    RAISE EXCEPTION '{CLAIM_LOCKED_MESSAGE}' "
        "USING ERRCODE = 'integrity_constraint_violation'; "
        "  END IF; "
        "END IF; "
        "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; "
        "IF TG_OP = 'UPDATE' THEN "
        "  IF OLD.claim_id IS NOT NULL AND NEW.claim_id IS NOT NULL "
        "AND NEW.claim_id <> OLD.claim_id THEN "
        f"    RAISE EXCEPTION '{ONE_CLAIM_MESSAGE}' "
        "USING ERRCODE = 'integrity_constraint_violation'; "
        "  END IF; "
        "  IF NEW.claim_id IS NOT DISTINCT FROM OLD.claim_id THEN RETURN NEW; END IF; "
        "END IF; "
        "IF NEW.claim_id IS NOT NULL THEN "
        "  SELECT state INTO claim_state FROM claims WHERE id = NEW.claim_id FOR SHARE; "
        f"  IF claim_state IN {_LOCKED} THEN "
        f"    RAISE EXCEPTION '{CLAIM_LOCKED_MESSAGE}' "
        "USING ERRCODE = 'integrity_constraint_violation'; "
        "  END IF; "
        "END IF; "
        "RETURN NEW; "
        "END $$",
        "CREATE TRIGGER voucher_draws_claim_locked BEFORE INSERT OR UPDATE OR DELETE "
        "ON voucher_draws FOR EACH ROW EXECUTE FUNCTION refuse_locked_draw_change()",
    ],
}
CLAIM_TRIGGER_NAMES = {
    "sqlite": [
        ("claims_start_as_draft", "claims"),
        ("claims_state_order", "claims"),
        ("claims_submitted_total", "claims"),
        ("claims_locked", "claims"),
        ("voucher_draws_one_claim", "voucher_draws"),
        ("voucher_draws_claim_locked_update", "voucher_draws"),
        ("voucher_draws_claim_locked_delete", "voucher_draws"),
        ("voucher_draws_claim_locked_insert", "voucher_draws"),
        ("claims_locked_delete", "claims"),
    ],
    "postgresql": [
        ("claims_locked", "claims"),
        ("voucher_draws_claim_locked", "voucher_draws"),
        ("claims_locked_delete", "claims"),
    ],
}


# A draft claim may be discarded (deleted, its draws released first); a submitted or paid one
# is never deleted, whatever deletes it.
CLAIM_DELETE_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER claims_locked_delete BEFORE DELETE ON claims "
        f"WHEN OLD.state IN {_LOCKED} "
        f"BEGIN SELECT RAISE(ABORT, '{CLAIM_LOCKED_MESSAGE}'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION refuse_locked_claim_delete() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"IF OLD.state IN {_LOCKED} THEN "
        f"  RAISE EXCEPTION '{CLAIM_LOCKED_MESSAGE}' "
        "USING ERRCODE = 'integrity_constraint_violation'; "
        "END IF; "
        "RETURN OLD; "
        "END $$",
        "CREATE TRIGGER claims_locked_delete BEFORE DELETE ON claims "
        "FOR EACH ROW EXECUTE FUNCTION refuse_locked_claim_delete()",
    ],
}


def _create_claim_triggers(target: Any, connection: Any, **_: Any) -> None:
    dialect = connection.dialect.name
    for statement in CLAIM_TRIGGERS.get(dialect, []) + CLAIM_DELETE_TRIGGERS.get(dialect, []):
        connection.exec_driver_sql(statement)


# After voucher_draws, which create_all makes after the claims it refers to.
event.listen(VoucherDraw.__table__, "after_create", _create_claim_triggers)
