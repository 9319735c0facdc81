"""Solves on a job queue: RQ over Redis, served by `flask --app app worker` on any host.

Every solve the web or the scheduler starts is a job on one queue (`SOLVE_QUEUE_NAME` on
`SOLVE_QUEUE_URL`, by default the Redis of the rate limits); any number of workers on any
number of hosts take jobs as they come free. The run row in the database stays the truth:
progress, heartbeats and a manager's Stop go through it, so any web host shows and stops any
run. A queue that cannot be reached refuses the solve at once (503) and marks its run failed,
so no run waits for a job that does not exist.

A run whose worker died mid-solve (its work horse killed, or its whole host gone and its
heartbeat stale) goes back on the queue once, as its second attempt; if that one dies too, the
run is failed with the reason. A nightly re-solve that died either way is queued once more for
its night, as a new run. A dead attempt never published anything: a run publishes only
when it succeeds.

The nightly re-solve fans out as one job per facility; a Redis hash per night both claims each
facility once (HSETNX) and keeps the night's summary: solved, skipped or failed."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import redis
from flask import Flask, current_app
from flask_babel import gettext as _
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.utils import now as rq_now
from sqlalchemy import select, update

from app.booking import audit
from app.booking.models import RunStatus, SolveRun
from app.catalog.models import Facility
from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import ServiceUnavailable
from app.extensions import db

log = logging.getLogger(__name__)

# A job may outlive its run's time limit by the problem's building and the plan's storing.
JOB_MARGIN_SECONDS = 120
NIGHT_SUMMARY_DAYS = 14
WAITING = (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)
UNFINISHED = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
STATES = ("solved", "skipped", "failed", "queued", "running")
MAX_ATTEMPTS = 2


class QueueUnavailable(ServiceUnavailable):
    """The solve queue (Redis) cannot be reached."""


def configured(app: Flask | None = None) -> bool:
    """Tell whether solves go on the queue (a queue URL is set)."""
    return bool((app or current_app).config.get("SOLVE_QUEUE_URL"))


def connection() -> redis.Redis:
    """Return this app's client of the queue's Redis, with short timeouts for web requests."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    url = app.config["SOLVE_QUEUE_URL"]
    clients = app.extensions.setdefault("solve_queue_redis", {})
    if url not in clients:
        clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    return clients[url]


def solve_queue(client: redis.Redis | None = None) -> Queue:
    """Return the solve queue on `client` (by default the app's)."""
    return Queue(current_app.config["SOLVE_QUEUE_NAME"], connection=client or connection())


def _unreachable(error: Exception) -> QueueUnavailable:
    log.warning("solve queue unreachable: %s", error)
    return QueueUnavailable(
        _("The solve queue is not reachable right now; nothing was started. Try again shortly.")
    )


