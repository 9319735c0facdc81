"""Solves on the RQ queue: real `flask worker` processes on the test database and Redis.

Each test has a queue of its own (its name prefixes every job and worker key), deleted after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
from flask import Flask
from rq import Queue, Worker
from rq.job import JobStatus
from sqlalchemy import func, select

from app import create_app
from app.accounts.services import create_api_token
from app.booking import queue as solve_queue
from app.booking import runs as run_service
from app.booking.models import (
    AuditEvent,
    Booking,
    BookingRequest,
    Proposal,
    RequestStatus,
    RunStatus,
    SolveRun,
)
from app.dbtypes import utcnow
from app.errors import ServiceUnavailable
from tests import factories
from tests.conftest import _test_config
from tests.jobs.conftest import ROOT, wait_for

pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CLOSED_PORT = "redis://127.0.0.1:1/0"
ZONE = ZoneInfo("Asia/Shanghai")


def _postgresql_only(db: Any) -> None:
    # Several processes writing at once: what production runs on.
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the worker tests run on PostgreSQL")


@pytest.fixture
def queue_name(app: Flask) -> Iterator[str]:
    """Send this app's solves to a queue of this test alone."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis is needed at {REDIS_URL} (set TEST_REDIS_URL): {error}")
    name = f"pilotslot-test-{uuid.uuid4().hex[:12]}"
    app.config.update(
        SOLVE_QUEUE_URL=REDIS_URL,
        SOLVE_QUEUE_NAME=name,
        SOLVE_WORKER_PROCESS=True,
        SOLVER_TIME_LIMIT=5,
    )
    yield name
    keys = list(client.scan_iter(match=f"*{name}*"))
    if keys:
        client.delete(*keys)
    for member in client.smembers("rq:workers"):
        if name.encode() in member:
            client.srem("rq:workers", member)
    client.close()


@pytest.fixture
def workers(
    app: Flask, queue_name: str, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `flask worker` processes on the test database and queue; stop them after."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY="test-secret",
        PILOTSLOT_INSTANCE_DIR=str(tmp_path),
        PILOTSLOT_SOLVE_QUEUE_URL=REDIS_URL,
        PILOTSLOT_SOLVE_QUEUE=queue_name,
        PILOTSLOT_DEFAULT_LANGUAGE="en",
        # The system's solves (the nightly one) stop after a few rounds, whatever the clock.
        PILOTSLOT_SOLVER_WORK_LIMIT="2",
        PYTHONUNBUFFERED="1",
    )
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, **settings: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "worker"]
                + ["--name", f"{queue_name}-{name}"],
                cwd=ROOT,
                env={**env, **settings},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    yield start
    # RQ: a first SIGTERM lets the job finish, a second one kills the work horse too.
    for _ in range(2):
        for process in started:
            if process.poll() is None:
                process.terminate()
        for process in started:
            try:
                process.wait(timeout=8)
            except subprocess.TimeoutExpired:
                continue
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _wait_for_workers(queue_name: str, count: int) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    queue = Queue(queue_name, connection=client)
    wait_for(
        lambda: len(Worker.all(queue=queue)) >= count,
        timeout=60,
        what=f"{count} workers on the queue",
    )


def _monday() -> date:
    today = datetime.now(ZONE).date()
    return today + timedelta(days=7 - today.weekday())


