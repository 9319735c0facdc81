"""The scheduler's jobs: module-level functions, each a thin wrapper around a service.

APScheduler stores jobs by reference (`app.jobs.tasks:name`) with simple keyword arguments; the
executor runs each inside an application context and records it in `job_runs`."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete

from app.dbtypes import utcnow
from app.extensions import db
from app.jobs.models import JobRun

log = logging.getLogger(__name__)

KEEP_SUCCESSFUL_RUNS = timedelta(days=14)
KEEP_FAILED_RUNS = timedelta(days=90)


def heartbeat() -> None:
    """Do nothing: the job run the executor records is the proof of the tick."""


def sync_jobs() -> None:
    """Bring the re-solve jobs in line with the facilities' crons."""
    from app.jobs.scheduler import current_process

    current_process().sync()


def resolve_facility(facility_id: int) -> None:
    """Re-solve one facility on its cron, publishing only if the facility auto-publishes."""
    from app.booking import queue
    from app.jobs.resolves import scheduled_resolve

    if queue.configured():
        queue.enqueue_night([facility_id], queue.tonight())
        return
    scheduled_resolve(facility_id, now=utcnow())


def resolve_region() -> None:
    """Queue tonight's re-solve of every active facility, one job each, once a night."""
    from app.booking import queue

    outcome = queue.resolve_region()
    log.info(
        "region re-solve: %d facilities queued, %d already had theirs tonight",
        len(outcome["queued"]),
        len(outcome["already"]),
    )


def offer_freed_time() -> None:
    """Solve the facilities where a cancelled booking freed time for waiting requests."""
    from app.jobs.waitlist import run_waitlist_solves

    run_waitlist_solves(now=utcnow())


def release_no_shows() -> None:
    """Release bookings not checked in within their facility's grace period as no-shows."""
    from app.usage.services import release_no_shows as release

    release(utcnow())


def expire_proposals() -> None:
    """Expire draft proposals that went stale."""
    from app.booking.proposals import expire_stale_proposals

    count = expire_stale_proposals(utcnow())
    log.info("expired %d proposals", count)


def fail_interrupted_runs() -> None:
    """Mark solve runs whose worker stopped beating as failed, with a reason."""
    from app.booking.runs import mark_interrupted_runs

    count = mark_interrupted_runs(utcnow())
    log.info("marked %d interrupted solve runs failed", count)


def queue_reminders() -> None:
    """Queue the reminders of bookings starting within 24 hours."""
    from app.jobs.outbox import queue_booking_reminders

    queue_booking_reminders(utcnow())


def deliver_outbox() -> None:
    """Deliver due messages by SMTP, or in the app when SMTP is not configured."""
    from app.jobs.outbox import deliver_due

    deliver_due(utcnow())


def prune_sessions() -> None:
    """Delete the rows of logged-in sessions past their lifetime (they open nothing already)."""
    from app.accounts.services import prune_sessions as prune

    prune(utcnow())


def prune_job_runs() -> None:
    """Forget successful job runs after two weeks and failed ones after three months."""
    now = utcnow()
    db.session.execute(
        delete(JobRun).where(JobRun.ok.is_(True), JobRun.started_at < now - KEEP_SUCCESSFUL_RUNS)
    )
    db.session.execute(delete(JobRun).where(JobRun.started_at < now - KEEP_FAILED_RUNS))
    db.session.commit()
