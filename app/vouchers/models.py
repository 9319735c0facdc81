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
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
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