def _at(day: date, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime.combine(day, time(hour, minute), ZONE)


def _facility_with_requests(requests: int, *, manager: Any = None) -> Any:
    """A facility of one LC-MS unit and `requests` requests for next week."""
    facility = factories.make_facility()
    unit = factories.make_equipment(facility)
    project = factories.make_project()
    member = factories.make_user(projects=(project,))
    monday = _monday()
    for n in range(requests):
        request = factories.make_request(
            project,
            [unit],
            by=member,
            durations=[60 + (n * 37) % 300],
            weight=1 + (n * 7) % 5,
            earliest_start=_at(monday, "09:00"),
            deadline=_at(monday + timedelta(days=4), "18:00"),
        )
        # The facility the step is for: what the nightly re-solve looks for.
        request.steps[0].facility_id = facility.id
    factories.db.session.commit()
    if manager is not None:
        manager.managed_facilities.append(facility)
        factories.db.session.commit()
    return facility


def _run(db: Any, run_id: int) -> SolveRun:
    db.session.commit()
    db.session.expire_all()
    run = db.session.get(SolveRun, run_id)
    assert run is not None
    return run


def _searching(db: Any, run_id: int) -> Callable[[], SolveRun | None]:
    def check() -> SolveRun | None:
        run = _run(db, run_id)
        # A progress entry means the search itself is under way, not just the problem built.
        return run if run.status == RunStatus.RUNNING.value and run.progress else None

    return check


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def _nothing_published(db: Any) -> None:
    assert db.session.scalar(select(func.count(Proposal.id))) == 0
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    assert set(db.session.scalars(select(BookingRequest.status))) == {RequestStatus.PENDING.value}


def test_twelve_facilities_queued_at_once_are_each_solved_once_by_two_workers(
    app: Flask, db: Any, queue_name: str, workers: Callable[[str], Any]
) -> None:
    _postgresql_only(db)
    facilities = [_facility_with_requests(3) for _ in range(12)]
    workers("one")
    workers("two")
    _wait_for_workers(queue_name, 2)
    night = solve_queue.tonight()

    first = solve_queue.resolve_region(night)
    again = solve_queue.resolve_region(night)
    assert sorted(first["queued"]) == sorted(f.id for f in facilities)
    assert again == {"queued": [], "already": first["queued"]}

    def all_solved() -> dict[str, list[dict[str, Any]]] | None:
        summary = solve_queue.night_summary(night)
        done = sum(len(summary[state]) for state in ("solved", "skipped", "failed"))
        return summary if done == 12 else None

    summary = wait_for(all_solved, timeout=180, what="the night's twelve re-solves")
    assert len(summary["solved"]) == 12, summary
    assert {e["facility"] for e in summary["solved"]} == {f.slug for f in facilities}
    assert {e["worker"] for e in summary["solved"]} == {
        f"{queue_name}-one",
        f"{queue_name}-two",
    }, "both workers took jobs"
    db.session.commit()
    runs = db.session.scalars(select(SolveRun)).all()
    assert sorted(r.facility_id for r in runs) == sorted(f.id for f in facilities)
    assert {r.status for r in runs} == {RunStatus.SUCCEEDED.value}
    assert {r.trigger for r in runs} == {"schedule"}
    assert {e["run"] for e in summary["solved"]} == {r.id for r in runs}


def _horse_of(db: Any, run_id: int, *, attempt: int) -> int:
    """Wait until the run's given attempt is searching; return its work horse's pid."""

    def check() -> SolveRun | None:
        run = _searching(db, run_id)()
        return run if run is not None and run.attempt == attempt else None

    found = wait_for(check, timeout=90, what=f"attempt {attempt} of the run to search")
    return int(found.worker.rsplit(":", 1)[1])


def _retries(db: Any, run_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "solve.retry", AuditEvent.object_id == run_id
            )
        )
    )


def test_a_work_horse_killed_mid_solve_is_retried_once_and_the_retry_completes(
    app: Flask,
    db: Any,
    queue_name: str,
    workers: Callable[[str], Any],
    client: Any,
    login: Any,
) -> None:
    _postgresql_only(db)
    manager = factories.make_user()
    busy = _facility_with_requests(60, manager=manager)
    workers("only")
    run = run_service.start_solve(manager, busy.id, time_limit=10)
    first = _horse_of(db, run.id, attempt=1)
    os.kill(first, signal.SIGKILL)

    second = _horse_of(db, run.id, attempt=2)
    assert second != first
    assert _run(db, run.id).problem_json is not None, "the retry builds its problem again"
    done = wait_for(
        lambda: (r := _run(db, run.id)).status not in run_service.UNFINISHED and r,
        timeout=120,
        what="the second attempt to finish",
    )
    assert done.status == RunStatus.SUCCEEDED.value, done.error
    assert done.attempt == 2 and done.worker.endswith(f":{second}")
    [retry] = _retries(db, run.id)
    assert "signal 9" in retry.details["why"] and retry.details["attempt"] == 2
    # One plan, the second attempt's, and only as a draft for the manager.
    assert [p.run_id for p in db.session.scalars(select(Proposal))] == [run.id]
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    jobs = Queue(queue_name, connection=redis.Redis.from_url(REDIS_URL))
    assert jobs.count == 0
    login(manager)
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert 'id="run-attempt"' in page and "second attempt" in page


