"""The scheduler process: APScheduler run only by the holder of the lease.

`flask scheduler run` may be started on several hosts (or twice by mistake); each process loops
taking or renewing the lease (`app.jobs.lease`). The holder starts an APScheduler
`BackgroundScheduler` whose jobs live in the application database (`apscheduler_jobs`), the others
wait. On losing the lease the holder shuts its scheduler down at once, and every single execution
first checks the lease and claims its fire time in `job_runs` (unique per job and time), so even a
holder that was paused past its lease cannot run a tick a second time."""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.executors.base import BaseExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.database import write_transaction
from app.dbtypes import utcnow
from app.extensions import db
from app.jobs import lease
from app.jobs.models import JobRun

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
# A run that was due while no scheduler was up still runs (once, coalesced) within an hour.
MISFIRE_GRACE_SECONDS = 3600
JOB_DEFAULTS = {
    "coalesce": True,
    "max_instances": 1,
    "misfire_grace_time": MISFIRE_GRACE_SECONDS,
}
_ERROR_CHARS = 4000
_EXTENSION_KEY = "pilotslot.scheduler"

Outcome = Literal["ok", "failed", "skipped"]


@dataclass(frozen=True)
class JobSpec:
    """A job the scheduler should have: a stable id, a function by reference, its trigger."""

    id: str
    func: str
    trigger: BaseTrigger
    kwargs: dict[str, Any] = field(default_factory=dict)
    name: str = ""


def _tasks(name: str) -> str:
    return f"app.jobs.tasks:{name}"


def standing_jobs(config: dict[str, Any]) -> list[JobSpec]:
    """Return the jobs every installation runs, whatever its facilities."""
    specs = [
        JobSpec(
            "sync-jobs",
            _tasks("sync_jobs"),
            IntervalTrigger(seconds=config["SCHEDULER_SYNC_SECONDS"]),
            name="Sync facility re-solve jobs",
        ),
        JobSpec(
            "expire-proposals",
            _tasks("expire_proposals"),
            CronTrigger(minute=5, timezone=UTC),
            name="Expire stale proposals",
        ),
        JobSpec(
            "fail-interrupted-runs",
            _tasks("fail_interrupted_runs"),
            IntervalTrigger(minutes=1),
            name="Mark interrupted solve runs failed",
        ),
        JobSpec(
            "queue-reminders",
            _tasks("queue_reminders"),
            IntervalTrigger(minutes=5),
            name="Queue booking reminders",
        ),
        JobSpec(
            "deliver-outbox",
            _tasks("deliver_outbox"),
            IntervalTrigger(minutes=1),
            name="Deliver due messages",
        ),
        JobSpec(
            "waitlist",
            _tasks("offer_freed_time"),
            IntervalTrigger(seconds=30),
            name="Offer freed time to waiting requests",
        ),
        JobSpec(
            "release-no-shows",
            _tasks("release_no_shows"),
            IntervalTrigger(minutes=1),
            name="Release no-shows",
        ),
        JobSpec(
            "prune-job-runs",
            _tasks("prune_job_runs"),
            CronTrigger(hour=3, minute=17, timezone=UTC),
            name="Prune old job runs",
        ),
        JobSpec(
            "prune-sessions",
            _tasks("prune_sessions"),
            CronTrigger(minute=41, timezone=UTC),
            name="Delete ended login sessions",
        ),
    ]
    if config.get("REGION_RESOLVE_CRON") and config.get("SOLVE_QUEUE_URL"):
        specs.append(
            JobSpec(
                "resolve-region",
                _tasks("resolve_region"),
                crontab_trigger(config["REGION_RESOLVE_CRON"], "UTC"),
                name="Queue the region's nightly re-solve",
            )
        )
    if config.get("SCHEDULER_HEARTBEAT"):
        specs.append(
            JobSpec("heartbeat", _tasks("heartbeat"), IntervalTrigger(seconds=1), name="Heartbeat")
        )
    return specs


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday_number(token: str) -> int:
    token = token.strip().lower()
    if token[:3] in _WEEKDAYS and len(token) >= 3:
        return _WEEKDAYS.index(token[:3])
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    raise ValueError(f"day of week {token!r} is not 0-7 or sun-sat")


