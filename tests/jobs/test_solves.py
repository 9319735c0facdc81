"""Solves the scheduler starts: cron re-solves, waitlist offers after a cancellation, and solve
workers killed mid-solve."""

from __future__ import annotations

import signal
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.accounts.services import create_api_token
from app.booking import proposals, runs
from app.booking.bookings import cancel_booking
from app.booking.models import (
    AuditEvent,
    Booking,
    BookingRequest,
    Proposal,
    ProposalStatus,
    RequestStatus,
    RunStatus,
    SolveRun,
)
from app.booking.requests import StepInput, create_request, update_request
from app.dbtypes import utcnow
from app.jobs import tasks
from app.jobs.resolves import SolveFailed
from tests.factories import make_booking
from tests.jobs.conftest import World, wait_for

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _solves_in_this_process(app: Flask) -> None:
    """Queue web solves without worker processes unless a test starts one on purpose."""
    app.config.update(SOLVE_WORKER_PROCESS=False, SOLVER_TIME_LIMIT=5)


def _monday() -> date:
    today = datetime.now(ZONE).date()
    return today + timedelta(days=7 - today.weekday())


def _at(day: date, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime.combine(day, time(hour, minute), ZONE)


def _request(user: Any, project: Any, title: str, day: date, hours: int = 9) -> BookingRequest:
    """Ask for `hours` of LC-MS on one day (the unit is open 09:00-18:00)."""
    return create_request(
        user,
        project.id,
        title=title,
        earliest_start=_at(day, "09:00"),
        deadline=_at(day, "18:00"),
        steps=[StepInput(duration_minutes=hours * 60, capability="lc-ms")],
    )


def _runs(db: Any, trigger: str) -> list[SolveRun]:
    db.session.commit()
    return list(db.session.scalars(select(SolveRun).where(SolveRun.trigger == trigger)))


def test_cron_resolve_leaves_a_draft_for_the_managers(world: World, db: Any) -> None:
    request = _request(world.ann, world.amber, "Peptide map", _monday())
    tasks.resolve_facility(world.facility.id)
    [run] = _runs(db, "schedule")
    assert run.status == RunStatus.SUCCEEDED.value and run.started_by_id is None
    assert run.proposal.status == ProposalStatus.DRAFT.value
    assert [item.request_id for item in run.proposal.items] == [request.id]
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_cron_resolve_publishes_when_the_facility_auto_publishes(world: World, db: Any) -> None:
    world.facility.auto_publish = True
    db.session.commit()
    request = _request(world.ann, world.amber, "Peptide map", _monday())
    tasks.resolve_facility(world.facility.id)
    [run] = _runs(db, "schedule")
    assert run.proposal.status == ProposalStatus.APPROVED.value
    assert db.session.get(BookingRequest, request.id).status == RequestStatus.BOOKED.value
    [booking] = db.session.scalars(select(Booking)).all()
    assert booking.pinned and booking.start == _at(_monday(), "09:00")
    assert run.proposal.decided_by_id is None and run.proposal.decided_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "proposal.approve"))
    assert event.actor_id is None and event.details["automatic"] is True