def test_a_run_whose_work_horse_dies_twice_is_failed_with_the_reason(
    app: Flask, db: Any, queue_name: str, workers: Callable[[str], Any]
) -> None:
    _postgresql_only(db)
    manager = factories.make_user()
    busy = _facility_with_requests(60, manager=manager)
    workers("only")
    run = run_service.start_solve(manager, busy.id, time_limit=600)
    os.kill(_horse_of(db, run.id, attempt=1), signal.SIGKILL)
    os.kill(_horse_of(db, run.id, attempt=2), signal.SIGKILL)

    failed = wait_for(
        lambda: (r := _run(db, run.id)).status not in run_service.UNFINISHED and r,
        timeout=30,
        what="the worker to fail the run",
    )
    assert failed.status == RunStatus.FAILED.value and failed.attempt == 2
    assert "ended twice" in failed.error and "signal 9" in failed.error
    assert "nothing was published" in failed.error
    assert len(_retries(db, run.id)) == 1
    _nothing_published(db)
    jobs = Queue(queue_name, connection=redis.Redis.from_url(REDIS_URL))
    assert jobs.count == 0, "no third attempt"

    again = run_service.start_solve(manager, busy.id, time_limit=2)
    done = wait_for(
        lambda: (r := _run(db, again.id)).status not in run_service.UNFINISHED and r,
        timeout=90,
        what="the same worker to solve the next run",
    )
    assert done.status == RunStatus.SUCCEEDED.value, done.error


def test_a_run_whose_worker_host_dies_goes_back_on_the_queue_for_another_worker(
    app: Flask, db: Any, queue_name: str, workers: Callable[[str], Any]
) -> None:
    _postgresql_only(db)
    manager = factories.make_user()
    busy = _facility_with_requests(60, manager=manager)
    worker = workers("doomed")
    run = run_service.start_solve(manager, busy.id, time_limit=10)
    horse = _horse_of(db, run.id, attempt=1)
    # The whole host goes: the worker and its work horse (a process group of its own).
    worker.send_signal(signal.SIGKILL)
    os.kill(horse, signal.SIGKILL)
    worker.wait(timeout=10)
    wait_for(lambda: not _alive(horse), timeout=10, what="the work horse to end")

    assert run_service.mark_interrupted_runs(utcnow()) == 0
    assert run_service.mark_interrupted_runs(utcnow() + timedelta(seconds=61)) == 1
    queued = _run(db, run.id)
    assert queued.status == RunStatus.QUEUED.value and queued.attempt == 2
    assert queued.worker == "" and queued.started_at is None
    _nothing_published(db)
    # Waiting for a worker now: the sweep leaves it be.
    assert run_service.mark_interrupted_runs(utcnow() + timedelta(seconds=61)) == 0

    workers("heir")
    done = wait_for(
        lambda: (r := _run(db, run.id)).status not in run_service.UNFINISHED and r,
        timeout=120,
        what="another worker to finish the run",
    )
    assert done.status == RunStatus.SUCCEEDED.value, done.error
    assert done.attempt == 2 and f"{queue_name}-heir" not in done.worker