def _crontab_weekdays(field: str) -> str:
    """Translate a crontab day-of-week field (0 or 7 = Sunday) into APScheduler's day names."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            low, high = 0, 6
        elif "-" in span:
            first, last = span.split("-", 1)
            low, high = _weekday_number(first), _weekday_number(last)
        else:
            low = high = _weekday_number(span)
            high = 6 if step else high
        every = int(step) if step.isdigit() else 1
        if low > high or every < 1 or (step and not step.isdigit()):
            raise ValueError(f"day of week {part!r} is not a valid range")
        days.update(day % 7 for day in range(low, high + 1, every))
    return ",".join(_WEEKDAYS[day] for day in sorted(days))


def crontab_trigger(expression: str, timezone: str) -> CronTrigger:
    """Build the trigger of a standard crontab line, read in the given time zone.

    APScheduler 3 numbers weekdays from Monday = 0, crontab from Sunday = 0; managers write
    crontab, so the weekday field is translated into day names first."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_crontab_weekdays(weekday),
        timezone=ZoneInfo(timezone),
    )


def facility_jobs() -> tuple[list[JobSpec], list[str]]:
    """Return a re-solve job per facility with a cron, and errors for crons that do not parse."""
    from app.catalog.models import Facility

    specs, errors = [], []
    facilities = db.session.scalars(
        select(Facility)
        .where(Facility.active.is_(True), Facility.resolve_cron.is_not(None))
        .order_by(Facility.slug)
    )
    for facility in facilities:
        expression = (facility.resolve_cron or "").strip()
        if not expression:
            continue
        try:
            trigger = crontab_trigger(expression, facility.timezone)
        except (ValueError, KeyError) as error:
            errors.append(f"{facility.slug}: resolve_cron {expression!r}: {error}")
            continue
        specs.append(
            JobSpec(
                f"resolve:{facility.slug}",
                _tasks("resolve_facility"),
                trigger,
                kwargs={"facility_id": facility.id},
                name=f"Re-solve {facility.slug}",
            )
        )
    return specs, errors


def _same_definition(job: Job, spec: JobSpec) -> bool:
    return (
        job.func_ref == spec.func
        and dict(job.kwargs) == spec.kwargs
        and type(job.trigger) is type(spec.trigger)
        and str(job.trigger) == str(spec.trigger)
        and str(getattr(job.trigger, "timezone", "")) == str(getattr(spec.trigger, "timezone", ""))
    )


def sync_jobs(scheduler: BackgroundScheduler, specs: list[JobSpec]) -> dict[str, list[str]]:
    """Make the job store hold exactly `specs`; report what was added, replaced and removed.

    A job whose definition did not change is left alone: replacing it would compute its next
    run from now and silently drop a run that was due while no scheduler was up."""
    wanted = {spec.id: spec for spec in specs}
    report: dict[str, list[str]] = {"added": [], "replaced": [], "removed": []}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            scheduler.remove_job(job.id)
            report["removed"].append(job.id)
    for spec in specs:
        existing = scheduler.get_job(spec.id)
        if existing is not None and _same_definition(existing, spec):
            continue
        scheduler.add_job(
            spec.func,
            trigger=spec.trigger,
            kwargs=spec.kwargs,
            id=spec.id,
            name=spec.name or spec.id,
            replace_existing=True,
            **JOB_DEFAULTS,
        )
        report["replaced" if existing is not None else "added"].append(spec.id)
    return report


def sync_all(scheduler: BackgroundScheduler, extra: list[JobSpec] | None = None) -> None:
    """Bring the job store in line with the configuration and the facilities' crons."""
    resolves, errors = facility_jobs()
    report = sync_jobs(scheduler, standing_jobs(current_app.config) + resolves + (extra or []))
    if any(report.values()):
        log.info("jobs synchronised: %s", report)
    if errors:
        # The valid jobs are in place; raising makes the bad crons visible on /admin/jobs.
        raise ValueError("; ".join(errors))


def current_process() -> SchedulerProcess:
    """Return the scheduler process running here (set only while it holds the lease)."""
    process = current_app.extensions.get(_EXTENSION_KEY)
    if process is None or process.scheduler is None:
        raise RuntimeError("no scheduler runs in this process")
    return process  # type: ignore[no-any-return]


