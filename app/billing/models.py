"""Rate cards, charges, and issued statements with their credit and debit notes.

Money is integer fen everywhere; app.billing.money holds the one rounding rule."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.dbtypes import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import Project, User
    from app.booking.models import Booking
    from app.catalog.models import Equipment, Facility


class CustomerKind(enum.StrEnum):
    """Who a project is to the centre; rate cards price each kind separately."""

    INCUBATED = "incubated"
    STARTUP = "startup"
    UNIVERSITY = "university"
    EXTERNAL = "external"


class ChargeBasis(enum.StrEnum):
    """What a facility bills: the checked-in-to-out time, or the booked time."""

    ACTUAL = "actual"
    BOOKED = "booked"


class StatementKind(enum.StrEnum):
    STATEMENT = "statement"
    CREDIT_NOTE = "credit_note"
    DEBIT_NOTE = "debit_note"


class RateCard(db.Model):
    """A unit's prices: an hourly rate per customer kind, a surcharge, a minimum charge."""

    __tablename__ = "rate_cards"

    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), primary_key=True)
    incubated_fen: Mapped[int] = mapped_column(default=0)
    startup_fen: Mapped[int] = mapped_column(default=0)
    university_fen: Mapped[int] = mapped_column(default=0)
    external_fen: Mapped[int] = mapped_column(default=0)
    # Per hour, added for an attended step (an operator of the facility runs the session).
    assisted_surcharge_fen: Mapped[int] = mapped_column(default=0)
    # Per booking: a charge below it is raised to it.
    minimum_charge_fen: Mapped[int] = mapped_column(default=0)
    # "catalogue": facilities.yaml owns the card; "admin": an administrator edited it, and the
    # sync leaves it alone from then on.
    source: Mapped[str] = mapped_column(String(20), default="catalogue")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    equipment: Mapped[Equipment] = relationship()

    def hourly_fen(self, kind: str) -> int:
        """Return the hourly rate for a customer kind."""
        return int(getattr(self, f"{CustomerKind(kind).value}_fen"))

    def __repr__(self) -> str:
        return f"<RateCard unit {self.equipment_id} {self.source}>"


class Charge(db.Model):
    """What one booking costs its project; on an issued statement once billed."""

    __tablename__ = "charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"))
    customer_kind: Mapped[str] = mapped_column(String(20))
    basis: Mapped[str] = mapped_column(String(10))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column()
    hourly_fen: Mapped[int] = mapped_column()
    surcharge_fen: Mapped[int] = mapped_column(default=0)
    amount_fen: Mapped[int] = mapped_column()
    minimum_applied: Mapped[bool] = mapped_column(default=False)
    statement_id: Mapped[int | None] = mapped_column(
        ForeignKey("statements.id"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    booking: Mapped[Booking] = relationship()
    equipment: Mapped[Equipment] = relationship()

    def __repr__(self) -> str:
        return f"<Charge booking {self.booking_id} {self.amount_fen} fen>"


class SpendingCap(db.Model):
    """What a project means to spend at most in a period, stated by its members (or the
    administrator); the solver keeps each plan within it (app.billing.budgets)."""

    __tablename__ = "spending_caps"
    __table_args__ = (
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        CheckConstraint("period_start <= period_end", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # Inclusive local dates, read in the time zone of the facility that solves; the periods of
    # one project never overlap (app.billing.caps refuses it).
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    project: Mapped[Project] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return (
            f"<SpendingCap project {self.project_id} {self.period_start}..{self.period_end} "
            f"{self.amount_fen} fen>"
        )


# One monthly statement per facility, project and month; notes may be many.
ONE_STATEMENT_SQL = "kind = 'statement'"


class Statement(db.Model):
    """An issued monthly statement, or a credit or debit note that corrects one. Immutable."""

    __tablename__ = "statements"
    __table_args__ = (
        Index(
            "uq_statements_one_per_month",
            "facility_id",
            "project_id",
            "month",
            unique=True,
            sqlite_where=text(ONE_STATEMENT_SQL),
            postgresql_where=text(ONE_STATEMENT_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    # The first day of the billed month (the referenced statement's, for a note).
    month: Mapped[date] = mapped_column(Date)
    customer_kind: Mapped[str] = mapped_column(String(20))
    subtotal_fen: Mapped[int] = mapped_column()
    voucher_deductions_fen: Mapped[int] = mapped_column(default=0)
    # Signed: a credit note's is negative.
    payable_fen: Mapped[int] = mapped_column()
    reference_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"), default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    facility: Mapped[Facility] = relationship()
    project: Mapped[Project] = relationship()
    issued_by: Mapped[User | None] = relationship()
    reference: Mapped[Statement | None] = relationship(remote_side=[id])
    lines: Mapped[list[StatementLine]] = relationship(
        back_populates="statement", order_by="StatementLine.position"
    )

    def __repr__(self) -> str:
        return f"<Statement {self.number} {self.kind}>"


class StatementLine(db.Model):
    """One billed booking of a statement, or the one amount of a note; a copy, never live."""

    __tablename__ = "statement_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    position: Mapped[int] = mapped_column()
    charge_id: Mapped[int | None] = mapped_column(ForeignKey("charges.id"), default=None)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), default=None)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"), default=None)
    start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    minutes: Mapped[int] = mapped_column(default=0)
    hourly_fen: Mapped[int] = mapped_column(default=0)
    surcharge_fen: Mapped[int] = mapped_column(default=0)
    amount_fen: Mapped[int] = mapped_column()
    description: Mapped[str] = mapped_column(Text, default="")

    statement: Mapped[Statement] = relationship(back_populates="lines")
    equipment: Mapped[Equipment | None] = relationship()

    def __repr__(self) -> str:
        return f"<StatementLine {self.statement_id}.{self.position} {self.amount_fen} fen>"


# The database itself refuses to change an issued statement, its lines, or a billed charge
# (the ORM guard in app.billing.services says why first); deleting is left to the ORM guard so
# that tests and restores may still empty tables.
IMMUTABLE_MESSAGE = "an issued statement and its billed charges never change"
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER statements_issued_immutable BEFORE UPDATE ON statements "
    f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE}'); END",
    "CREATE TRIGGER statement_lines_issued_immutable BEFORE UPDATE ON statement_lines "
    f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE}'); END",
    "CREATE TRIGGER charges_billed_immutable BEFORE UPDATE ON charges "
    f"WHEN OLD.statement_id IS NOT NULL BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE}'); END",
]
_POSTGRES_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION refuse_issued_statement_change() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION '{IMMUTABLE_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation'; "
    "END $$",
    "CREATE TRIGGER statements_issued_immutable BEFORE UPDATE ON statements "
    "FOR EACH ROW EXECUTE FUNCTION refuse_issued_statement_change()",
    "CREATE TRIGGER statement_lines_issued_immutable BEFORE UPDATE ON statement_lines "
    "FOR EACH ROW EXECUTE FUNCTION refuse_issued_statement_change()",
    "CREATE TRIGGER charges_billed_immutable BEFORE UPDATE ON charges "
    "FOR EACH ROW WHEN (OLD.statement_id IS NOT NULL) "
    "EXECUTE FUNCTION refuse_issued_statement_change()",
]


def _create_triggers(target: Any, connection: Any, **_: Any) -> None:
    statements = {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRES_TRIGGERS}
    for statement in statements.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)


# After the last of the three tables exists (create_all makes them in dependency order).
event.listen(StatementLine.__table__, "after_create", _create_triggers)