def test_a_nightly_re_solve_whose_work_horse_dies_is_queued_once_more(
    app: Flask, db: Any, queue_name: str, workers: Callable[..., Any]
) -> None:
    _postgresql_only(db)
    facility = _facility_with_requests(60)
    # Wall-clock night solves of 10 s: long enough to be killed mid-search.
    workers("only", PILOTSLOT_SOLVER_WORK_LIMIT="", PILOTSLOT_SOLVER_TIME_LIMIT="10")
    night = solve_queue.tonight()
    assert solve_queue.resolve_region(night)["queued"] == [facility.id]

    def searching() -> SolveRun | None:
        db.session.commit()
        db.session.expire_all()
        run = db.session.scalar(select(SolveRun))
        return run if run is not None and run.progress else None

    first = wait_for(searching, timeout=90, what="the nightly solve to search")
    os.kill(int(first.worker.rsplit(":", 1)[1]), signal.SIGKILL)

    def settled() -> dict[str, list[dict[str, Any]]] | None:
        summary = solve_queue.night_summary(night)
        return summary if summary["solved"] or summary["failed"] or summary["skipped"] else None

    summary = wait_for(settled, timeout=120, what="the night's second attempt")
    assert [e["facility"] for e in summary["solved"]] == [facility.slug], summary
    dead = _run(db, first.id)
    assert dead.status == RunStatus.FAILED.value and "queued again" in dead.error
    [solved] = db.session.scalars(select(SolveRun).where(SolveRun.id != first.id)).all()
    assert solved.status == RunStatus.SUCCEEDED.value and summary["solved"][0]["run"] == solved.id


def test_a_nightly_re_solve_whose_host_dies_is_queued_once_more_for_another_worker(
    app: Flask, db: Any, queue_name: str, workers: Callable[..., Any]
) -> None:
    _postgresql_only(db)
    facility = _facility_with_requests(60)
    worker = workers("doomed", PILOTSLOT_SOLVER_WORK_LIMIT="", PILOTSLOT_SOLVER_TIME_LIMIT="10")
    night = solve_queue.tonight()
    assert solve_queue.resolve_region(night)["queued"] == [facility.id]

    def searching() -> SolveRun | None:
        db.session.commit()
        db.session.expire_all()
        run = db.session.scalar(select(SolveRun))
        return run if run is not None and run.progress else None

    first = wait_for(searching, timeout=90, what="the nightly solve to search")
    horse = int(first.worker.rsplit(":", 1)[1])
    # The whole host goes: no work horse lives to tell its worker, no worker to tell anyone.
    worker.send_signal(signal.SIGKILL)
    os.kill(horse, signal.SIGKILL)
    worker.wait(timeout=10)
    wait_for(lambda: not _alive(horse), timeout=10, what="the work horse to end")
    assert [e["attempt"] for e in solve_queue.night_summary(night)["running"]] == [1]

    assert run_service.mark_interrupted_runs(utcnow()) == 0, "its heartbeat is still fresh"
    assert run_service.mark_interrupted_runs(utcnow() + timedelta(seconds=61)) == 1
    dead = _run(db, first.id)
    assert dead.status == RunStatus.FAILED.value and "queued again" in dead.error
    [queued] = solve_queue.night_summary(night)["queued"]
    assert queued["attempt"] == 2 and "host ended" in queued["detail"]
    _nothing_published(db)
    assert run_service.mark_interrupted_runs(utcnow() + timedelta(seconds=61)) == 0

    workers("heir", PILOTSLOT_SOLVER_WORK_LIMIT="2")

    def settled() -> dict[str, list[dict[str, Any]]] | None:
        summary = solve_queue.night_summary(night)
        return summary if summary["solved"] or summary["failed"] or summary["skipped"] else None

    summary = wait_for(settled, timeout=120, what="the night's second attempt")
    assert [e["facility"] for e in summary["solved"]] == [facility.slug], summary
    [solved] = db.session.scalars(select(SolveRun).where(SolveRun.id != first.id)).all()
    assert solved.status == RunStatus.SUCCEEDED.value and summary["solved"][0]["run"] == solved.id
    assert f"{queue_name}-heir" in summary["solved"][0]["worker"]


