"""Solve runs: start a solve in a worker process, follow its progress, stop it, replay it.

A run builds its problem from the rows (`problems.build_problem`), solves it, and hands the
`Result` to `proposals.store_proposal`; `app/booking/worker.py` is the worker's entry point."""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

import scheduler
from app import access
from app.booking import audit
from app.booking import queue as solve_queue
from app.booking.models import (
    RunStatus,
    SolveRun,
)
from app.booking.problems import build_problem, latest_proposal
from app.booking.proposals import store_proposal
from app.catalog.models import Facility
from app.config import PROJECT_ROOT
from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import Conflict, NotFound, ServiceUnavailable, ValidationError
from app.extensions import db
from app.i18n import default_language, user_language

if TYPE_CHECKING:
    from app.accounts.models import User

log = logging.getLogger(__name__)

MAX_TIME_LIMIT = 600.0
MAX_WORK_LIMIT = 100_000.0
"""Work units (LNS rounds, scheduler.cpsat.search.WORK_DTIME); 300 is about a minute on 2 cores."""
SOLVE_SEED = 0
SOLVE_WORKERS = 2
UNFINISHED = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
# Worker processes this process started; kept so finished ones are reaped (no zombies).
_workers: set[subprocess.Popen[bytes]] = set()


def get_run(user: User, run_id: int) -> SolveRun:
    """Return the run, or NotFound unless the user manages its facility."""
    run = db.session.get(SolveRun, run_id)
    if run is None or not access.can_see_run(user, run):
        raise NotFound(_("No such solve run among your facilities."))
    return run


def start_solve(
    user: User | None,
    facility_id: int,
    *,
    time_limit: float | None = None,
    work_limit: float | None = None,
    trigger: str = "manual",
    launch: bool = True,
) -> SolveRun:
    """Queue a solve of the facility's open requests and start a worker process for it.

    Returns at once. `user` None is the system (a scheduled job); `launch=False` (or the
    setting SOLVE_WORKER_PROCESS=False) only queues the run, for callers that run
    `execute_run` themselves. With a work limit (for the system's runs, the setting
    SOLVER_WORK_LIMIT) the plan replays exactly from the stored problem file; the time
    limit is then only a safety cap, MAX_TIME_LIMIT unless given."""
    write_transaction()
    facility = db.session.get(Facility, facility_id)
    if facility is None or (user is not None and not access.can_manage(user, facility)):
        raise NotFound(_("No such facility among those you manage."))
    if work_limit is None and user is None:
        work_limit = current_app.config.get("SOLVER_WORK_LIMIT")
    if work_limit is not None and (
        isinstance(work_limit, bool)
        or not isinstance(work_limit, int | float)
        or not 1 <= work_limit <= MAX_WORK_LIMIT
    ):
        raise ValidationError(
            _("The work limit is between 1 and 100000 work units."), field="work_limit"
        )
    if time_limit is None:
        time_limit = (
            MAX_TIME_LIMIT
            if work_limit is not None
            else float(current_app.config.get("SOLVER_TIME_LIMIT", 30.0))
        )
    if (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, int | float)
        or not 1 <= time_limit <= MAX_TIME_LIMIT
    ):
        raise ValidationError(
            _("The time limit is between 1 and 600 seconds."), field="time_limit"
        )
    busy = _unfinished_run(facility.id)
    if busy is not None:
        raise _already_solving(busy)
    run = SolveRun(
        facility_id=facility.id,
        started_by_id=user.id if user is not None else None,
        trigger=trigger,
        time_limit_seconds=float(time_limit),
        seed=SOLVE_SEED,
        work_limit=None if work_limit is None else float(work_limit),
        status=RunStatus.QUEUED.value,
    )
    db.session.add(run)
    try:
        db.session.flush()
    except IntegrityError:
        # A solve started at the same moment (PostgreSQL's check above cannot see another
        # transaction's run): the unique index refused ours; name the one that won.
        db.session.rollback()
        busy = _unfinished_run(facility_id)
        if busy is None:
            raise
        raise _already_solving(busy) from None
    audit.record(
        user, "solve.start", "solve_run", run.id, facility_id=facility.id, trigger=trigger
    )
    db.session.commit()
    if launch and current_app.config.get("SOLVE_WORKER_PROCESS", True):
        _launch_worker(run)
    return run