def _job_id(*parts: object) -> str:
    """Name a job after the queue too: installations sharing one Redis never share a job."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", current_app.config["SOLVE_QUEUE_NAME"])
    return "-".join([name, *map(str, parts)])


def _job_timeout(time_limit: float) -> int:
    return int(time_limit) + JOB_MARGIN_SECONDS


# ---------------------------------------------------------------- a run's job


def run_job_id(run: SolveRun) -> str:
    """Name the job of the run's current attempt (the first attempt's name has no number)."""
    if run.attempt <= 1:
        return _job_id("run", run.id)
    return _job_id("run", run.id, "attempt", run.attempt)


def enqueue_run(run: SolveRun) -> None:
    """Put a queued run on the solve queue; if the queue is down, fail the run and say so."""
    try:
        solve_queue().enqueue(
            "app.booking.queue.run_job",
            run.id,
            job_id=run_job_id(run),
            job_timeout=_job_timeout(run.time_limit_seconds),
            result_ttl=3600,
            failure_ttl=7 * 86400,
            meta={"run_id": run.id, "attempt": run.attempt},
            description=f"solve run {run.id} of facility {run.facility_id}, attempt {run.attempt}",
        )
    except redis.RedisError as error:
        unavailable = _unreachable(error)
        write_transaction()
        run.status = RunStatus.FAILED.value
        run.error = unavailable.detail
        run.finished_at = utcnow()
        audit.record(
            None, "solve.fail", "solve_run", run.id, facility_id=run.facility_id, error=run.error
        )
        db.session.commit()
        raise unavailable from error


def run_job(run_id: int) -> None:
    """Run one queued solve to its end (in a worker's work horse, a process of its own)."""
    from app.booking.runs import execute_run

    with _fresh_context():
        # Its own process: a manager's Stop may end it mid-solve.
        execute_run(run_id, exit_on_cancel=True)


def not_waiting(runs: Iterable[SolveRun]) -> list[SolveRun]:
    """Leave out queued runs whose job still waits on the queue for a free worker.

    If the queue cannot be asked, every queued run counts as waiting: whether its job is
    lost can be told once Redis answers again."""
    runs = list(runs)
    queued = [r for r in runs if r.status == RunStatus.QUEUED.value]
    if not queued or not configured():
        return runs
    try:
        jobs = Job.fetch_many([run_job_id(r) for r in queued], connection=connection())
        waiting = {
            r.id
            for r, job in zip(queued, jobs, strict=True)
            if job is not None and job.get_status(refresh=False) in (*WAITING, JobStatus.STARTED)
        }
    except redis.RedisError as error:
        log.warning("solve queue unreachable; queued runs are left waiting: %s", error)
        return [r for r in runs if r.status != RunStatus.QUEUED.value]
    return [r for r in runs if r.id not in waiting]


def has_run_job(run: SolveRun) -> bool:
    """Tell whether the run was put on the queue as a job of its own (not solved inside the
    scheduler or a nightly job), so that it can go back on the queue."""
    if not configured():
        return False
    try:
        return bool(Job.exists(run_job_id(run), connection=connection()))
    except redis.RedisError as error:
        log.warning("solve queue unreachable; run %s cannot be retried: %s", run.id, error)
        return False


def retry_or_fail(run_id: int, why: str) -> bool:
    """Put a run whose worker died back on the queue for its second attempt, or fail it.

    `why` says how the worker ended. Nothing of the dead attempt was published, and the retry
    builds its problem from the rows again. A run that was already retried, or that a manager
    asked to stop, is failed with the reason. Returns whether the run went back on the queue."""
    write_transaction()
    run = db.session.get(SolveRun, run_id)
    if run is None or run.status not in UNFINISHED:
        db.session.rollback()
        return False
    attempt = run.attempt
    if attempt < MAX_ATTEMPTS and not run.cancel_requested:
        retried = db.session.execute(
            update(SolveRun)
            .where(
                SolveRun.id == run_id,
                SolveRun.status.in_(UNFINISHED),
                SolveRun.attempt == attempt,
            )
            .values(
                status=RunStatus.QUEUED.value,
                attempt=attempt + 1,
                worker="",
                started_at=None,
                # A fresh heartbeat: the stale-run sweep counts from the requeue.
                heartbeat_at=utcnow(),
                progress={},
                problem_json=None,
                result_json=None,
            )
        )
        if retried.rowcount != 1:
            db.session.rollback()
            return False
        audit.record(
            None,
            "solve.retry",
            "solve_run",
            run_id,
            facility_id=run.facility_id,
            attempt=attempt + 1,
            why=why,
        )
        db.session.commit()
        db.session.refresh(run)
        log.warning("solve run %s: its worker died (%s); queued again", run_id, why)
        try:
            enqueue_run(run)
        except QueueUnavailable:
            pass
        return True
    reason = (
        _(
            "The solver's worker ended twice before the solve finished (%(why)s); nothing was "
            "published. Start the solve again.",
            why=why,
        )
        if attempt >= MAX_ATTEMPTS
        else _(
            "The solver's worker ended before the solve finished (%(why)s); nothing was "
            "published. Start the solve again.",
            why=why,
        )
    )
    failed = db.session.execute(
        update(SolveRun)
        .where(SolveRun.id == run_id, SolveRun.status.in_(UNFINISHED))
        .values(status=RunStatus.FAILED.value, error=reason, finished_at=utcnow())
    )
    if failed.rowcount == 1:
        audit.record(None, "solve.fail", "solve_run", run_id, facility_id=run.facility_id)
    db.session.commit()
    return False


# ---------------------------------------------------------------- the nightly re-solve


def tonight(now: datetime | None = None) -> str:
    """Return the night a re-solve started now belongs to: the date in the region's zone."""
    zone = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    return (now or utcnow()).astimezone(zone).date().isoformat()


def _night_key(night: str) -> str:
    return f"{current_app.config['SOLVE_QUEUE_NAME']}:night:{night}"


def _enqueue_night_job(queue: Queue, facility_id: int, night: str, attempt: int = 1) -> None:
    parts: list[object] = ["night", night, facility_id]
    if attempt > 1:
        parts += ["attempt", attempt]
    queue.enqueue(
        "app.booking.queue.night_job",
        facility_id,
        night,
        job_id=_job_id(*parts),
        job_timeout=_job_timeout(_night_time_limit()),
        result_ttl=86400,
        failure_ttl=7 * 86400,
        meta={"night": night, "facility_id": facility_id, "attempt": attempt},
        description=f"re-solve of facility {facility_id} for {night}, attempt {attempt}",
    )


def enqueue_night(facility_ids: Iterable[int], night: str) -> dict[str, list[int]]:
    """Queue one re-solve job per facility for the night, each facility once per night.

    Returns the facilities queued now and those the night already had."""
    date.fromisoformat(night)
    client = connection()
    key = _night_key(night)
    queued: list[int] = []
    already: list[int] = []
    try:
        queue = solve_queue(client)
        for facility_id in facility_ids:
            if not client.hsetnx(key, str(facility_id), json.dumps({"state": "queued"})):
                already.append(facility_id)
                continue
            try:
                _enqueue_night_job(queue, facility_id, night)
            except redis.RedisError:
                client.hdel(key, str(facility_id))
                raise
            queued.append(facility_id)
        client.expire(key, timedelta(days=NIGHT_SUMMARY_DAYS))
    except redis.RedisError as error:
        raise _unreachable(error) from error
    return {"queued": queued, "already": already}


def _night_time_limit() -> float:
    from app.booking.runs import MAX_TIME_LIMIT

    if current_app.config.get("SOLVER_WORK_LIMIT") is not None:
        return MAX_TIME_LIMIT
    return float(current_app.config.get("SOLVER_TIME_LIMIT", 30.0))


def resolve_region(night: str | None = None) -> dict[str, list[int]]:
    """Queue the night's re-solve of every active facility (one job each)."""
    facility_ids = db.session.scalars(
        select(Facility.id).where(Facility.active.is_(True)).order_by(Facility.id)
    ).all()
    return enqueue_night(facility_ids, night or tonight())


def _record(night: str, facility_id: int, state: str, **details: Any) -> None:
    # RQ names the worker in its work horse's environment.
    details.setdefault("worker", os.environ.get("RQ_WORKER_ID", _worker_tag()))
    entry = json.dumps({"state": state, **details})
    connection().hset(_night_key(night), str(facility_id), entry)


def night_job(facility_id: int, night: str) -> None:
    """Re-solve one facility for the night (in a worker) and record the outcome."""
    from rq import get_current_job

    from app.jobs.resolves import SolveFailed, scheduled_resolve

    job = get_current_job()
    attempt = int(job.meta.get("attempt", 1)) if job is not None else 1
    with _fresh_context():
        # `horse` names this process the way its run's `worker` column will: if the whole host
        # goes, the stale-run sweep finds the night's entry by it (`retry_lost_night_run`).
        _record(night, facility_id, "running", attempt=attempt, horse=_worker_tag())
        try:
            run = scheduled_resolve(facility_id, now=utcnow())
        except SolveFailed as failure:
            _record(night, facility_id, "failed", detail=str(failure))
            return
        except Exception as error:
            _record(night, facility_id, "failed", detail=f"{type(error).__name__}: {error}")
            raise
        if run is None:
            _record(
                night,
                facility_id,
                "skipped",
                detail="inactive, no open requests, or a solve already running",
            )
        else:
            _record(night, facility_id, "solved", run=run.id)


def night_summary(night: str) -> dict[str, list[dict[str, Any]]]:
    """Return the night's facilities by outcome: solved, skipped, failed, queued, running."""
    try:
        entries = connection().hgetall(_night_key(night))
    except redis.RedisError as error:
        raise _unreachable(error) from error
    slugs = {fid: slug for fid, slug in db.session.execute(select(Facility.id, Facility.slug))}
    summary: dict[str, list[dict[str, Any]]] = {state: [] for state in STATES}
    for raw_id, raw in sorted(entries.items(), key=lambda item: int(item[0])):
        facility_id = int(raw_id)
        entry = json.loads(raw)
        summary[entry.pop("state")].append(
            {"facility": slugs.get(facility_id, str(facility_id)), **entry}
        )
    return summary


# ---------------------------------------------------------------- the worker


def _worker_tag(pid: int | None = None) -> str:
    """Name a process the way a run's `worker` column does."""
    return f"{socket.gethostname()}:{pid or os.getpid()}"


class _fresh_context:
    """An application context of the work horse's own (a new database session)."""

    def __enter__(self) -> None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        self.context = app.app_context()
        self.context.push()

    def __exit__(self, *exc: object) -> None:
        db.session.remove()
        self.context.pop()


def fail_runs_of_job(job: Job, worker_tag: str, reason: str, *, record_night: bool = True) -> int:
    """Mark the runs a failed job left unfinished failed; nothing of them was published.

    A solve's job names its run; a nightly job's run is the one its work horse claimed."""
    write_transaction()
    write = (SolveRun.worker == worker_tag) & SolveRun.status.in_(UNFINISHED)
    run_id = job.meta.get("run_id")
    if run_id is not None:
        write = write | ((SolveRun.id == run_id) & SolveRun.status.in_(UNFINISHED))
    failed = db.session.scalars(select(SolveRun).where(write)).all()
    for run in failed:
        db.session.execute(
            update(SolveRun)
            .where(SolveRun.id == run.id, SolveRun.status.in_(UNFINISHED))
            .values(status=RunStatus.FAILED.value, error=reason, finished_at=utcnow())
        )
        audit.record(None, "solve.fail", "solve_run", run.id, facility_id=run.facility_id)
    db.session.commit()
    night = job.meta.get("night")
    if night is not None and record_night:
        try:
            field = str(job.meta["facility_id"])
            entry = json.loads(connection().hget(_night_key(night), field) or "{}")
            if entry.get("state") in (None, "queued", "running"):
                _record(night, job.meta["facility_id"], "failed", detail=reason)
        except redis.RedisError:
            log.exception("could not record the failure of %s in the night's summary", job.id)
    return len(failed)


def _retry_night(job: Job, why: str) -> None:
    """Queue a nightly re-solve whose work horse died once more, as its second attempt."""
    _queue_night_again(
        job.meta["night"], job.meta["facility_id"], int(job.meta.get("attempt", 1)), why
    )


def _queue_night_again(night: str, facility_id: int, attempt: int, why: str) -> None:
    try:
        _record(night, facility_id, "queued", attempt=attempt + 1, detail=why)
        _enqueue_night_job(solve_queue(), facility_id, night, attempt + 1)
    except redis.RedisError:
        log.exception("could not queue the nightly re-solve of facility %s again", facility_id)
        try:
            _record(night, facility_id, "failed", detail=why)
        except redis.RedisError:
            pass


def retry_lost_night_run(run: SolveRun) -> bool:
    """Handle a stale nightly run whose whole host went: fail it and queue its night again.

    A nightly job solves inside its work horse, so its run has no job of its own to put back;
    the night's summary names the horse that ran it. The re-solve goes back on the queue once
    (a third host loss fails it in the summary, as a horse dying twice does). Returns whether
    the run was a nightly job's; then it is failed, nothing of it having been published."""
    if run.trigger != "schedule" or not run.worker or not configured():
        return False
    moment = run.started_at or run.created_at
    nights = {tonight(moment), tonight(moment - timedelta(days=1))}
    try:
        client = connection()
        found = [
            (night, entry)
            for night in sorted(nights)
            if (raw := client.hget(_night_key(night), str(run.facility_id))) is not None
            and (entry := json.loads(raw)).get("state") == "running"
            and entry.get("horse") == run.worker
        ]
    except redis.RedisError as error:
        log.warning("solve queue unreachable; nightly run %s is failed only: %s", run.id, error)
        return False
    if not found:
        return False
    night, entry = found[-1]
    attempt = int(entry.get("attempt", 1))
    why = _("its worker stopped answering: the host ended or restarted")
    again = attempt < MAX_ATTEMPTS
    reason = (
        _(
            "The solver's worker ended before the solve finished (%(why)s); nothing "
            "was published, and the nightly re-solve was queued again.",
            why=why,
        )
        if again
        else _(
            "The solver's worker ended twice before the solve finished (%(why)s); nothing was "
            "published. Start the solve again.",
            why=why,
        )
    )
    write_transaction()
    failed = db.session.execute(
        update(SolveRun)
        .where(SolveRun.id == run.id, SolveRun.status.in_(UNFINISHED))
        .values(status=RunStatus.FAILED.value, error=reason, finished_at=utcnow())
    )
    if failed.rowcount != 1:
        db.session.rollback()
        return False
    audit.record(None, "solve.interrupted", "solve_run", run.id, facility_id=run.facility_id)
    db.session.commit()
    if again:
        _queue_night_again(night, run.facility_id, attempt, why)
    else:
        try:
            _record(night, run.facility_id, "failed", detail=reason)
        except redis.RedisError:
            log.exception("could not record the failure of run %s in the night's summary", run.id)
    return True


class SolveWorker(Worker):
    """RQ's forking worker, with the app's database in mind.

    Each job runs in a work horse forked for it: a solve's memory goes back to the system when
    it ends, a crash in the solver's native code takes only the horse, and a manager's Stop can
    end the horse mid-search. The horse drops the database pool it inherited (without closing
    the parent's connections) and opens its own. When a horse dies before finishing (killed,
    out of memory), the worker puts its run back on the queue once (`retry_or_fail`), and marks
    it failed the second time, so the page says so at once. A job that raised, or that outlived
    its timeout, fails without a retry: it would do the same again."""

    horse_tag = ""
    died_job_id = ""

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        super().fork_work_horse(job, queue)
        self.horse_tag = _worker_tag(self.horse_pid)

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        db.engine.dispose(close=False)
        super().main_work_horse(job, queue)

    def handle_work_horse_killed(self, job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        # The worker itself ends a horse that outlived its job's timeout: no retry for that.
        overran = (
            job.timeout not in (None, -1)
            and job.started_at is not None
            and (rq_now() - job.started_at).total_seconds() > float(job.timeout or 0)
        )
        self.died_job_id = "" if overran else job.id

    def handle_job_failure(
        self,
        job: Job,
        queue: Queue,
        started_job_registry: Any = None,
        exc_string: str = "",
    ) -> None:
        super().handle_job_failure(job, queue, started_job_registry, exc_string)
        died = not self.is_horse and self.died_job_id == job.id
        self.died_job_id = ""
        tag = _worker_tag() if self.is_horse else self.horse_tag
        why = (exc_string.strip().splitlines() or ["?"])[-1][:200]
        with _fresh_context():
            try:
                if died and job.meta.get("run_id") is not None:
                    retry_or_fail(int(job.meta["run_id"]), why)
                    return
                if (
                    died
                    and job.meta.get("night") is not None
                    and int(job.meta.get("attempt", 1)) < MAX_ATTEMPTS
                ):
                    reason = _(
                        "The solver's worker ended before the solve finished (%(why)s); nothing "
                        "was published, and the nightly re-solve was queued again.",
                        why=why,
                    )
                    # The dead run first: while it looks unfinished the retry would skip.
                    fail_runs_of_job(job, tag, reason, record_night=False)
                    _retry_night(job, why)
                    return
                reason = _(
                    "The solver's worker ended before the solve finished (%(why)s); nothing was "
                    "published. Start the solve again.",
                    why=why,
                )
                fail_runs_of_job(job, tag, reason)
            except Exception:
                log.exception("could not retry or fail the runs of job %s", job.id)
                db.session.rollback()