def _lost_nightly_run(db: Any, night: str, facility: Any, *, attempt: int | None) -> SolveRun:
    """A nightly run whose host went: running, beating no more, named in the night if given."""
    run = SolveRun(
        facility_id=facility.id,
        trigger="schedule",
        status=RunStatus.RUNNING.value,
        worker="gone-host:7",
        started_at=utcnow(),
        heartbeat_at=utcnow(),
    )
    db.session.add(run)
    db.session.commit()
    if attempt is not None:
        solve_queue.connection().hset(
            solve_queue._night_key(night),
            str(facility.id),
            json.dumps({"state": "running", "attempt": attempt, "horse": "gone-host:7"}),
        )
    return run


def test_a_nightly_re_solve_lost_with_its_host_twice_is_failed_in_the_night_summary(
    app: Flask, db: Any, queue_name: str
) -> None:
    facility = _facility_with_requests(2)
    night = solve_queue.tonight()
    run = _lost_nightly_run(db, night, facility, attempt=2)

    assert run_service.mark_interrupted_runs(utcnow() + timedelta(minutes=2)) == 1
    failed = _run(db, run.id)
    assert failed.status == RunStatus.FAILED.value and "ended twice" in failed.error
    summary = solve_queue.night_summary(night)
    assert [e["facility"] for e in summary["failed"]] == [facility.slug]
    assert "ended twice" in summary["failed"][0]["detail"] and not summary["queued"]
    assert Queue(queue_name, connection=solve_queue.connection()).count == 0


def test_a_lost_scheduled_run_that_no_night_names_is_failed_as_before(
    app: Flask, db: Any, queue_name: str
) -> None:
    # The scheduler process solved it in-process: there is no night to queue again.
    facility = _facility_with_requests(2)
    run = _lost_nightly_run(db, solve_queue.tonight(), facility, attempt=None)

    assert run_service.mark_interrupted_runs(utcnow() + timedelta(minutes=2)) == 1
    failed = _run(db, run.id)
    assert failed.status == RunStatus.FAILED.value and "stopped answering" in failed.error
    assert Queue(queue_name, connection=solve_queue.connection()).count == 0


def test_a_stale_run_goes_back_on_the_queue_once_then_fails(
    app: Flask, db: Any, queue_name: str, client: Any, login: Any
) -> None:
    manager = factories.make_user()
    facility = _facility_with_requests(2, manager=manager)
    run = run_service.start_solve(manager, facility.id, time_limit=5)
    queue = Queue(queue_name, connection=redis.Redis.from_url(REDIS_URL))

    def claim_and_lose() -> None:
        # A worker took the job and its host went: the job left the queue (but is kept, as
        # started), and the run beats no more.
        [job] = queue.jobs
        queue.remove(job)
        job.set_status(JobStatus.STARTED)
        run_row = _run(db, run.id)
        run_row.status = RunStatus.RUNNING.value
        run_row.worker = "gone-host:1"
        run_row.started_at = run_row.heartbeat_at = utcnow()
        db.session.commit()

    claim_and_lose()
    later = utcnow() + timedelta(minutes=2)
    assert run_service.mark_interrupted_runs(later) == 1
    retried = _run(db, run.id)
    assert retried.status == RunStatus.QUEUED.value and retried.attempt == 2
    [job] = queue.jobs
    assert job.args == (run.id,) and job.id.endswith(f"run-{run.id}-attempt-2")
    assert run_service.mark_interrupted_runs(later) == 0, "its new job waits for a worker"
    login(manager)
    assert 'id="run-attempt"' in client.get(f"/runs/{run.id}").get_data(as_text=True)

    claim_and_lose()
    assert run_service.mark_interrupted_runs(utcnow() + timedelta(minutes=2)) == 1
    failed = _run(db, run.id)
    assert failed.status == RunStatus.FAILED.value and "ended twice" in failed.error
    assert queue.count == 0
    _nothing_published(db)


