"""Solves started by the scheduler: a facility's nightly (cron) re-solve, run in this process."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import exists, select

from app.booking.models import BookingRequest, RequestStatus, RequestStep, RunStatus, SolveRun
from app.booking.proposals import approve_proposal
from app.booking.runs import execute_run, start_solve
from app.catalog.models import Facility
from app.errors import Conflict
from app.extensions import db

log = logging.getLogger(__name__)

WAITING = (RequestStatus.PENDING.value, RequestStatus.UNPLACED.value)
OPEN = (*WAITING, RequestStatus.PROPOSED.value)


class SolveFailed(RuntimeError):
    """A solve the scheduler started ended without a proposal."""


def has_requests(facility_id: int, statuses: tuple[str, ...], now: datetime) -> bool:
    """Tell whether the facility has requests in these statuses whose deadline is ahead."""
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    BookingRequest.status.in_(statuses),
                    BookingRequest.deadline > now,
                    BookingRequest.id.in_(
                        select(RequestStep.request_id).where(
                            RequestStep.facility_id == facility_id
                        )
                    ),
                )
            )
        )
    )


def solve_here(facility_id: int, *, trigger: str) -> SolveRun | None:
    """Queue a system solve of the facility and run it in this process; None if one is running.

    Raises SolveFailed when the run ends without a proposal, so the job run shows why."""
    try:
        run = start_solve(None, facility_id, trigger=trigger, launch=False)
    except Conflict as busy:
        log.info("facility %s: %s", facility_id, busy.detail)
        return None
    execute_run(run.id)
    db.session.expire_all()
    finished = db.session.get(SolveRun, run.id)
    assert finished is not None
    if finished.status != RunStatus.SUCCEEDED.value or finished.proposal is None:
        raise SolveFailed(f"solve run {run.id} {finished.status}: {finished.error}")
    return finished


def scheduled_resolve(facility_id: int, *, now: datetime) -> SolveRun | None:
    """Re-solve a facility on its cron; publish the proposal only if the facility auto-publishes.

    The scheduler itself approves (no manager's name is borrowed), and published bookings are
    pinned in the solve, so publishing never moves them."""
    facility = db.session.get(Facility, facility_id)
    if facility is None or not facility.active:
        log.info("facility %s is gone or inactive; no re-solve", facility_id)
        return None
    if not has_requests(facility.id, OPEN, now):
        log.info("facility %s has no open requests; no re-solve", facility.slug)
        return None
    run = solve_here(facility.id, trigger="schedule")
    if run is None or not facility.auto_publish:
        return run
    proposal_id = run.proposal.id
    try:
        approve_proposal(None, proposal_id)
    except Conflict as conflict:
        raise SolveFailed(
            f"proposal {proposal_id} could not be published automatically: {conflict.detail}"
        ) from conflict
    return run
