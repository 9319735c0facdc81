"""The scheduler in this process: guarded runs, failures recorded, job store synchronisation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import select, update

from app.database import write_transaction
from app.dbtypes import utcnow
from app.jobs import lease
from app.jobs.models import JobRun, SchedulerLease
from app.jobs.scheduler import (
    JobSpec,
    SchedulerProcess,
    crontab_trigger,
    run_guarded,
    sync_all,
    sync_jobs,
)
from tests.jobs.conftest import wait_for
from tests.jobs.helpers import explode


def _runs(db: Any, job_id: str) -> list[JobRun]:
    db.session.commit()
    return list(db.session.scalars(select(JobRun).where(JobRun.job_id == job_id)))


def test_guarded_run_records_success(db: Any) -> None:
    lease.acquire("me", seconds=30)
    at = utcnow().replace(microsecond=0)
    assert run_guarded("me", "job", at, lambda: None) == "ok"
    [run] = _runs(db, "job")
    assert run.ok is True and run.scheduled_for == at and run.holder == "me"
    assert run.finished_at is not None


def test_guarded_run_records_the_failure_with_its_traceback(db: Any) -> None:
    lease.acquire("me", seconds=30)
    assert run_guarded("me", "job", utcnow(), explode) == "failed"
    [run] = _runs(db, "job")
    assert run.ok is False
    assert "RuntimeError: the job exploded on purpose" in run.error
    assert "explode" in run.error


def test_a_fire_time_runs_only_once(db: Any) -> None:
    lease.acquire("me", seconds=30)
    at = utcnow()
    calls: list[int] = []
    assert run_guarded("me", "job", at, lambda: calls.append(1)) == "ok"
    assert run_guarded("me", "job", at, lambda: calls.append(2)) == "skipped"
    assert run_guarded("me", "job", at + timedelta(seconds=1), lambda: calls.append(3)) == "ok"
    assert calls == [1, 3]


def test_nothing_runs_without_the_lease(db: Any) -> None:
    now = utcnow()
    lease.acquire("other", seconds=30, now=now)
    calls: list[int] = []
    assert run_guarded("me", "job", now, lambda: calls.append(1)) == "skipped"
    assert calls == [] and _runs(db, "job") == []


def test_a_failing_job_never_stops_the_scheduler(fast_lease: Flask, db: Any) -> None:
    fast_lease.config["SCHEDULER_HEARTBEAT"] = True
    boom = JobSpec("explode", "tests.jobs.helpers:explode", IntervalTrigger(seconds=1))
    process = SchedulerProcess(fast_lease, extra_jobs=[boom])
    stop = threading.Event()
    thread = threading.Thread(target=process.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: len(_runs(db, "explode")) >= 3, timeout=10, what="three failures")
        failures_seen = len(_runs(db, "explode"))
        wait_for(
            lambda: len(_runs(db, "heartbeat")) >= failures_seen,
            timeout=10,
            what="heartbeats after the failures",
        )
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert all(run.ok is False for run in _runs(db, "explode"))
    assert all(run.ok is True for run in _runs(db, "heartbeat"))
    db.session.expire_all()
    assert not lease.still_held(process.holder), "a clean stop gives the lease up"


def test_a_process_that_loses_the_lease_stops_running_jobs(fast_lease: Flask, db: Any) -> None:
    fast_lease.config["SCHEDULER_HEARTBEAT"] = True
    process = SchedulerProcess(fast_lease)
    stop = threading.Event()
    thread = threading.Thread(target=process.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: _runs(db, "heartbeat"), timeout=10, what="a heartbeat")
        jobs = process.scheduler
        # Another process takes the lease over, as after a long pause of this one.
        write_transaction()
        db.session.execute(
            update(SchedulerLease)
            .values(holder="thief", expires_at=utcnow() + timedelta(hours=1))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        wait_for(lambda: not process.leading, timeout=5, what="the process to step down")
        count = len(_runs(db, "heartbeat"))
        # Its APScheduler has stopped for good: nothing new can fire from here on.
        wait_for(lambda: not jobs.running, timeout=5, what="the jobs to stop")
    finally:
        stop.set()
        thread.join(timeout=10)
    # The join waited for jobs already running; at most the one in flight finished after.
    assert len(_runs(db, "heartbeat")) <= count + 1
    assert lease.current().holder == "thief"


@pytest.fixture
def scheduler(app: Flask) -> Any:
    from app.extensions import db
    from app.jobs.scheduler import JOB_DEFAULTS, LeasedJobStore

    store = LeasedJobStore(db.engine)
    sched = BackgroundScheduler(
        jobstores={"default": store}, job_defaults=JOB_DEFAULTS, timezone="UTC"
    )
    # Paused: these tests look at the job store, nothing should run.
    sched.start(paused=True)
    yield sched
    store.halt()
    sched.shutdown(wait=False)


def test_facility_crons_become_jobs_in_the_facility_time_zone(
    scheduler: Any, make_facility: Any, db: Any
) -> None:
    make_facility(slug="nanjing", resolve_cron="0 2 * * *", timezone="Asia/Shanghai")
    make_facility(slug="no-cron")
    sync_all(scheduler)
    job = scheduler.get_job("resolve:nanjing")
    assert job is not None
    assert job.trigger.timezone == ZoneInfo("Asia/Shanghai")
    assert job.next_run_time.astimezone(ZoneInfo("Asia/Shanghai")).hour == 2
    assert scheduler.get_job("resolve:no-cron") is None
    assert {"sync-jobs", "expire-proposals", "fail-interrupted-runs", "deliver-outbox"} <= {
        j.id for j in scheduler.get_jobs()
    }


def test_sync_replaces_changed_crons_removes_cleared_ones_and_keeps_the_rest(
    scheduler: Any, make_facility: Any, db: Any
) -> None:
    kept = make_facility(slug="kept", resolve_cron="0 2 * * *")
    changed = make_facility(slug="changed", resolve_cron="0 2 * * *")
    cleared = make_facility(slug="cleared", resolve_cron="0 2 * * *")
    sync_all(scheduler)
    db.session.commit()
    kept_next = scheduler.get_job("resolve:kept").next_run_time
    # A run that was due while no scheduler was up must survive a sync: move it into the past.
    past = utcnow() - timedelta(minutes=10)
    scheduler.modify_job("resolve:kept", next_run_time=past)
    changed.resolve_cron = "30 4 * * 1"
    cleared.resolve_cron = None
    db.session.commit()
    sync_all(scheduler)
    assert scheduler.get_job("resolve:kept").next_run_time == past
    assert scheduler.get_job("resolve:changed").next_run_time != kept_next
    assert scheduler.get_job("resolve:changed").next_run_time.weekday() == 0
    assert scheduler.get_job("resolve:cleared") is None
    assert kept.resolve_cron == "0 2 * * *"


def test_a_bad_cron_is_reported_and_the_good_ones_still_sync(
    scheduler: Any, make_facility: Any, db: Any
) -> None:
    make_facility(slug="good", resolve_cron="0 2 * * *")
    make_facility(slug="bad", resolve_cron="every night")
    with pytest.raises(ValueError, match="bad: resolve_cron 'every night'"):
        sync_all(scheduler)
    assert scheduler.get_job("resolve:good") is not None
    assert scheduler.get_job("resolve:bad") is None


def test_sync_removes_jobs_nobody_asked_for(scheduler: Any, db: Any) -> None:
    scheduler.add_job("app.jobs.tasks:heartbeat", "interval", seconds=5, id="leftover")
    report = sync_jobs(scheduler, [])
    assert report["removed"] == ["leftover"]
    assert scheduler.get_jobs() == []


@pytest.mark.parametrize(
    ("expression", "weekdays"),
    [
        ("0 2 * * 1", {0}),
        ("0 2 * * 0", {6}),
        ("0 2 * * 7", {6}),
        ("0 2 * * 1-5", {0, 1, 2, 3, 4}),
        ("0 2 * * mon-fri", {0, 1, 2, 3, 4}),
        ("0 2 * * */2", {6, 1, 3, 5}),
        ("0 2 * * 6,0", {5, 6}),
    ],
)
def test_crontab_weekdays_count_from_sunday(expression: str, weekdays: set[int]) -> None:
    trigger = crontab_trigger(expression, "Asia/Shanghai")
    start = datetime(2027, 3, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    fired, previous = set(), None
    moment = start
    for _ in range(14):
        moment = trigger.get_next_fire_time(previous, moment)
        fired.add(moment.weekday())
        previous, moment = moment, moment + timedelta(minutes=1)
    assert fired == weekdays


@pytest.mark.parametrize("expression", ["every night", "0 2 * *", "0 2 * * 8", "0 25 * * *"])
def test_bad_crontab_lines_are_refused(expression: str) -> None:
    with pytest.raises(ValueError):
        crontab_trigger(expression, "Asia/Shanghai")


def test_cron_fires_at_local_time_across_a_dst_change() -> None:
    trigger = crontab_trigger("0 2 * * *", "Europe/Berlin")
    before = trigger.get_next_fire_time(None, datetime(2027, 3, 26, 12, tzinfo=UTC))
    after = trigger.get_next_fire_time(None, datetime(2027, 3, 29, 12, tzinfo=UTC))
    assert before.astimezone(UTC).hour == 1
    assert after.astimezone(UTC).hour == 0
