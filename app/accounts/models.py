"""People and teams: users, projects (startups), memberships, facility managers, training."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.dbtypes import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.catalog.models import Centre, Equipment, Facility

facility_managers = Table(
    "facility_managers",
    db.metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("facility_id", ForeignKey("facilities.id"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(300))
    locale: Mapped[str | None] = mapped_column(String(10), default=None)
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    memberships: Mapped[list[ProjectMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    managed_facilities: Mapped[list[Facility]] = relationship(
        secondary=facility_managers, back_populates="managers"
    )
    trainings: Mapped[list[Training]] = relationship(
        back_populates="user", cascade="all, delete-orphan", foreign_keys="Training.user_id"
    )
    broker_assignments: Mapped[list[BrokerAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def project_ids(self) -> set[int]:
        return {m.project_id for m in self.memberships}

    @property
    def facility_ids(self) -> set[int]:
        return {f.id for f in self.managed_facilities}

    @property
    def is_manager(self) -> bool:
        return bool(self.managed_facilities)

    @property
    def is_broker(self) -> bool:
        return bool(self.broker_assignments)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Project(db.Model):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    origin: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # Who the project is to the centre, for rate cards (app.billing.models.CustomerKind);
    # set by the administrator.
    customer_kind: Mapped[str] = mapped_column(String(20), default="incubated")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[ProjectMembership]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )

    @property
    def members(self) -> list[User]:
        return [m.user for m in self.memberships]

    def __repr__(self) -> str:
        return f"<Project {self.name}>"


class ProjectMembership(db.Model):
    __tablename__ = "project_memberships"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), default="member")

    user: Mapped[User] = relationship(back_populates="memberships")
    project: Mapped[Project] = relationship(back_populates="memberships")


class Training(db.Model):
    """A user is trained (and allowed) to use an equipment unit that requires training."""

    __tablename__ = "trainings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), primary_key=True)
    trained_on: Mapped[date] = mapped_column()
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="trainings", foreign_keys=[user_id])
    equipment: Mapped[Equipment] = relationship()


class ApiToken(db.Model):
    """A personal access token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """One logged-in browser session; the cookie carries its secret, only its SHA-256 is stored.

    The session opens pages only while its row exists: logging out deletes the row, so a copy
    of the cookie taken before opens nothing afterwards."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<UserSession {self.id} of user {self.user_id}>"


class BrokerAssignment(db.Model):
    """A technology broker serves the needs of one centre, or of every centre (region-wide)."""

    __tablename__ = "broker_assignments"
    __table_args__ = (UniqueConstraint("user_id", "centre_id", name="uq_broker_centre"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # None: region-wide, every centre.
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="broker_assignments")
    centre: Mapped[Centre | None] = relationship()

    def __repr__(self) -> str:
        return f"<BrokerAssignment {self.user_id} {self.centre_id or 'region'}>"
