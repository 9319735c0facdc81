"""Real `flask scheduler run` processes: one acts, a standby takes over when the leader dies."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from app.dbtypes import utcnow
from app.jobs import lease
from app.jobs.models import JobRun
from tests.jobs.conftest import wait_for

pytestmark = pytest.mark.slow


def _heartbeats(db: Any) -> list[JobRun]:
    db.session.commit()
    return list(
        db.session.scalars(
            select(JobRun).where(JobRun.job_id == "heartbeat").order_by(JobRun.scheduled_for)
        )
    )


def _holder(db: Any) -> str:
    db.session.commit()
    current = lease.current()
    db.session.expire_all()
    return current.holder if current is not None and current.expires_at > utcnow() else ""


def test_standby_takes_over_when_the_leader_is_killed_and_no_tick_runs_twice(
    db: Any, scheduler_env: dict[str, str], spawn: Callable[..., Any], tmp_path: Path
) -> None:
    env = dict(scheduler_env, PILOTSLOT_SCHEDULER_HEARTBEAT="1")
    first = spawn(env, "first")
    leader = wait_for(lambda: _holder(db), timeout=20, what="a leader")
    second = spawn(env, "second")
    # The standby has tried for the lease and lost (it says so once), and the leader has run
    # two more heartbeats since: a standby that ran jobs would have shown up by now.
    wait_for(
        lambda: "stands by" in (tmp_path / "second.log").read_text(),
        timeout=20,
        what="the standby to stand by",
    )
    seen = len(_heartbeats(db))
    wait_for(
        lambda: len(_heartbeats(db)) >= max(6, seen + 2),
        timeout=20,
        what="heartbeats after the standby contended",
    )
    assert {run.holder for run in _heartbeats(db)} == {leader}
    assert _holder(db) == leader

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    # It takes over once the 3-s lease expires; the timeout only catches one that never does.
    successor = wait_for(
        lambda: (holder := _holder(db)) and holder != leader and holder,
        timeout=15,
        what="the standby to take the lease",
    )
    wait_for(
        lambda: sum(run.holder == successor for run in _heartbeats(db)) >= 4,
        timeout=20,
        what="heartbeats from the standby",
    )
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0

    runs = _heartbeats(db)
    ticks = Counter(run.scheduled_for for run in runs)
    assert max(ticks.values()) == 1, "a fire time ran twice"
    before = [run for run in runs if run.holder == leader]
    after = [run for run in runs if run.holder == successor]
    assert before and after and len(before) + len(after) == len(runs)
    # One scheduler at a time: every tick of the leader precedes every tick of the standby.
    assert max(r.scheduled_for for r in before) < min(r.scheduled_for for r in after)
    assert all(run.ok for run in after)
    # The leader died at most in the middle of one tick, which stays unfinished.
    assert sum(run.ok is None for run in before) <= 1
    assert all(run.ok for run in before[:-1])
    # A clean stop gives the lease up at once.
    assert _holder(db) == ""


def test_status_names_the_holder_and_the_next_runs(
    app: Any, db: Any, scheduler_env: dict[str, str], spawn: Callable[..., Any]
) -> None:
    process = spawn(scheduler_env, "only")
    holder = wait_for(lambda: _holder(db), timeout=20, what="a leader")
    runner: FlaskCliRunner = app.test_cli_runner()

    def status() -> Any:
        db.session.commit()  # the command runs in this context: read fresh, like a new process
        result = runner.invoke(args=["scheduler", "status"])
        # Jobs are added one by one at start; wait for the last of them.
        return result if "waitlist" in result.output else None

    result = wait_for(status, timeout=10, what="jobs in the status")
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=15)
    assert f"held by {holder}" in result.output
    assert "fail-interrupted-runs" in result.output and "next 20" in result.output
