"""One solve per facility at a time, enforced by the database: managers posting a solve at the
same moment get one 202 and 409s naming the run that won; a finished run frees the facility;
the scheduler's solves skip a facility a manager is solving; and a started solve is never
answered with an error because the database was busy afterwards."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.booking import runs
from app.booking.models import RunStatus, SolveRun
from app.jobs.resolves import solve_here
from tests import factories
from tests.booking.conftest import Core

MANAGERS = 6


def _post_together(app: Flask, clients: list[FlaskClient], path: str) -> list[Any]:
    """POST to `path` from every client at the same moment, each in its own thread."""
    from app.extensions import db

    barrier = threading.Barrier(len(clients))
    answers: list[Any] = [None] * len(clients)

    def post(i: int, client: FlaskClient) -> None:
        with app.app_context():
            try:
                barrier.wait()
                answers[i] = client.post(path, json={"time_limit": 5})
            finally:
                db.session.remove()

    threads = [threading.Thread(target=post, args=(i, c)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_managers_solving_one_facility_together_start_one_run(
    app: Flask, core: Core, db: Any, login: Any
) -> None:
    managers = [core.mia] + [
        factories.make_user(name=f"Manager {n}", email=f"m{n}@bio.test", manages=(core.bio,))
        for n in range(MANAGERS - 1)
    ]
    clients = [login(manager, app.test_client()) for manager in managers]
    answers = _post_together(app, clients, "/api/v1/facilities/bio/solve")

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [202] + [409] * (MANAGERS - 1), [a.get_json() for a in answers]
    db.session.rollback()
    [run] = db.session.scalars(select(SolveRun)).all()
    [started] = [a.get_json() for a in answers if a.status_code == 202]
    assert started["id"] == run.id
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.mimetype == "application/problem+json"
        problem = refused.get_json()
        assert problem["run"] == run.id, problem
        assert f"Solve run {run.id} " in problem["detail"], problem


def test_the_database_refuses_a_second_unfinished_run_of_a_facility(core: Core, db: Any) -> None:
    factories.make_run(core.bio, status=RunStatus.QUEUED.value)
    with pytest.raises(IntegrityError):
        factories.make_run(core.bio, status=RunStatus.RUNNING.value)
    db.session.rollback()
    # Finished runs are history: any number of them may stand beside the unfinished one.
    for status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
        factories.make_run(core.bio, status=status.value)
    # Another facility solves at the same time.
    factories.make_run(core.ict, status=RunStatus.QUEUED.value)


def test_a_finished_or_stopped_run_frees_the_facility(core: Core, db: Any) -> None:
    core.request()
    first = core.solve()
    assert first.status == RunStatus.SUCCEEDED.value
    queued = runs.start_solve(core.mia, core.bio.id, launch=False)
    runs.cancel_run(core.mia, queued.id)
    again = runs.start_solve(core.mia, core.bio.id, launch=False)
    assert again.status == RunStatus.QUEUED.value
    unfinished = select(func.count()).where(
        SolveRun.facility_id == core.bio.id, SolveRun.status.in_(runs.UNFINISHED)
    )
    assert db.session.scalar(unfinished) == 1


def test_the_schedulers_solve_skips_a_facility_a_manager_is_solving(core: Core, db: Any) -> None:
    core.request()
    manual = runs.start_solve(core.mia, core.bio.id, launch=False)
    assert solve_here(core.bio.id, trigger="schedule") is None
    db.session.rollback()
    assert [r.id for r in db.session.scalars(select(SolveRun))] == [manual.id]


@pytest.fixture
def write_lock_after_the_runs_commit(app: Flask, db: Any) -> Iterator[threading.Event]:
    """Once the first run is committed, take SQLite's write lock from another connection and
    keep it until the test ends; the event is set when the lock is held."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    path = db.engine.url.database
    held = threading.Event()
    blocker = sqlite3.connect(path, timeout=0, isolation_level=None)

    def grab(session: Session) -> None:
        if not held.is_set() and any(
            isinstance(o, SolveRun) for o in session.identity_map.values()
        ):
            blocker.execute("BEGIN IMMEDIATE")
            held.set()

    event.listen(Session, "after_commit", grab)
    try:
        yield held
    finally:
        event.remove(Session, "after_commit", grab)
        if held.is_set():
            blocker.execute("ROLLBACK")
        blocker.close()


def test_a_started_solve_is_answered_202_even_if_the_database_is_busy_afterwards(
    app: Flask, core: Core, db: Any, login: Any, write_lock_after_the_runs_commit: Any
) -> None:
    core.request()
    app.config["SOLVE_WORKER_PROCESS"] = True
    mia = login(core.mia, app.test_client())
    try:
        answer = mia.post("/api/v1/facilities/bio/solve", json={"time_limit": 3})
        assert write_lock_after_the_runs_commit.is_set()
        # The run exists and its worker was started: the answer says so.
        assert answer.status_code == 202, answer.get_json()
        assert answer.get_json()["status"] == RunStatus.QUEUED.value
    finally:
        for worker in list(runs._workers):
            worker.kill()
            worker.wait(timeout=30)
            runs._workers.discard(worker)
