"""Calendar feed tokens: a secret link per project, user, equipment unit or facility."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.dbtypes import UTCDateTime, utcnow
from app.extensions import db


class FeedKind(StrEnum):
    PROJECT = "project"
    USER = "user"
    EQUIPMENT = "equipment"
    FACILITY = "facility"


class FeedToken(db.Model):
    __tablename__ = "feed_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "project", "user", "equipment" or "facility"; target_id is that row's id.
    kind: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    def __repr__(self) -> str:
        return f"<FeedToken {self.kind}:{self.target_id}>"
