"""What the scheduler is doing, for `flask scheduler status` and the administrators' page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, inspect, select

from app.extensions import db
from app.jobs import lease
from app.jobs.models import JobRun, OutboxMessage
from app.jobs.scheduler import JOBSTORE_TABLE, LeasedJobStore


@dataclass(frozen=True)
class LeaseState:
    holder: str
    expires_at: datetime | None
    held: bool


@dataclass(frozen=True)
class JobState:
    id: str
    next_run: datetime | None
    last: JobRun | None


def lease_state(now: datetime) -> LeaseState:
    """Return who holds the lease, and whether it is still valid."""
    row = lease.current()
    if row is None or not row.holder:
        return LeaseState("", None, False)
    return LeaseState(row.holder, row.expires_at, row.expires_at > now)


def jobs() -> list[JobState]:
    """Return every stored job with its next run time and its latest run."""
    if not inspect(db.engine).has_table(JOBSTORE_TABLE):
        return []
    table = LeasedJobStore(db.engine).jobs_t
    rows = db.session.execute(select(table.c.id, table.c.next_run_time).order_by(table.c.id))
    stored = [
        (job_id, datetime.fromtimestamp(ts, UTC) if ts is not None else None)
        for job_id, ts in rows
    ]
    latest_ids = select(func.max(JobRun.id)).group_by(JobRun.job_id)
    latest = {
        run.job_id: run
        for run in db.session.scalars(select(JobRun).where(JobRun.id.in_(latest_ids)))
    }
    return [JobState(job_id, next_run, latest.get(job_id)) for job_id, next_run in stored]


def run_state(run: JobRun, current: LeaseState) -> str:
    """Name a run's state: ok, failed, running, or interrupted (its scheduler is gone)."""
    if run.ok is True:
        return "ok"
    if run.ok is False:
        return "failed"
    return "running" if current.held and current.holder == run.holder else "interrupted"


def recent_failures(limit: int = 50) -> list[JobRun]:
    """Return the latest failed job runs, newest first."""
    return list(
        db.session.scalars(
            select(JobRun).where(JobRun.ok.is_(False)).order_by(JobRun.id.desc()).limit(limit)
        )
    )


def recent_runs(limit: int = 100) -> list[JobRun]:
    """Return the latest job runs, newest first."""
    return list(db.session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit)))


def outbox_counts() -> dict[str, int]:
    """Count outbox messages by delivery state ('' is waiting)."""
    rows = db.session.execute(
        select(OutboxMessage.channel, func.count(OutboxMessage.id)).group_by(OutboxMessage.channel)
    )
    return {channel or "waiting": count for channel, count in rows}