def error_summary(error: BaseException) -> str:
    """Return the end of the traceback, where the cause is, short enough to store."""
    text = "".join(traceback.format_exception(error))
    return text if len(text) <= _ERROR_CHARS else "…" + text[-_ERROR_CHARS:]


def run_guarded(
    holder: str,
    job_id: str,
    scheduled_for: datetime,
    func: Callable[..., Any],
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
) -> Outcome:
    """Run one fire time of a job if we hold the lease and nobody ran it; record the outcome."""
    if not lease.still_held(holder):
        log.warning("skipping %s at %s: lease not held", job_id, scheduled_for)
        return "skipped"
    claim = JobRun(job_id=job_id, scheduled_for=scheduled_for, holder=holder, started_at=utcnow())
    db.session.add(claim)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.warning("skipping %s at %s: already run", job_id, scheduled_for)
        return "skipped"
    run_id = claim.id
    error: BaseException | None = None
    try:
        func(*args, **(kwargs or {}))
    except Exception as raised:  # noqa: BLE001  (a failing job is recorded, never fatal)
        error = raised
        log.exception("job %s failed", job_id)
    db.session.rollback()
    write_transaction()
    run = db.session.get(JobRun, run_id)
    assert run is not None
    run.finished_at = utcnow()
    run.ok = error is None
    run.error = error_summary(error) if error is not None else ""
    db.session.commit()
    return "ok" if error is None else "failed"


class LeasedJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """APScheduler's SQLAlchemy job store on the application's engine, silenced once halted.

    After losing the lease this process must neither start jobs nor move their next run times
    (the new holder owns them); APScheduler's loop can still make one more pass while shutting
    down, so a halted store reports nothing due and ignores updates."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine=engine, tablename=JOBSTORE_TABLE)
        self._halted = threading.Event()

    def halt(self) -> None:
        """Report nothing due and write nothing from now on."""
        self._halted.set()

    def get_due_jobs(self, now: datetime) -> list[Job]:
        if self._halted.is_set():
            return []
        return super().get_due_jobs(now)  # type: ignore[no-any-return]

    def update_job(self, job: Job) -> None:
        if not self._halted.is_set():
            super().update_job(job)

    def shutdown(self) -> None:
        """Keep the engine: it is the application's (the base class would dispose of it)."""