def test_auto_publish_needs_no_manager_and_pages_name_the_scheduler(
    world: World, db: Any, client: FlaskClient, login: Any
) -> None:
    world.facility.auto_publish = True
    world.manager.active = False
    db.session.commit()
    _request(world.ann, world.amber, "Peptide map", _monday())
    tasks.resolve_facility(world.facility.id)
    [run] = _runs(db, "schedule")
    assert run.proposal.status == ProposalStatus.APPROVED.value
    proposal_id = run.proposal.id
    world.manager.active = True
    db.session.commit()
    login(world.manager)
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert "Published automatically by the scheduler" in page
    assert "Mia" not in page.split('id="decided-by"')[1].split("</p>")[0]
    audit = client.get(f"/manage/{world.facility.slug}/audit").get_data(as_text=True)
    row = next(r for r in audit.split("<tr>") if "proposal.approve" in r)
    assert "Scheduler (automatic)" in row and "Mia" not in row
    _row, token = create_api_token(world.manager, "audit test")
    body = client.get(
        f"/api/v1/proposals/{proposal_id}", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert body["decided_by"] == "scheduler"


def test_a_manager_approval_shows_the_managers_name(
    world: World, db: Any, client: FlaskClient, login: Any
) -> None:
    _request(world.ann, world.amber, "Peptide map", _monday())
    run = runs.start_solve(world.manager, world.facility.id, launch=False)
    runs.execute_run(run.id)
    db.session.expire_all()
    proposal_id = db.session.get(SolveRun, run.id).proposal.id
    proposals.approve_proposal(world.manager, proposal_id)
    login(world.manager)
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert "Approved by Mia" in page and "automatically" not in page


def test_cron_resolve_without_open_requests_does_not_solve(world: World, db: Any) -> None:
    tasks.resolve_facility(world.facility.id)
    assert _runs(db, "schedule") == []


def test_cron_resolve_skips_a_facility_whose_solve_is_running(world: World, db: Any) -> None:
    _request(world.ann, world.amber, "Peptide map", _monday())
    manual = runs.start_solve(world.manager, world.facility.id, launch=False)
    tasks.resolve_facility(world.facility.id)
    assert _runs(db, "schedule") == []
    assert db.session.get(SolveRun, manual.id).status == RunStatus.QUEUED.value


def test_a_failed_cron_solve_is_reported_to_the_job(world: World, db: Any) -> None:
    _request(world.ann, world.amber, "Peptide map", _monday())
    # Two published bookings that overlap cannot both be pinned: the solve must fail. (A second
    # lane gets them past PostgreSQL's exclusion constraint, as a data fix by hand might.)
    monday = _monday()
    make_booking(world.amber, world.unit, _at(monday, "10:00"), _at(monday, "12:00"), by=world.ann)
    make_booking(
        world.birch, world.unit, _at(monday, "11:00"), _at(monday, "13:00"), by=world.bob, lane=1
    )
    with pytest.raises(SolveFailed, match="failed"):
        tasks.resolve_facility(world.facility.id)
    assert _runs(db, "schedule")[0].status == RunStatus.FAILED.value


def _congested(world: World, db: Any) -> tuple[Booking, BookingRequest]:
    """Amber holds the whole of Monday; Birch's request for Monday is left unplaced."""
    monday = _monday()
    _request(world.ann, world.amber, "Fermentation", monday)
    run = runs.start_solve(world.manager, world.facility.id, launch=False)
    runs.execute_run(run.id)
    db.session.expire_all()
    [booking] = proposals.approve_proposal(
        world.manager, db.session.get(SolveRun, run.id).proposal.id
    )
    waiting = _request(world.bob, world.birch, "Antenna run", monday)
    run = runs.start_solve(world.manager, world.facility.id, launch=False)
    runs.execute_run(run.id)
    db.session.expire_all()
    assert db.session.get(BookingRequest, waiting.id).status == RequestStatus.UNPLACED.value
    proposals.discard_proposal(world.manager, db.session.get(SolveRun, run.id).proposal.id)
    return booking, waiting


def test_a_cancellation_offers_the_freed_time_to_an_unplaced_request(
    world: World, db: Any
) -> None:
    booking, waiting = _congested(world, db)
    db.session.get(BookingRequest, waiting.id).status = RequestStatus.UNPLACED.value
    db.session.commit()
    tasks.offer_freed_time()
    assert _runs(db, "waitlist") == [], "nothing was cancelled yet"

    cancel_booking(world.ann, booking.id, reason="Strain contaminated")
    tasks.offer_freed_time()
    [run] = _runs(db, "waitlist")
    assert run.status == RunStatus.SUCCEEDED.value
    proposal = run.proposal
    assert proposal.status == ProposalStatus.DRAFT.value, "managers review the offer"
    [item] = [i for i in proposal.items if i.request_id == waiting.id]
    assert item.start == _at(_monday(), "09:00") and item.equipment_id == world.unit.id
    # The offer is made once per cancellation.
    tasks.offer_freed_time()
    assert len(_runs(db, "waitlist")) == 1


def test_no_waitlist_solve_when_nobody_waits(world: World, db: Any) -> None:
    monday = _monday()
    _request(world.ann, world.amber, "Fermentation", monday)
    run = runs.start_solve(world.manager, world.facility.id, launch=False)
    runs.execute_run(run.id)
    db.session.expire_all()
    [booking] = proposals.approve_proposal(
        world.manager, db.session.get(SolveRun, run.id).proposal.id
    )
    cancel_booking(world.ann, booking.id)
    tasks.offer_freed_time()
    assert _runs(db, "waitlist") == []


def test_a_cancellation_starts_a_waitlist_worker_at_once(
    app: Flask, world: World, db: Any
) -> None:
    booking, waiting = _congested(world, db)
    app.config["SOLVE_WORKER_PROCESS"] = True
    cancel_booking(world.ann, booking.id)
    [run] = _runs(db, "waitlist")

    def finished() -> SolveRun | None:
        db.session.commit()
        db.session.expire_all()
        found = db.session.get(SolveRun, run.id)
        return found if found.status not in ("queued", "running") else None

    done = wait_for(finished, timeout=60, what="the waitlist worker to finish")
    started = {w.pid for w in runs._workers}
    for worker in list(runs._workers):
        worker.wait(timeout=30)
    assert done.status == RunStatus.SUCCEEDED.value, done.error
    assert int(done.worker.rsplit(":", 1)[1]) in started, "a worker process solved it"
    assert waiting.id in {i.request_id for i in done.proposal.items}


def _oversubscribed(world: World) -> None:
    """Far more weighted requests than one unit can hold in a week: a long solve."""
    monday = _monday()
    for n in range(60):
        req = create_request(
            world.ann if n % 2 else world.bob,
            (world.amber if n % 2 else world.birch).id,
            title=f"Run {n}",
            earliest_start=_at(monday, "09:00"),
            deadline=_at(monday + timedelta(days=4), "18:00"),
            steps=[StepInput(duration_minutes=60 + (n * 37) % 300, capability="lc-ms")],
        )
        update_request(world.manager, req.id, weight=1 + (n * 7) % 5)


def test_a_worker_killed_mid_solve_is_marked_failed_and_nothing_is_published(
    app: Flask, world: World, db: Any
) -> None:
    _oversubscribed(world)
    app.config.update(SOLVE_WORKER_PROCESS=True, SOLVER_TIME_LIMIT=600)
    run = runs.start_solve(world.manager, world.facility.id)

    def running() -> SolveRun | None:
        db.session.commit()
        db.session.expire_all()
        found = db.session.get(SolveRun, run.id)
        return found if found.status == RunStatus.RUNNING.value and found.worker else None

    found = wait_for(running, timeout=30, what="the worker to start solving")
    pid = int(found.worker.rsplit(":", 1)[1])
    [worker] = [w for w in runs._workers if w.pid == pid]
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=10) == -signal.SIGKILL

    # Within the minute the heartbeat may still look fresh; a minute later it is stale.
    assert runs.mark_interrupted_runs(utcnow()) == 0
    assert runs.mark_interrupted_runs(utcnow() + timedelta(seconds=61)) == 1
    db.session.expire_all()
    failed = db.session.get(SolveRun, run.id)
    assert failed.status == RunStatus.FAILED.value
    assert "stopped answering" in failed.error
    assert db.session.scalar(select(func.count(Proposal.id))) == 0
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    statuses = set(db.session.scalars(select(BookingRequest.status)))
    assert statuses == {RequestStatus.PENDING.value}


