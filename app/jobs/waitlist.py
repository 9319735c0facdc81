"""The waitlist: time freed by a cancelled booking is offered to waiting requests.

A cancellation (`app.booking.signals.booking_cancelled`, sent after the commit) starts a solve
of that facility with trigger "waitlist" at once when solves run in worker processes. Whatever
that misses (solves configured to run only here, a solve already running, a web process that
died) the scheduler's `waitlist` job catches up on: a facility whose latest booking
cancellation is newer than its latest solve, and that has pending or unplaced requests, is
solved again. The result is a draft proposal; managers review it like any other."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app.booking import queue, signals
from app.booking.models import Booking, RunStatus, SolveRun
from app.booking.runs import start_solve
from app.catalog.models import Equipment, Facility
from app.dbtypes import utcnow
from app.errors import AppError
from app.extensions import db
from app.jobs.resolves import WAITING, SolveFailed, has_requests, solve_here

log = logging.getLogger(__name__)

TRIGGER = "waitlist"
UNFINISHED = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


def on_booking_cancelled(booking: Booking, **_: Any) -> None:
    """Start a waitlist solve of the booking's facility in a worker, if one would help."""
    if not current_app.config.get("SOLVE_WORKER_PROCESS", True):
        return
    try:
        facility_id = booking.equipment.facility_id
        if has_requests(facility_id, WAITING, utcnow()):
            start_solve(None, facility_id, trigger=TRIGGER)
    except AppError as error:
        # A solve already running, typically; the scheduler's waitlist job catches up.
        log.info("no waitlist solve after cancelling booking %s: %s", booking.id, error.detail)
        db.session.rollback()
    except Exception:  # noqa: BLE001  (the cancellation is committed; never fail it here)
        log.exception("waitlist solve after cancelling booking %s failed to start", booking.id)
        db.session.rollback()


def connect() -> None:
    """Listen to booking cancellations (idempotent)."""
    signals.booking_cancelled.connect(on_booking_cancelled)


def facilities_owed_a_solve(now: datetime) -> list[int]:
    """Return facilities whose latest cancellation came after their latest solve started,
    that have waiting requests and no solve running."""
    last_cancel = (
        select(Equipment.facility_id, func.max(Booking.cancelled_at).label("at"))
        .join(Booking, Booking.equipment_id == Equipment.id)
        .where(Booking.cancelled_at.is_not(None))
        .group_by(Equipment.facility_id)
        .subquery()
    )
    last_solve = (
        select(SolveRun.facility_id, func.max(SolveRun.created_at).label("at"))
        .group_by(SolveRun.facility_id)
        .subquery()
    )
    running = select(SolveRun.facility_id).where(SolveRun.status.in_(UNFINISHED))
    candidates = db.session.scalars(
        select(Facility.id)
        .join(last_cancel, last_cancel.c.facility_id == Facility.id)
        .outerjoin(last_solve, last_solve.c.facility_id == Facility.id)
        .where(
            Facility.active.is_(True),
            Facility.id.not_in(running),
            (last_solve.c.at.is_(None)) | (last_solve.c.at < last_cancel.c.at),
        )
        .order_by(Facility.id)
    ).all()
    return [fid for fid in candidates if has_requests(fid, WAITING, now)]


def run_waitlist_solves(now: datetime) -> list[SolveRun]:
    """Solve every facility owed a waitlist solve: on the solve queue if there is one, else
    here and one after the other."""
    runs, failures = [], []
    for facility_id in facilities_owed_a_solve(now):
        if queue.configured():
            runs.append(start_solve(None, facility_id, trigger=TRIGGER))
            continue
        try:
            run = solve_here(facility_id, trigger=TRIGGER)
        except SolveFailed as failure:
            # The failed run counts as the facility's solve; the others still get theirs.
            failures.append(str(failure))
            continue
        if run is not None:
            runs.append(run)
    if failures:
        raise SolveFailed("; ".join(failures))
    return runs
