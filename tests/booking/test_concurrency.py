"""No double booking under concurrency: approvals and manual bookings fired at once from threads,
each with its own application context and database session; and the real worker process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.booking import bookings as booking_service
from app.booking import proposals, runs
from app.booking.models import Booking, BookingStatus, RunStatus, SolveRun
from app.booking.requests import StepInput
from app.errors import Conflict
from tests.booking.conftest import Core
from tests.factories import make_booking

RACERS = 6


def race(app: Flask, actions: list[Callable[[], Any]]) -> list[str]:
    """Run the actions at the same moment, each in its own thread and app context; return
    'won' or 'conflict' for each."""
    from app.extensions import db

    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = ["unfinished"] * len(actions)

    def runner(i: int, action: Callable[[], Any]) -> None:
        with app.app_context():
            barrier.wait()
            try:
                action()
                outcomes[i] = "won"
            except Conflict:
                outcomes[i] = "conflict"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=runner, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def assert_no_overlap(db: Any) -> None:
    # End the test's own transaction so it reads what the threads committed.
    db.session.rollback()
    active = db.session.scalars(
        select(Booking).where(Booking.status == BookingStatus.ACTIVE.value)
    ).all()
    for a in active:
        for b in active:
            if a.id < b.id and a.equipment_id == b.equipment_id and a.lane == b.lane:
                assert a.end <= b.start or b.end <= a.start, (a, b)


def user(user_id: int) -> User:
    from app.extensions import db

    found = db.session.get(User, user_id)
    assert found is not None
    return found


def test_concurrent_manual_bookings_of_one_slot_have_one_winner(
    app: Flask, core: Core, db: Any
) -> None:
    projects = [core.amber.id, core.birch.id] * (RACERS // 2)
    unit, start, end, mia = core.lcms1.id, core.at(0), core.at(0, "12:00"), core.mia.id

    def book(project_id: int) -> Callable[[], Any]:
        return lambda: booking_service.manual_booking(
            user(mia), project_id=project_id, equipment_id=unit, start=start, end=end, title="Rush"
        )

    outcomes = race(app, [book(p) for p in projects])
    assert sorted(outcomes) == ["conflict"] * (RACERS - 1) + ["won"]
    assert_no_overlap(db)


def test_approval_racing_manual_bookings_publishes_all_or_nothing(
    app: Flask, core: Core, db: Any
) -> None:
    core.request(
        "Campaign",
        steps=[
            StepInput(duration_minutes=120, unit_ids=[core.lcms1.id]),
            StepInput(duration_minutes=120, unit_ids=[core.lcms2.id]),
        ],
    )
    proposal = core.solve().proposal
    assert proposal is not None and len(proposal.items) == 2
    second = next(i for i in proposal.items if i.equipment_id == core.lcms2.id)
    mia, proposal_id = core.mia.id, proposal.id
    unit, start, end, birch = core.lcms2.id, second.start, second.end, core.birch.id

    def approve() -> Any:
        return proposals.approve_proposal(user(mia), proposal_id)

    def book() -> Any:
        return booking_service.manual_booking(
            user(mia), project_id=birch, equipment_id=unit, start=start, end=end, title="Rush"
        )

    outcomes = race(app, [approve, book, book])
    assert outcomes.count("won") == 1 and outcomes.count("conflict") == 2
    db.session.rollback()
    published = db.session.scalars(select(Booking).where(Booking.proposal_id == proposal_id)).all()
    # The campaign's two bookings were published together, or neither was.
    assert len(published) == (2 if outcomes[0] == "won" else 0)
    assert_no_overlap(db)


def test_exclusion_constraint_stops_overlaps_the_services_never_made(
    app: Flask, core: Core, db: Any
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL only")
    first = booking_service.manual_booking(
        core.mia,
        project_id=core.amber.id,
        equipment_id=core.lcms1.id,
        start=core.at(0),
        end=core.at(0, "12:00"),
        title="First",
    )
    with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"):
        make_booking(
            None,
            core.lcms1,
            core.at(0, "11:00"),
            core.at(0, "13:00"),
            request=first.request,
            lane=0,
        )
    db.session.rollback()


@pytest.mark.slow
def test_the_real_worker_process_runs_a_solve(app: Flask, core: Core, db: Any) -> None:
    core.request()
    app.config["SOLVE_WORKER_PROCESS"] = True
    run = runs.start_solve(core.mia, core.bio.id, time_limit=3)
    deadline = time.monotonic() + 90
    status = run.status
    while time.monotonic() < deadline:
        db.session.rollback()
        status = db.session.get(SolveRun, run.id).status
        if status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            break
        time.sleep(0.3)
    # Let the worker exit before the test ends, so no process outlives its database.
    for worker in list(runs._workers):
        worker.wait(timeout=30)
    finished = db.session.get(SolveRun, run.id)
    assert status == RunStatus.SUCCEEDED, finished.error
    # The worker recorded itself when it claimed the run.
    started = {w.pid for w in runs._workers}
    assert int(finished.worker.rsplit(":", 1)[1]) in started
    assert finished.proposal is not None and len(finished.proposal.items) == 1
    assert finished.heartbeat_at is not None and finished.progress["history"]