class LeasedExecutor(BaseExecutor):  # type: ignore[misc]
    """Run jobs in a thread pool, each fire time inside an app context through run_guarded()."""

    def __init__(self, app: Flask, holder: str, max_workers: int = 4) -> None:
        super().__init__()
        self._app = app
        self._holder = holder
        self._halted = threading.Event()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="job")

    def halt(self) -> None:
        """Run nothing more, not even fire times already handed to the pool."""
        self._halted.set()

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        future = self._pool.submit(self._run_all, job, run_times)
        future.add_done_callback(lambda done: self._finished(job.id, done))

    def _finished(self, job_id: str, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            self._run_job_success(job_id, [])
            return
        error = future.exception()
        if error is None:
            self._run_job_success(job_id, future.result())
        else:
            self._run_job_error(job_id, error, error.__traceback__)

    def _run_all(self, job: Job, run_times: list[datetime]) -> list[JobExecutionEvent]:
        events = []
        for run_time in run_times:
            if self._halted.is_set():
                break
            late = datetime.now(UTC) - run_time
            if job.misfire_grace_time is not None and late > timedelta(
                seconds=job.misfire_grace_time
            ):
                log.warning("job %s missed its run at %s by %s", job.id, run_time, late)
                events.append(JobExecutionEvent(EVENT_JOB_MISSED, job.id, "default", run_time))
                continue
            with self._app.app_context():
                try:
                    outcome = run_guarded(
                        self._holder, job.id, run_time, job.func, job.args, job.kwargs
                    )
                finally:
                    db.session.remove()
            code = EVENT_JOB_ERROR if outcome == "failed" else EVENT_JOB_EXECUTED
            events.append(JobExecutionEvent(code, job.id, "default", run_time))
        return events

    def shutdown(self, wait: bool = True) -> None:
        self._halted.set()
        self._pool.shutdown(wait=wait, cancel_futures=True)


class SchedulerProcess:
    """One `flask scheduler run` process: hold the lease, run APScheduler while it is held."""

    def __init__(
        self, app: Flask, *, holder: str | None = None, extra_jobs: list[JobSpec] | None = None
    ) -> None:
        self.app = app
        self.holder = holder or lease.new_holder_id()
        self.lease_seconds = float(app.config["SCHEDULER_LEASE_SECONDS"])
        self.renew_seconds = float(app.config["SCHEDULER_RENEW_SECONDS"])
        self.extra_jobs = extra_jobs or []
        self.scheduler: BackgroundScheduler | None = None
        self._executor: LeasedExecutor | None = None
        self._store: LeasedJobStore | None = None
        self._retired: list[LeasedExecutor] = []
        # Logged once per stretch without the lease, so a reader sees the standby contend.
        self._standing_by = False

    @property
    def leading(self) -> bool:
        return self.scheduler is not None

    def run(self, stop: threading.Event) -> None:
        """Loop until `stop` is set; give the lease up on the way out."""
        log.info("scheduler %s started", self.holder)
        try:
            while not stop.is_set():
                started = time.monotonic()
                self.tick()
                stop.wait(max(0.0, self.renew_seconds - (time.monotonic() - started)))
        finally:
            self.step_down()
            for executor in self._retired:
                # Let jobs already running finish before the lease is given up.
                executor.shutdown(wait=True)
            with self.app.app_context():
                try:
                    lease.release(self.holder)
                except SQLAlchemyError:
                    log.exception("could not release the lease; it will expire")
                db.session.remove()
            log.info("scheduler %s stopped", self.holder)

    def tick(self) -> None:
        """Take or renew the lease, then start or stop APScheduler to match."""
        with self.app.app_context():
            try:
                held = lease.acquire(self.holder, seconds=self.lease_seconds)
            except SQLAlchemyError:
                # Unable to renew means unable to know: stop acting, as if the lease were lost.
                log.exception("lease renewal failed")
                db.session.rollback()
                held = False
            finally:
                db.session.remove()
        if held and not self.leading:
            log.info("scheduler %s holds the lease; starting jobs", self.holder)
            try:
                self._start()
            except Exception:  # noqa: BLE001  (e.g. the job store unreachable: retry next tick)
                log.exception("scheduler %s could not start its jobs", self.holder)
                self.step_down()
        elif not held and self.leading:
            log.warning("scheduler %s lost the lease; stopping jobs", self.holder)
            self.step_down()
        elif not held and not self._standing_by:
            log.info("scheduler %s stands by: another process holds the lease", self.holder)
        self._standing_by = not held

    def _start(self) -> None:
        with self.app.app_context():
            executor = LeasedExecutor(self.app, self.holder)
            store = LeasedJobStore(db.engine)
            scheduler = BackgroundScheduler(
                jobstores={"default": store},
                executors={"default": executor},
                job_defaults=JOB_DEFAULTS,
                timezone=UTC,
            )
            scheduler.start(paused=True)
            self.scheduler, self._executor, self._store = scheduler, executor, store
            self.app.extensions[_EXTENSION_KEY] = self
            try:
                self.sync()
            except Exception:  # noqa: BLE001  (the sync-jobs job retries and records it)
                log.exception("initial job sync incomplete")
            finally:
                db.session.remove()
            scheduler.resume()

    def sync(self) -> None:
        """Bring the job store in line with the configuration and the facilities' crons."""
        if self.scheduler is None:
            raise RuntimeError("this scheduler does not hold the lease")
        sync_all(self.scheduler, self.extra_jobs)

    def step_down(self) -> None:
        """Stop running jobs now; jobs already running finish, nothing new starts."""
        scheduler, executor, store = self.scheduler, self._executor, self._store
        self.scheduler, self._executor, self._store = None, None, None
        self.app.extensions.pop(_EXTENSION_KEY, None)
        if store is not None:
            store.halt()
        if executor is not None:
            executor.halt()
            self._retired.append(executor)
        if scheduler is not None:
            scheduler.shutdown(wait=False)
