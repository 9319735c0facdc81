"""Needs in a startup's own words, what happened to them, and the campaign drafts made of them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.dbtypes import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import Project, User
    from app.booking.models import BookingRequest
    from app.catalog.models import Centre, Facility


class NeedState(enum.StrEnum):
    NEW = "new"
    SCREENED = "screened"
    MATCHED = "matched"
    REQUESTED = "requested"
    SERVED = "served"
    DECLINED = "declined"


class DeclineReason(enum.StrEnum):
    """Why a need was declined; the demand picture counts the first two."""

    NO_CAPABILITY = "no_capability"
    NO_FREE_TIME = "no_free_time"
    OUT_OF_SCOPE = "out_of_scope"
    WITHDRAWN = "withdrawn"
    OTHER = "other"


class EventKind(enum.StrEnum):
    CREATED = "created"
    EDITED = "edited"
    STATE = "state"
    COMMENT = "comment"
    DRAFT = "draft"
    REQUEST = "request"


class Need(db.Model):
    """What a project wants to find out or make, before it knows which unit does it."""

    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The centre asked to help; None: any centre (region-wide brokers see it).
    centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("centres.id"), default=None, index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    material: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[str] = mapped_column(String(200), default="")
    wanted_by: Mapped[date | None] = mapped_column(default=None)
    budget_fen: Mapped[int | None] = mapped_column(BigInteger, default=None)
    city: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(20), default=NeedState.NEW.value, index=True)
    decline_reason: Mapped[str | None] = mapped_column(String(20), default=None)
    decline_note: Mapped[str] = mapped_column(Text, default="")
    # The matcher's best capabilities for the text when it was last written (the demand
    # picture counts these), and whether any of their units had free time then.
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    free_time_found: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    project: Mapped[Project] = relationship()
    created_by: Mapped[User] = relationship()
    centre: Mapped[Centre | None] = relationship()
    events: Mapped[list[NeedEvent]] = relationship(
        back_populates="need", cascade="all, delete-orphan", order_by="NeedEvent.id"
    )
    drafts: Mapped[list[CampaignDraft]] = relationship(
        back_populates="need", cascade="all, delete-orphan", order_by="CampaignDraft.id"
    )

    @property
    def comments(self) -> list[NeedEvent]:
        return [e for e in self.events if e.kind == EventKind.COMMENT.value]

    @property
    def requests(self) -> list[BookingRequest]:
        return [d.request for d in self.drafts if d.request is not None]

    def __repr__(self) -> str:
        return f"<Need {self.id} {self.state}>"


class NeedEvent(db.Model):
    """One thing done to a need: written, edited, moved to a state, commented, drafted."""

    __tablename__ = "need_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    # None: the system did it (a request made from the need was booked).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    kind: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(20), default=None)
    to_state: Mapped[str | None] = mapped_column(String(20), default=None)
    body: Mapped[str] = mapped_column(Text, default="")
    # The draft or request the event is about, by id.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    need: Mapped[Need] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<NeedEvent {self.need_id} {self.kind}>"


class CampaignDraft(db.Model):
    """Chosen suggestions as the steps of a campaign, waiting for the startup to confirm them.

    Durations and the window are the startup's to give: the draft holds only which capability
    on which unit, in order; confirming it sends a request through the booking service."""

    __tablename__ = "campaign_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # [{"capability": "<slug>", "unit_id": <id>}, ...] in the order of the campaign.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    need: Mapped[Need] = relationship(back_populates="drafts")
    facility: Mapped[Facility] = relationship()
    created_by: Mapped[User] = relationship()
    request: Mapped[BookingRequest | None] = relationship()

    @property
    def submitted(self) -> bool:
        return self.request_id is not None

    def __repr__(self) -> str:
        return f"<CampaignDraft {self.id} of need {self.need_id}>"
