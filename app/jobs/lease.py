"""The scheduler lease: a row that says which scheduler process may run jobs, and until when.

Every process started with `flask scheduler run` tries to take the lease; the one that holds it
runs APScheduler, the others wait. The holder renews it well before it expires; a holder that
dies simply stops renewing, and a standby takes over once `expires_at` has passed. Taking and
renewing are one conditional UPDATE, atomic on SQLite (one writer at a time) and on PostgreSQL
(the second of two concurrent UPDATEs re-checks the condition against the row the first one
committed). Times come from the hosts' clocks, which must be kept in sync (NTP)."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.database import write_transaction
from app.dbtypes import utcnow
from app.extensions import db
from app.jobs.models import SchedulerLease

LEASE_NAME = "scheduler"
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def new_holder_id() -> str:
    """Return an identity for this process: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _ensure_row(name: str) -> None:
    write_transaction()
    if db.session.get(SchedulerLease, name) is not None:
        db.session.commit()
        return
    db.session.add(SchedulerLease(name=name, holder="", expires_at=_NEVER))
    try:
        db.session.commit()
    except IntegrityError:
        # Another process created it at the same moment; theirs is as good as ours.
        db.session.rollback()


def acquire(
    holder: str, *, seconds: float, name: str = LEASE_NAME, now: datetime | None = None
) -> bool:
    """Take the lease if it is free or expired, or renew it if it is ours; tell if we hold it."""
    now = now or utcnow()
    _ensure_row(name)
    # On SQLite a read that turns into a write fails at once under contention; start as a writer.
    write_transaction()
    result = db.session.execute(
        update(SchedulerLease)
        .where(
            SchedulerLease.name == name,
            or_(SchedulerLease.holder == holder, SchedulerLease.expires_at <= now),
        )
        .values(holder=holder, expires_at=now + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def still_held(holder: str, *, name: str = LEASE_NAME, now: datetime | None = None) -> bool:
    """Tell whether `holder` holds an unexpired lease right now."""
    now = now or utcnow()
    found = db.session.scalar(
        select(SchedulerLease.name).where(
            and_(
                SchedulerLease.name == name,
                SchedulerLease.holder == holder,
                SchedulerLease.expires_at > now,
            )
        )
    )
    db.session.commit()
    return found is not None


def release(holder: str, *, name: str = LEASE_NAME, now: datetime | None = None) -> bool:
    """Give the lease up at once (on a clean stop) so a standby need not wait for it to expire."""
    now = now or utcnow()
    write_transaction()
    result = db.session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def current(name: str = LEASE_NAME) -> SchedulerLease | None:
    """Return the lease row, if any scheduler ever took it."""
    return db.session.get(SchedulerLease, name)