def _unfinished_run(facility_id: int) -> SolveRun | None:
    return db.session.scalar(
        select(SolveRun).where(
            SolveRun.facility_id == facility_id, SolveRun.status.in_(UNFINISHED)
        )
    )


def _already_solving(busy: SolveRun) -> Conflict:
    return Conflict(
        _("Solve run %(id)d of this facility has not finished yet.", id=busy.id),
        run=busy.id,
    )


def run_elapsed(run: SolveRun, now: datetime | None = None) -> float | None:
    """Return how long the run has been solving (until it finished), in seconds; None while
    no worker has started it. Pages tick their clock on from this between polls."""
    if run.started_at is None:
        return None
    until = run.finished_at or now or utcnow()
    return round(max((until - run.started_at).total_seconds(), 0.0), 2)


def download_name(run: SolveRun, kind: str) -> str:
    """Return the file name of the run's problem or result file as the download gives it."""
    return f"{run.facility.slug}-run{run.id}-{kind}.json"


def replay_command(run: SolveRun) -> str:
    """Return the command that solves the run's downloaded problem file again.

    With the run's work limit it gives the same plan on any machine (`replays_exactly`); a
    wall-clock run is replayed with its time limit, and may give another plan."""
    parts = ["python -m scheduler solve", download_name(run, "problem"), f"--seed {run.seed}"]
    if run.work_limit is not None:
        parts.append(f"--work-limit {run.work_limit:g}")
    else:
        parts.append(f"--time-limit {run.time_limit_seconds:g} --workers {SOLVE_WORKERS}")
    parts.append(f"-o {download_name(run, 'replay')}")
    return " ".join(parts)


def replays_exactly(run: SolveRun) -> bool | None:
    """Return whether the replay command gives this run's plan again.

    True for a run with a work limit (None while it has no result yet); False for a wall-clock
    run, or for a work-limited one that its time limit cut short (the result file says so)."""
    if run.work_limit is None:
        return False
    if not run.result_json:
        return None
    stats = json.loads(run.result_json).get("stats") or {}
    return stats.get("reproducible") is True


def _launch_worker(run: SolveRun) -> None:
    """Put the run on the solve queue if there is one; else start `python -m
    app.booking.worker RUN_ID` in its own session, so it outlives the web request (and the
    web worker) that started it."""
    if solve_queue.configured():
        solve_queue.enqueue_run(run)
        return
    for finished in [w for w in _workers if w.poll() is not None]:
        _workers.discard(finished)
    env = {
        **os.environ,
        "DATABASE_URL": current_app.config["SQLALCHEMY_DATABASE_URI"],
        "PILOTSLOT_DEFAULT_LANGUAGE": default_language(),
    }
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.booking.worker", str(run.id)],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as error:
        run.status = RunStatus.FAILED.value
        run.error = _("The solver could not be started: %(e)s", e=error.strerror or str(error))
        run.finished_at = utcnow()
        db.session.commit()
        raise ServiceUnavailable(run.error) from error
    # The worker records itself when it claims the run: once the run is committed the request
    # writes nothing more, so a busy database cannot turn a started solve into an error.
    _workers.add(process)


def cancel_run(user: User, run_id: int) -> SolveRun:
    """Ask a queued or running solve to stop; its plan is then thrown away."""
    write_transaction()
    run = get_run(user, run_id)
    if run.status not in UNFINISHED:
        raise Conflict(_("This run has already finished (%(s)s).", s=run.status))
    run.cancel_requested = True
    if run.status == RunStatus.QUEUED.value:
        run.status = RunStatus.CANCELLED.value
        run.finished_at = utcnow()
    audit.record(user, "solve.cancel", "solve_run", run.id, facility_id=run.facility_id)
    db.session.commit()
    return run


