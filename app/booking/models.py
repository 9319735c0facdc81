"""Requests and their steps, solve runs, proposals, bookings and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, func, text
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.dbtypes import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import Project, User
    from app.catalog.models import Equipment, Facility


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    PROPOSED = "proposed"
    BOOKED = "booked"
    UNPLACED = "unplaced"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


class BookingStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class ProposalStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    DISCARDED = "discarded"
    EXPIRED = "expired"


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


# The states of a run that still occupies its facility (the partial unique index's condition).
UNFINISHED_RUNS_SQL = "status IN ('queued', 'running')"


step_equipment = Table(
    "step_equipment",
    db.metadata,
    Column("step_id", ForeignKey("request_steps.id"), primary_key=True),
    Column("equipment_id", ForeignKey("equipment.id"), primary_key=True),
)


class BookingRequest(db.Model):
    """What a project asks for: one or more ordered steps inside a window, with a weight."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    priority_reason: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[int] = mapped_column(default=1)
    earliest_start: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(
        String(20), default=RequestStatus.PENDING.value, index=True
    )
    unplaced_reason: Mapped[str] = mapped_column(Text, default="")
    # The same reason as {"code", "args", "units"} (app/booking/reasons.py), written in the
    # reader's language when shown; None on rows from before reasons had codes.
    unplaced_reason_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    project: Mapped[Project] = relationship()
    created_by: Mapped[User] = relationship()
    steps: Mapped[list[RequestStep]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestStep.position"
    )
    bookings: Mapped[list[Booking]] = relationship(back_populates="request")

    @property
    def is_campaign(self) -> bool:
        return len(self.steps) > 1

    def __repr__(self) -> str:
        return f"<BookingRequest {self.id} {self.status}>"


class RequestStep(db.Model):
    """One use of one unit inside a request: by capability or from a list of units."""

    __tablename__ = "request_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    position: Mapped[int] = mapped_column()
    capability: Mapped[str | None] = mapped_column(String(64), default=None)
    # With a capability: optionally only units of this facility.
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), default=None)
    duration_minutes: Mapped[int] = mapped_column()
    attended: Mapped[bool] = mapped_column(default=True)
    min_lag_minutes: Mapped[int] = mapped_column(default=0)
    max_lag_minutes: Mapped[int | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(String(300), default="")

    request: Mapped[BookingRequest] = relationship(back_populates="steps")
    facility: Mapped[Facility | None] = relationship()
    units: Mapped[list[Equipment]] = relationship(secondary=step_equipment)

    def __repr__(self) -> str:
        return f"<RequestStep {self.request_id}.{self.position}>"


class SolveRun(db.Model):
    """One run of the solver over the pending requests of a facility; its state lives here."""

    __tablename__ = "solve_runs"
    __table_args__ = (
        # One solve per facility at a time, enforced by the database: two managers (or a
        # manager and the scheduler) starting one together cannot both insert an unfinished run.
        Index(
            "uq_solve_runs_one_unfinished",
            "facility_id",
            unique=True,
            sqlite_where=text(UNFINISHED_RUNS_SQL),
            postgresql_where=text(UNFINISHED_RUNS_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.QUEUED.value, index=True)
    time_limit_seconds: Mapped[float] = mapped_column(default=30.0)
    # The solver's seed and work limit (None: the wall clock ended the search, and a replay of
    # the stored problem file may give another plan); see proposals.replay_command.
    seed: Mapped[int] = mapped_column(default=0)
    work_limit: Mapped[float | None] = mapped_column(default=None)
    # {"objective": .., "bound": .., "elapsed": .., "history": [[t, obj, bound], ...]}
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    problem_json: Mapped[str | None] = mapped_column(Text, default=None)
    result_json: Mapped[str | None] = mapped_column(Text, default=None)
    error: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    worker: Mapped[str] = mapped_column(String(100), default="")
    # 1, or 2 once a worker died mid-solve and the run went back on the queue (queue.py).
    attempt: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    facility: Mapped[Facility] = relationship()
    proposal: Mapped[Proposal | None] = relationship(back_populates="run", uselist=False)

    def __repr__(self) -> str:
        return f"<SolveRun {self.id} {self.status}>"


class Proposal(db.Model):
    """The solver's suggested schedule for a facility, awaiting a manager."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("solve_runs.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=ProposalStatus.DRAFT.value)
    # accepted weight and hours, utilisation, and the same for first come first served.
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    facility: Mapped[Facility] = relationship()
    # None on a decided proposal: the scheduler decided (auto-publish, expiry).
    decided_by: Mapped[User | None] = relationship()
    run: Mapped[SolveRun] = relationship(back_populates="proposal")
    items: Mapped[list[ProposalItem]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="ProposalItem.start"
    )
    unplaced: Mapped[list[ProposalUnplaced]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Proposal {self.id} {self.status}>"


class ProposalItem(db.Model):
    """A step placed by a proposal (a future booking)."""

    __tablename__ = "proposal_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    step_id: Mapped[int] = mapped_column(ForeignKey("request_steps.id"))
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    # Already a published booking that the solve kept pinned.
    pinned: Mapped[bool] = mapped_column(default=False)

    proposal: Mapped[Proposal] = relationship(back_populates="items")
    request: Mapped[BookingRequest] = relationship()
    step: Mapped[RequestStep] = relationship()
    equipment: Mapped[Equipment] = relationship()


class ProposalUnplaced(db.Model):
    """A request a proposal could not place, and why."""

    __tablename__ = "proposal_unplaced"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    reason: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="competition")
    # {"code", "args", "units"} as on BookingRequest.unplaced_reason_detail.
    reason_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    proposal: Mapped[Proposal] = relationship(back_populates="unplaced")
    request: Mapped[BookingRequest] = relationship()


class Booking(db.Model):
    """An approved, published step on a unit. Pinned in every later solve unless released."""

    __tablename__ = "bookings"
    __table_args__ = (
        # The last line of defence against double booking: on PostgreSQL no two active
        # bookings may share a unit's lane over overlapping time. A unit of capacity N has
        # lanes 0..N-1.
        ExcludeConstraint(
            (Column("equipment_id"), "="),
            (Column("lane"), "="),
            (func.tstzrange(Column("start"), Column("end")), "&&"),
            where="status = 'active'",
            using="gist",
            name="ex_bookings_no_overlap",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("request_steps.id"), index=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    lane: Mapped[int] = mapped_column(default=0)
    start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=BookingStatus.ACTIVE.value)
    source: Mapped[str] = mapped_column(String(20), default="proposal")
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), default=None)
    pinned: Mapped[bool] = mapped_column(default=True)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    release_reason: Mapped[str] = mapped_column(Text, default="")
    # Incremented on every change of time, equipment or status (iCalendar SEQUENCE).
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    attended: Mapped[bool | None] = mapped_column(default=None)

    request: Mapped[BookingRequest] = relationship(back_populates="bookings")
    step: Mapped[RequestStep] = relationship()
    equipment: Mapped[Equipment] = relationship()

    def __repr__(self) -> str:
        return f"<Booking {self.id} {self.equipment_id} {self.start:%Y-%m-%d %H:%M} {self.status}>"


class AuditEvent(db.Model):
    """Who changed what and when: requests, solves, approvals, releases, cancellations."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int | None] = mapped_column(default=None)
    facility_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities.id"), default=None, index=True
    )
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEvent {self.action} {self.object_type}:{self.object_id}>"