def test_a_managers_stop_ends_a_running_worker_within_seconds_and_keeps_nothing(
    app: Flask, world: World, db: Any, client: FlaskClient, login: Any
) -> None:
    _oversubscribed(world)
    app.config.update(SOLVE_WORKER_PROCESS=True, SOLVER_TIME_LIMIT=600)
    run = runs.start_solve(world.manager, world.facility.id)

    def searching() -> SolveRun | None:
        db.session.commit()
        db.session.expire_all()
        found = db.session.get(SolveRun, run.id)
        # A progress entry means the search itself is under way, not just the problem built.
        return found if found.status == RunStatus.RUNNING.value and found.progress else None

    found = wait_for(searching, timeout=30, what="the worker to start searching")
    pid = int(found.worker.rsplit(":", 1)[1])
    [worker] = [w for w in runs._workers if w.pid == pid]
    login(world.manager)
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert f'action="/runs/{run.id}/cancel"' in page
    response = client.post(f"/runs/{run.id}/cancel")
    assert response.status_code == 302
    # A tenth of the 600-s limit: ending by then is the stop, not the limit, on any machine.
    assert worker.wait(timeout=60) == 0, "the worker ends on the stop, not at the time limit"
    db.session.expire_all()
    cancelled = db.session.get(SolveRun, run.id)
    assert cancelled.status == RunStatus.CANCELLED.value
    assert cancelled.finished_at is not None and "Cancelled by a manager" in cancelled.error
    assert cancelled.result_json is None
    assert db.session.scalar(select(func.count(Proposal.id))) == 0
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    assert set(db.session.scalars(select(BookingRequest.status))) == {RequestStatus.PENDING.value}
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert f'action="/runs/{run.id}/cancel"' not in page
    assert "Cancelled by a manager" in page


def test_a_stop_ends_a_solve_running_in_this_process_long_before_its_limit(
    app: Flask, world: World, db: Any
) -> None:
    """The scheduler process and `flask schedule run` solve in-process: a Stop ends them too."""
    import threading

    from app.extensions import db as database

    _oversubscribed(world)
    app.config.update(SOLVE_WORKER_PROCESS=False, SOLVER_TIME_LIMIT=600)
    run = runs.start_solve(world.manager, world.facility.id)
    run_id = run.id
    searching = threading.Event()

    def solve() -> None:
        with app.app_context():
            runs.execute_run(run_id, on_progress=lambda _snapshot: searching.set())
            database.session.remove()

    thread = threading.Thread(target=solve)
    thread.start()
    assert searching.wait(timeout=120), "the search never reported a plan"
    runs.cancel_run(world.manager, run_id)
    # A tenth of the 600-s limit: ending by then is the stop, not the limit, on any machine.
    thread.join(timeout=60)
    assert not thread.is_alive(), "the in-process solve searched on after the stop"
    db.session.expire_all()
    cancelled = db.session.get(SolveRun, run_id)
    assert cancelled.status == RunStatus.CANCELLED.value
    assert db.session.scalar(select(func.count(Proposal.id))) == 0


def test_another_facilitys_manager_cannot_stop_a_run(
    world: World, db: Any, client: FlaskClient, login: Any, make_facility: Any, make_user: Any
) -> None:
    _request(world.ann, world.amber, "Peptide map", _monday())
    run = runs.start_solve(world.manager, world.facility.id, launch=False)
    stranger = make_user(manages=(make_facility(slug="elsewhere"),))
    login(stranger)
    assert client.post(f"/runs/{run.id}/cancel").status_code == 404
    db.session.expire_all()
    assert db.session.get(SolveRun, run.id).cancel_requested is False