class _ProgressWriter:
    """Keeps the latest solver progress and, from its own thread, writes it with a heartbeat
    to the run at most twice a second through its own connection (the solver calls back
    from its threads, where the request's session must not be used)."""

    INTERVAL = 0.5

    def __init__(
        self,
        engine: Engine,
        run_id: int,
        listener: Callable[[scheduler.Progress], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.listener = listener
        self.on_cancel = on_cancel
        self.run_id = run_id
        self.lock = threading.Lock()
        self.progress: dict[str, Any] = {
            "objective": None,
            "bound": None,
            "elapsed": 0.0,
            "history": [],
        }
        self.dirty = True
        self.cancelled = False
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __call__(self, snapshot: scheduler.Progress) -> None:
        with self.lock:
            point = [
                round(snapshot.elapsed_seconds, 2),
                snapshot.objective,
                snapshot.bound,
            ]
            history = self.progress["history"]
            if not history or history[-1][1:] != point[1:]:
                history.append(point)
            self.progress.update(
                objective=snapshot.objective,
                bound=snapshot.bound,
                elapsed=round(snapshot.elapsed_seconds, 2),
            )
            self.dirty = True
        if self.listener is not None:
            self.listener(snapshot)

    def _write(self) -> None:
        with self.lock:
            values: dict[str, Any] = {"heartbeat_at": utcnow()}
            if self.dirty:
                values["progress"] = {**self.progress, "history": list(self.progress["history"])}
                self.dirty = False
        with self.engine.begin() as conn:
            conn.execute(update(SolveRun).where(SolveRun.id == self.run_id).values(**values))
            cancel = conn.scalar(
                select(SolveRun.cancel_requested).where(SolveRun.id == self.run_id)
            )
        self.cancelled = bool(cancel)

    def _loop(self) -> None:
        while not self.stopping.wait(self.INTERVAL):
            try:
                self._write()
            except Exception:
                log.exception("could not write the progress of solve run %s", self.run_id)
            if self.cancelled and self.on_cancel is not None and not self.stopping.is_set():
                self.on_cancel()

    def __enter__(self) -> _ProgressWriter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()
        self._write()


def execute_run(
    run_id: int,
    *,
    on_progress: Callable[[scheduler.Progress], None] | None = None,
    exit_on_cancel: bool = False,
) -> None:
    """Run a queued solve to its end (in the worker): problem, solve with progress, proposal.

    Any failure marks the run failed with the reason; nothing is half stored. `on_progress`
    also hears every progress report (the command line prints them). With `exit_on_cancel`
    (only for a process of its own, the worker) a manager's stop ends the process mid-solve;
    otherwise it stops the search within a second and the run is marked cancelled."""
    claimed = db.session.execute(
        update(SolveRun)
        .where(SolveRun.id == run_id, SolveRun.status == RunStatus.QUEUED.value)
        .values(
            status=RunStatus.RUNNING.value,
            started_at=utcnow(),
            heartbeat_at=utcnow(),
            worker=f"{socket.gethostname()}:{os.getpid()}",
        )
    )
    db.session.commit()
    if claimed.rowcount != 1:
        log.warning("solve run %s is not queued; nothing to do", run_id)
        return
    run = db.session.get(SolveRun, run_id)
    assert run is not None
    from app.accounts.models import User

    starter = db.session.get(User, run.started_by_id) if run.started_by_id else None
    # What the run writes for people (its error, a cancellation) is in its starter's language.
    with force_locale(user_language(starter)):
        _run_to_its_end(run, on_progress, exit_on_cancel)


def _run_to_its_end(
    run: SolveRun,
    on_progress: Callable[[scheduler.Progress], None] | None,
    exit_on_cancel: bool,
) -> None:
    run_id = run.id
    try:
        _execute(run, on_progress, exit_on_cancel)
    except Exception as error:
        log.exception("solve run %s failed", run_id)
        db.session.rollback()
        write_transaction()
        run = db.session.get(SolveRun, run_id)
        assert run is not None
        run.status = RunStatus.FAILED.value
        run.error = _("The solve failed: %(e)s", e=f"{type(error).__name__}: {error}")
        run.finished_at = utcnow()
        audit.record(
            None, "solve.fail", "solve_run", run.id, facility_id=run.facility_id, error=run.error
        )
        db.session.commit()


def _exit_cancelled(engine: Engine, run_id: int, reason: str) -> None:
    """Mark the run cancelled and end this worker process at once.

    The search runs in CP-SAT's threads and the solver's own rounds, which cannot be stopped
    from outside; nothing of the run but its problem file is stored yet, so ending the
    process loses nothing and frees both cores within a poll interval."""
    with engine.begin() as conn:
        conn.execute(
            update(SolveRun)
            .where(SolveRun.id == run_id, SolveRun.status == RunStatus.RUNNING.value)
            .values(status=RunStatus.CANCELLED.value, error=reason, finished_at=utcnow())
        )
    engine.dispose()
    log.info("solve run %s stopped by a manager; worker exits", run_id)
    logging.shutdown()
    os._exit(0)


def _execute(
    run: SolveRun,
    on_progress: Callable[[scheduler.Progress], None] | None,
    exit_on_cancel: bool = False,
) -> None:
    facility = run.facility
    problem, index = build_problem(facility, now=utcnow(), previous=latest_proposal(facility))
    problem_json = scheduler.dump_problem(problem)
    # End the reads before writing: on SQLite a read transaction that then writes fails at
    # once ("database is locked") if any other process (another worker's progress) wrote since.
    write_transaction()
    run.problem_json = problem_json
    time_limit = run.time_limit_seconds
    db.session.commit()
    cancelled_reason = _("Cancelled by a manager; the plan was not kept.")
    on_cancel: Callable[[], None] | None = None
    if exit_on_cancel:
        on_cancel = functools.partial(_exit_cancelled, db.engine, run.id, cancelled_reason)
    started = time.monotonic()
    with _ProgressWriter(db.engine, run.id, on_progress, on_cancel) as writer:
        result = scheduler.solve(
            problem,
            time_limit=time_limit,
            workers=SOLVE_WORKERS,
            seed=run.seed,
            work_limit=run.work_limit,
            on_progress=writer,
            # A manager's Stop, seen by the progress writer's next poll of the run row, ends
            # the search where it is, in a worker process or in the scheduler's own.
            should_stop=lambda: writer.cancelled,
        )
    log.info("solve run %s: %s in %.1f s", run.id, result.status, time.monotonic() - started)
    write_transaction()
    db.session.refresh(run)
    run.result_json = scheduler.dump_result(result)
    if run.cancel_requested or writer.cancelled:
        run.status = RunStatus.CANCELLED.value
        run.error = cancelled_reason
        run.finished_at = utcnow()
        db.session.commit()
        return
    if result.status in (scheduler.Status.INFEASIBLE, scheduler.Status.UNKNOWN):
        errors = "; ".join(str(e) for e in result.stats.get("errors", []))
        run.status = RunStatus.FAILED.value
        run.error = (
            _("The published bookings contradict each other: %(e)s", e=errors)
            if result.status == scheduler.Status.INFEASIBLE
            else _("The solver found no plan within %(s)s seconds.", s=round(time_limit))
        )
        run.finished_at = utcnow()
        audit.record(
            None, "solve.fail", "solve_run", run.id, facility_id=run.facility_id, error=run.error
        )
        db.session.commit()
        return
    store_proposal(run, result, index)
    db.session.commit()


def mark_interrupted_runs(now: datetime, stale_after_seconds: float = 60) -> int:
    """Retry or fail runs whose worker stopped sending heartbeats (killed, machine restarted).

    A running run that was a job of its own on the queue goes back on it once
    (`queue.retry_or_fail`); other runs are failed. Returns how many runs were handled."""
    write_transaction()
    limit = now - timedelta(seconds=stale_after_seconds)
    runs = solve_queue.not_waiting(
        db.session.scalars(
            select(SolveRun).where(
                SolveRun.status.in_(UNFINISHED),
                func.coalesce(SolveRun.heartbeat_at, SolveRun.created_at) < limit,
            )
        )
    )
    running = [r for r in runs if r.status == RunStatus.RUNNING.value]
    lost = [r.id for r in running if solve_queue.has_run_job(r)]
    nightly = [r for r in running if r.id not in lost and r.trigger == "schedule"]
    runs = [r for r in runs if r.id not in lost and r not in nightly]
    for run in runs:
        _fail_interrupted(run, now)
    db.session.commit()
    for run_id in lost:
        solve_queue.retry_or_fail(
            run_id, _("its worker stopped answering: the host ended or restarted")
        )
    # A nightly job's run goes back on the queue through its night; any other is failed.
    for run in nightly:
        if not solve_queue.retry_lost_night_run(run):
            write_transaction()
            if run.status in UNFINISHED:
                _fail_interrupted(run, now)
            db.session.commit()
    return len(runs) + len(lost) + len(nightly)


def _fail_interrupted(run: SolveRun, now: datetime) -> None:
    never_started = run.status == RunStatus.QUEUED.value
    run.status = RunStatus.FAILED.value
    run.finished_at = now
    run.error = (
        _("The solver never started (no worker picked the run up); start the solve again.")
        if never_started
        else _(
            "The solver stopped answering (its worker ended or the machine restarted); "
            "nothing was published. Start the solve again."
        )
    )
    audit.record(None, "solve.interrupted", "solve_run", run.id, facility_id=run.facility_id)
