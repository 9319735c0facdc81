"""Centres, facilities, equipment units and their maintenance windows."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.dbtypes import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User


class FacilityKind(enum.StrEnum):
    PROOF_OF_CONCEPT_CENTRE = "proof_of_concept_centre"
    PILOT_TEST_BASE = "pilot_test_base"
    PUBLIC_TECHNOLOGY_PLATFORM = "public_technology_platform"


class Direction(enum.StrEnum):
    BIOMEDICINE = "biomedicine"
    MEDICAL_DEVICES = "medical_devices"
    INFORMATION_COMMUNICATION = "information_communication"
    INTEGRATED_CIRCUITS = "integrated_circuits"
    ADVANCED_MATERIALS = "advanced_materials"
    NEW_ENERGY = "new_energy"
    ENVIRONMENTAL = "environmental"
    MARINE = "marine"


# A project may hold at most this share of any unit's bookable time in a solve (fair share);
# the facility's setting is a whole percent in this range, or None for no limit.
FAIR_SHARE_MIN_PERCENT = 1
FAIR_SHARE_MAX_PERCENT = 100
# The no-show weight setting: percent of weight per recent no-show, and what "recent" is.
NO_SHOW_PENALTY_MIN_PERCENT = 1
NO_SHOW_PENALTY_MAX_PERCENT = 90
NO_SHOW_WEIGHT_DAYS = 90


class EquipmentStatus(enum.StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class Centre(db.Model):
    __tablename__ = "centres"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))

    facilities: Mapped[list[Facility]] = relationship(back_populates="centre")

    def __repr__(self) -> str:
        return f"<Centre {self.slug}>"


class Facility(db.Model):
    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"))
    kind: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    city_zh: Mapped[str] = mapped_column(String(100))
    city_en: Mapped[str] = mapped_column(String(100))
    district_zh: Mapped[str] = mapped_column(String(100), default="")
    district_en: Mapped[str] = mapped_column(String(100), default="")
    address_zh: Mapped[str] = mapped_column(String(300), default="")
    address_en: Mapped[str] = mapped_column(String(300), default="")
    # [{"name_zh": "中国药科大学", "name_en": "China Pharmaceutical University"}]
    host_institutions: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # {"mon": [["08:30", "17:30"]], ...}; a missing day is closed.
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # [{"from": "2027-02-06", "to": "2027-02-12", "reason_zh": "春节", "reason_en": "Spring
    # Festival"}], inclusive local dates.
    closures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    contact_name_zh: Mapped[str] = mapped_column(String(100), default="")
    contact_name_en: Mapped[str] = mapped_column(String(100), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(50), default="")
    active: Mapped[bool] = mapped_column(default=True)
    # Background re-solve: a cron expression in the facility's time zone, or None for off.
    resolve_cron: Mapped[str | None] = mapped_column(String(100), default=None)
    auto_publish: Mapped[bool] = mapped_column(default=False)
    # Fair share: the most any project may hold of a unit's bookable time in a solve, in
    # whole percent; None for no limit. Set by facilities.yaml or the manager's settings.
    fair_share_percent: Mapped[int | None] = mapped_column(default=None)
    # ---- usage and billing (app/usage, app/billing)
    # A booking not checked in this long after its start is released as a no-show.
    no_show_grace_minutes: Mapped[int] = mapped_column(default=30)
    # Each of a project's no-shows here in the last NO_SHOW_WEIGHT_DAYS lowers the solver
    # weight of its requests by this many percent (app.booking.problems.no_show_factor);
    # None: off.
    no_show_penalty_percent: Mapped[int | None] = mapped_column(default=None)
    # "actual": bill checked-in-to-out time; "booked": bill the booked time.
    charge_basis: Mapped[str] = mapped_column(String(10), default="actual")
    # Whether a unit's changeover/cleaning time is added to each billed booking.
    bill_changeover: Mapped[bool] = mapped_column(default=False)
    # ---- end of usage and billing
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    centre: Mapped[Centre] = relationship(back_populates="facilities")
    directions: Mapped[list[FacilityDirection]] = relationship(
        back_populates="facility", cascade="all, delete-orphan", order_by="FacilityDirection.name"
    )
    equipment: Mapped[list[Equipment]] = relationship(
        back_populates="facility", order_by="Equipment.slug"
    )
    managers: Mapped[list[User]] = relationship(
        secondary="facility_managers", back_populates="managed_facilities", viewonly=True
    )

    @property
    def direction_names(self) -> list[str]:
        return [d.name for d in self.directions]

    def __repr__(self) -> str:
        return f"<Facility {self.slug}>"


class FacilityDirection(db.Model):
    __tablename__ = "facility_directions"

    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)

    facility: Mapped[Facility] = relationship(back_populates="directions")


class Equipment(db.Model):
    __tablename__ = "equipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(default=1)
    hourly_rate_cny: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    unattended_ok: Mapped[bool] = mapped_column(default=False)
    changeover_minutes: Mapped[int] = mapped_column(default=0)
    training_required: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default=EquipmentStatus.ACTIVE.value)
    # None: the facility's hours; "always": 24/7; else a weekly map like Facility.opening_hours.
    opening_hours: Mapped[Any] = mapped_column(JSON, default=None, nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    facility: Mapped[Facility] = relationship(back_populates="equipment")
    capabilities: Mapped[list[EquipmentCapability]] = relationship(
        back_populates="equipment",
        cascade="all, delete-orphan",
        order_by="EquipmentCapability.name",
    )
    maintenance: Mapped[list[MaintenanceWindow]] = relationship(
        back_populates="equipment", order_by="MaintenanceWindow.start"
    )

    @property
    def capability_names(self) -> list[str]:
        return [c.name for c in self.capabilities]

    @property
    def is_active(self) -> bool:
        return self.status == EquipmentStatus.ACTIVE.value

    def __repr__(self) -> str:
        return f"<Equipment {self.slug}>"


class Capability(db.Model):
    """What a unit can do, by the slug requests ask for, with its name in both languages."""

    __tablename__ = "capabilities"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    # The matching glossary: what the capability is, and the words founders use for it.
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    keywords_zh: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords_en: Mapped[list[str]] = mapped_column(JSON, default=list)

    def __repr__(self) -> str:
        return f"<Capability {self.slug}>"


class EquipmentCapability(db.Model):
    __tablename__ = "equipment_capabilities"

    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)

    equipment: Mapped[Equipment] = relationship(back_populates="capabilities")


class MaintenanceWindow(db.Model):
    __tablename__ = "maintenance_windows"
    __table_args__ = (
        UniqueConstraint("equipment_id", "start", "end", name="uq_maintenance_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    # Either or both: a manager may write the reason in one language only; pages show it
    # marked as that language (app.catalog.labels.maintenance_reason).
    reason_zh: Mapped[str] = mapped_column(String(200), default="")
    reason_en: Mapped[str] = mapped_column(String(200), default="")
    # "catalogue" windows are owned by facilities.yaml sync; "manual" ones by managers.
    source: Mapped[str] = mapped_column(String(20), default="manual")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sequence: Mapped[int] = mapped_column(default=0)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    equipment: Mapped[Equipment] = relationship(back_populates="maintenance")

    def __repr__(self) -> str:
        return f"<MaintenanceWindow {self.equipment_id} {self.start:%Y-%m-%d %H:%M}>"
