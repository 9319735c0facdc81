"""Solve runs and proposals: start a solve in a worker, store its plan, approve it atomically."""

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
from app.accounts import security
from app.booking import audit, reasons, signals
from app.booking import queue as solve_queue
from app.booking.bookings import (
    conflict_error,
    describe,
    find_lane,
    lock_units,
    overlap_guard,
)
from app.booking.metrics import plan_metrics
from app.booking.models import (
    Booking,
    BookingStatus,
    Proposal,
    ProposalItem,
    ProposalStatus,
    ProposalUnplaced,
    RequestStatus,
    RunStatus,
    SolveRun,
)
from app.booking.problems import ProblemIndex, build_problem, latest_proposal
from app.booking.requests import OPEN_STATUSES
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
DRAFT_LIFETIME = timedelta(days=7)
UNFINISHED = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
# Worker processes this process started; kept so finished ones are reaped (no zombies).
_workers: set[subprocess.Popen[bytes]] = set()


# ---------------------------------------------------------------- runs


def get_run(user: User, run_id: int) -> SolveRun:
    """Return the run, or NotFound unless the user manages its facility."""
    run = db.session.get(SolveRun, run_id)
    if run is None or not security.can_manage(user, run.facility_id):
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
    if facility is None or (user is not None and not security.can_manage(user, facility)):
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
    run.problem_json = scheduler.dump_problem(problem)
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
    """Fail runs whose worker stopped sending heartbeats (killed, machine restarted)."""
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
    for run in runs:
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
    db.session.commit()
    return len(runs)


# ---------------------------------------------------------------- proposals


def store_proposal(run: SolveRun, result: scheduler.Result, index: ProblemIndex) -> Proposal:
    """Turn a solver result into a draft proposal; placed requests become proposed, the
    others unplaced with the solver's reason. Older drafts of the facility expire."""
    for stale in db.session.scalars(
        select(Proposal).where(
            Proposal.facility_id == run.facility_id,
            Proposal.status == ProposalStatus.DRAFT.value,
        )
    ):
        stale.status = ProposalStatus.EXPIRED.value
    proposal = Proposal(facility_id=run.facility_id, run=run, status=ProposalStatus.DRAFT.value)
    db.session.add(proposal)
    for req in index.requests.values():
        db.session.refresh(req)

    def still_open(rid: str) -> bool:
        req = index.requests.get(rid)
        if req is None:
            return False
        return req.status in {s.value for s in OPEN_STATUSES} or req.status == "booked"

    accepted: set[str] = set()
    for a in result.assignments:
        booking = index.step_bookings.get((a.request, a.step))
        if booking is not None and booking.pinned:
            proposal.items.append(
                ProposalItem(
                    request_id=booking.request_id,
                    step_id=booking.step_id,
                    equipment_id=booking.equipment_id,
                    start=booking.start,
                    end=booking.end,
                    pinned=True,
                )
            )
            continue
        if not still_open(a.request):
            continue
        step = index.steps[(a.request, a.step)]
        start = index.at(a.start)
        duration = (
            booking.end - booking.start
            if booking is not None
            else timedelta(minutes=step.duration_minutes)
        )
        proposal.items.append(
            ProposalItem(
                request_id=step.request_id,
                step_id=step.id,
                equipment_id=index.units[a.resource].id,
                start=start,
                end=start + duration,
                pinned=False,
            )
        )
        accepted.add(a.request)
    for u in result.unscheduled:
        req = index.requests.get(u.request)
        if req is None or not still_open(u.request):
            continue
        why = reasons.detail(u.code, u.args, index.units)
        proposal.unplaced.append(
            ProposalUnplaced(
                request_id=req.id, reason=u.reason, kind=u.kind.value, reason_detail=why
            )
        )
        if req.status != RequestStatus.BOOKED.value:
            req.status = RequestStatus.UNPLACED.value
            req.unplaced_reason = u.reason
            req.unplaced_reason_detail = why
    for excluded in index.excluded.values():
        req = excluded.request
        why = reasons.detail(excluded.code, excluded.args, index.units)
        proposal.unplaced.append(
            ProposalUnplaced(
                request_id=req.id, reason=excluded.reason, kind="impossible", reason_detail=why
            )
        )
        req.status = RequestStatus.UNPLACED.value
        req.unplaced_reason = excluded.reason
        req.unplaced_reason_detail = why
    for rid in accepted:
        req = index.requests[rid]
        if req.status != RequestStatus.BOOKED.value:
            req.status = RequestStatus.PROPOSED.value
            req.unplaced_reason = ""
            req.unplaced_reason_detail = None
    db.session.flush()

    assert index.problem is not None
    mine = plan_metrics(index.problem, result, index)
    fcfs = plan_metrics(index.problem, scheduler.first_come_first_served(index.problem), index)
    diff = diff_against_published(proposal)
    proposal.metrics = {
        **mine,
        "status": result.status.value,
        "objective": result.objective,
        "bound": result.bound,
        "fcfs": fcfs,
        "ratio": (
            round(mine["accepted_weight"] / fcfs["accepted_weight"], 3)
            if fcfs["accepted_weight"]
            else None
        ),
        "added": len(diff["added"]),
        "moved": len(diff["moved"]),
        "dropped": len(diff["dropped"]),
    }
    run.status = RunStatus.SUCCEEDED.value
    run.finished_at = utcnow()
    audit.record(
        None,
        "solve.finish",
        "solve_run",
        run.id,
        facility_id=run.facility_id,
        proposal=proposal.id,
        accepted_weight=mine["accepted_weight"],
        unplaced=len(proposal.unplaced),
    )
    return proposal