def test_a_stop_from_another_web_process_ends_the_solve_on_a_worker(
    app: Flask, db: Any, queue_name: str, workers: Callable[[str], Any]
) -> None:
    _postgresql_only(db)
    manager = factories.make_user()
    busy = _facility_with_requests(60, manager=manager)
    _row, token = create_api_token(manager, "other web host")
    workers("only")
    run = run_service.start_solve(manager, busy.id, time_limit=600)
    found = wait_for(_searching(db, run.id), timeout=60, what="the worker to start searching")
    horse = int(found.worker.rsplit(":", 1)[1])

    other = create_app(
        _test_config(
            app.config["SQLALCHEMY_DATABASE_URI"],
            SOLVE_QUEUE_URL=REDIS_URL,
            SOLVE_QUEUE_NAME=queue_name,
        )
    )
    with other.app_context():
        response = other.test_client().post(
            f"/api/v1/runs/{run.id}/cancel", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        from app.extensions import db as other_db

        other_db.session.remove()
        other_db.engine.dispose()

    # A tenth of the 600-s limit: ending by then is the stop, not the limit.
    wait_for(lambda: not _alive(horse), timeout=60, what="the work horse to stop")
    cancelled = _run(db, run.id)
    assert cancelled.status == RunStatus.CANCELLED.value
    assert "Cancelled by a manager" in cancelled.error and cancelled.result_json is None
    _nothing_published(db)


def test_a_queue_outage_refuses_the_solve_clearly_and_leaves_no_run_waiting(
    app: Flask, db: Any, queue_name: str, client: Any, login: Any
) -> None:
    manager = factories.make_user()
    facility = _facility_with_requests(2, manager=manager)
    _row, token = create_api_token(manager, "outage")
    app.config["SOLVE_QUEUE_URL"] = CLOSED_PORT

    response = client.post(
        f"/api/v1/facilities/{facility.slug}/solve",
        json={"time_limit": 5},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert "solve queue is not reachable" in response.get_json()["detail"]

    login(manager)
    page = client.post(f"/manage/{facility.slug}/solve")
    assert page.status_code == 503
    assert "solve queue is not reachable" in page.get_data(as_text=True)

    db.session.commit()
    runs = db.session.scalars(select(SolveRun)).all()
    assert len(runs) == 2 and {r.status for r in runs} == {RunStatus.FAILED.value}
    assert all("solve queue is not reachable" in (r.error or "") for r in runs)
    _nothing_published(db)
    with pytest.raises(ServiceUnavailable):
        solve_queue.resolve_region()

    # Back up: the same solve goes on the queue and waits there for a worker.
    app.config["SOLVE_QUEUE_URL"] = REDIS_URL
    run = run_service.start_solve(manager, facility.id, time_limit=5)
    assert run.status == RunStatus.QUEUED.value
    job = Queue(queue_name, connection=redis.Redis.from_url(REDIS_URL)).jobs[0]
    assert job.args == (run.id,)


def test_a_queued_run_waits_while_its_job_does_and_fails_once_the_job_is_lost(
    app: Flask, db: Any, queue_name: str
) -> None:
    manager = factories.make_user()
    facility = _facility_with_requests(2, manager=manager)
    run = run_service.start_solve(manager, facility.id, time_limit=5)
    later = utcnow() + timedelta(minutes=5)
    assert run_service.mark_interrupted_runs(later) == 0, "a job waiting for a worker is kept"

    app.config["SOLVE_QUEUE_URL"] = CLOSED_PORT
    assert run_service.mark_interrupted_runs(later) == 0, "Redis down: nothing can be told yet"

    app.config["SOLVE_QUEUE_URL"] = REDIS_URL
    Queue(queue_name, connection=redis.Redis.from_url(REDIS_URL)).empty()
    assert run_service.mark_interrupted_runs(later) == 1
    lost = _run(db, run.id)
    assert lost.status == RunStatus.FAILED.value and "never started" in lost.error