def get_proposal(user: User, proposal_id: int) -> Proposal:
    """Return the proposal, or NotFound unless the user manages its facility."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or not security.can_manage(user, proposal.facility_id):
        raise NotFound(_("No such proposal among your facilities."))
    return proposal


def _published_by_step(step_ids: set[int]) -> dict[int, Booking]:
    if not step_ids:
        return {}
    return {
        b.step_id: b
        for b in db.session.scalars(
            select(Booking).where(
                Booking.step_id.in_(step_ids), Booking.status == BookingStatus.ACTIVE.value
            )
        )
    }


def diff_against_published(proposal: Proposal) -> dict[str, list[dict[str, Any]]]:
    """Compare the proposal with what is published: new bookings, released bookings it moves,
    and released bookings it no longer places."""
    free_items = [i for i in proposal.items if not i.pinned]
    placed_steps = {i.step_id for i in proposal.items}
    published = _published_by_step({i.step_id for i in free_items})
    added: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    for item in free_items:
        booking = published.get(item.step_id)
        entry = {
            "title": f"#{item.request_id} {item.request.title}",
            "request_id": item.request_id,
            "step_id": item.step_id,
            "item": item,
        }
        if booking is None:
            added.append(entry)
        elif (booking.equipment_id, booking.start, booking.end) != (
            item.equipment_id,
            item.start,
            item.end,
        ):
            moved.append({**entry, "booking": booking})
    unplaced_requests = {u.request_id for u in proposal.unplaced}
    dropped = [
        {
            "title": f"#{b.request_id} {b.request.title}",
            "request_id": b.request_id,
            "step_id": b.step_id,
            "booking": b,
        }
        for b in db.session.scalars(
            select(Booking).where(
                Booking.request_id.in_(unplaced_requests or {-1}),
                Booking.status == BookingStatus.ACTIVE.value,
                Booking.pinned.is_(False),
            )
        )
        if b.step_id not in placed_steps
    ]
    return {"added": added, "moved": moved, "dropped": dropped}


def approve_proposal(user: User | None, proposal_id: int) -> list[Booking]:
    """Publish a draft proposal: every booking is created (or moved) or none is.

    A booking or maintenance made since the solve that collides with the plan is a 409 naming
    it, and nothing is written; the approved requests become booked, their bookings pinned.
    `user` None is the scheduler publishing for a facility that opted in (auto-publish)."""
    write_transaction()
    if user is None:
        found = db.session.get(Proposal, proposal_id)
        if found is None:
            raise NotFound(_("No such proposal."))
        proposal = found
    else:
        proposal = get_proposal(user, proposal_id)
    if proposal.status != ProposalStatus.DRAFT.value:
        raise Conflict(_("This proposal is %(s)s, not a draft.", s=proposal.status))
    now = utcnow()
    free_items = [i for i in proposal.items if not i.pinned]
    if any(i.start < now for i in free_items):
        raise Conflict(_("This proposal starts in the past; solve again."))
    diff = diff_against_published(proposal)
    moving = {d["booking"].step_id: d["booking"] for d in diff["moved"]}
    unchanged = _published_by_step({i.step_id for i in free_items})
    for item in free_items:
        expected = (
            RequestStatus.BOOKED.value
            if item.step_id in unchanged
            else RequestStatus.PROPOSED.value
        )
        if item.request.status != expected:
            raise Conflict(
                _(
                    "Request #%(id)d changed since the solve (it is now %(s)s); solve again.",
                    id=item.request_id,
                    s=item.request.status,
                ),
                request=item.request_id,
            )
    lock_units({i.equipment_id for i in free_items} | {b.equipment_id for b in moving.values()})
    published: list[Booking] = []
    conflicts: list[dict[str, Any]] = []
    first_error: Conflict | None = None
    with overlap_guard():
        # Lift the moving and the dropped bookings out of the schedule first, so that neither
        # the checks nor the exclusion constraint see them at their old places (the plan may
        # give a dropped booking's time to another request); nobody else sees this state.
        dropped = [d["booking"] for d in diff["dropped"]]
        for booking in [*moving.values(), *dropped]:
            booking.status = BookingStatus.CANCELLED.value
        db.session.flush()
        for item in free_items:
            if item.step_id in unchanged and item.step_id not in moving:
                unchanged[item.step_id].pinned = True
                continue
            lane, blocking, maintenance = find_lane(
                item.equipment, item.start, item.end, item.request.project_id
            )
            if lane is None:
                error = conflict_error(item.equipment, blocking, maintenance)
                first_error = first_error or error
                conflicts.extend(describe(b) for b in blocking)
                continue
            booking = moving.get(item.step_id)
            if booking is None:
                booking = Booking(
                    request_id=item.request_id,
                    step_id=item.step_id,
                    source="proposal",
                )
                db.session.add(booking)
            else:
                booking.status = BookingStatus.ACTIVE.value
                booking.sequence += 1
                booking.updated_at = now
            booking.equipment_id = item.equipment_id
            booking.lane = lane
            booking.start, booking.end = item.start, item.end
            booking.proposal_id = proposal.id
            booking.pinned = True
            booking.released_by_id = None
            booking.release_reason = ""
            db.session.flush()
            published.append(booking)
        if first_error is not None:
            db.session.rollback()
            raise Conflict(
                _(
                    "Bookings or maintenance made since the solve collide with this proposal; "
                    "nothing was published. Solve again. %(first)s",
                    first=first_error.detail,
                ),
                conflicts=conflicts,
                maintenance=first_error.extra.get("maintenance", []),
            )
        for booking in dropped:
            booking.cancelled_at = now
            booking.sequence += 1
            booking.updated_at = now
        for item in free_items:
            item.request.status = RequestStatus.BOOKED.value
        for booking in dropped:
            if all(b.status == BookingStatus.CANCELLED.value for b in booking.request.bookings):
                booking.request.status = RequestStatus.CANCELLED.value
        proposal.status = ProposalStatus.APPROVED.value
        proposal.decided_by_id = user.id if user is not None else None
        proposal.decided_at = now
        audit.record(
            user,
            "proposal.approve",
            "proposal",
            proposal.id,
            facility_id=proposal.facility_id,
            automatic=user is None,
            published=len(published),
            moved=len(moving),
            dropped=[b.id for b in dropped],
        )
        db.session.commit()
    signals.proposal_approved.send(proposal, bookings=published, moved=list(moving.values()))
    for booking in dropped:
        signals.booking_cancelled.send(booking, by=user, proposal=proposal)
    return published


def _return_to_pending(proposal: Proposal) -> None:
    for item in proposal.items:
        if not item.pinned and item.request.status == RequestStatus.PROPOSED.value:
            item.request.status = RequestStatus.PENDING.value


def discard_proposal(user: User, proposal_id: int) -> Proposal:
    """Throw a draft proposal away; its proposed requests are pending again."""
    write_transaction()
    proposal = get_proposal(user, proposal_id)
    if proposal.status != ProposalStatus.DRAFT.value:
        raise Conflict(_("This proposal is %(s)s, not a draft.", s=proposal.status))
    proposal.status = ProposalStatus.DISCARDED.value
    proposal.decided_by_id = user.id
    proposal.decided_at = utcnow()
    _return_to_pending(proposal)
    audit.record(
        user, "proposal.discard", "proposal", proposal.id, facility_id=proposal.facility_id
    )
    db.session.commit()
    return proposal


def expire_stale_proposals(now: datetime) -> int:
    """Expire drafts older than a week or whose plan has begun; their requests are pending."""
    write_transaction()
    drafts = list(
        db.session.scalars(select(Proposal).where(Proposal.status == ProposalStatus.DRAFT.value))
    )
    expired = 0
    for proposal in drafts:
        started = any(i.start < now for i in proposal.items if not i.pinned)
        if started or proposal.created_at < now - DRAFT_LIFETIME:
            proposal.status = ProposalStatus.EXPIRED.value
            _return_to_pending(proposal)
            audit.record(
                None, "proposal.expire", "proposal", proposal.id, facility_id=proposal.facility_id
            )
            expired += 1
    db.session.commit()
    return expired
