"""Replaying a solve run: its seed and work limit are stored and shown and repeat its plan."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.booking import runs
from app.booking.models import SolveRun
from app.errors import ValidationError
from app.extensions import db as _db
from tests.booking.conftest import Core

ROOT = Path(__file__).resolve().parents[2]


def _requests(core: Core) -> None:
    """Ask for more LC-MS time than the week holds, so the plan is a choice."""
    for day in range(5):
        for weight in (1, 2, 3):
            core.request(
                title=f"Run {day}-{weight}",
                start=core.at(day),
                deadline=core.at(day, "18:00"),
                weight=weight,
            )


def _finish(run: SolveRun) -> SolveRun:
    runs.execute_run(run.id)
    _db.session.expire_all()
    found = _db.session.get(SolveRun, run.id)
    assert found is not None and found.status == "succeeded", found and found.error
    return found


def _plan(result_json: str) -> dict[str, Any]:
    result = json.loads(result_json)
    return {key: result[key] for key in ("status", "objective", "assignments", "unscheduled")}


def test_the_replay_command_of_a_work_limited_run_gives_its_plan_again(
    core: Core, db: Any, tmp_path: Path
) -> None:
    _requests(core)
    run = _finish(runs.start_solve(core.mia, core.bio.id, work_limit=12, launch=False))
    assert (run.seed, run.work_limit) == (runs.SOLVE_SEED, 12)
    assert runs.replays_exactly(run) is True
    command = runs.replay_command(run)
    assert command == (
        f"python -m scheduler solve bio-run{run.id}-problem.json --seed {run.seed} "
        f"--work-limit 12 -o bio-run{run.id}-replay.json"
    )
    assert run.problem_json is not None and run.result_json is not None
    (tmp_path / runs.download_name(run, "problem")).write_text(run.problem_json)
    argv = shlex.split(command)
    done = subprocess.run(
        [sys.executable, *argv[1:]],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    replayed = (tmp_path / runs.download_name(run, "replay")).read_text()
    assert _plan(replayed) == _plan(run.result_json)
    assert json.loads(replayed)["stats"]["reproducible"] is True


def test_the_run_page_shows_the_replay_command_and_says_when_a_replay_may_differ(
    core: Core, db: Any, client_for: Any
) -> None:
    core.request()
    wall = core.solve(time_limit=2)
    assert wall.work_limit is None
    mia = client_for(core.mia)
    page = mia.get(f"/runs/{wall.id}").get_data(as_text=True)
    assert f"bio-run{wall.id}-problem.json --seed 0 --time-limit 2 --workers 2" in page
    assert 'id="replay-may-differ"' in page and "a replay may give a different plan" in page
    assert 'id="replay-exact"' not in page
    budgeted = _finish(runs.start_solve(core.mia, core.bio.id, work_limit=5, launch=False))
    page = mia.get(f"/runs/{budgeted.id}").get_data(as_text=True)
    assert f"bio-run{budgeted.id}-problem.json --seed 0 --work-limit 5 -o" in page
    assert 'id="replay-exact"' in page and 'id="replay-may-differ"' not in page
    assert "Work limit 5 work units" in page


def test_a_work_limited_run_cut_by_its_time_limit_says_a_replay_may_differ(
    core: Core, db: Any
) -> None:
    core.request()
    run = _finish(runs.start_solve(core.mia, core.bio.id, work_limit=5, launch=False))
    assert run.result_json is not None
    result = json.loads(run.result_json)
    result["stats"]["reproducible"] = False  # what the solver writes when the clock ended it
    run.result_json = json.dumps(result)
    assert runs.replays_exactly(run) is False


def test_system_runs_take_the_configured_work_limit_and_managers_choose_theirs(
    app: Flask, core: Core, db: Any
) -> None:
    app.config["SOLVER_WORK_LIMIT"] = 250.0
    scheduled = runs.start_solve(None, core.bio.id, trigger="scheduled", launch=False)
    assert scheduled.work_limit == 250 and scheduled.time_limit_seconds == runs.MAX_TIME_LIMIT
    runs.cancel_run(core.mia, scheduled.id)
    interactive = runs.start_solve(core.mia, core.bio.id, launch=False)
    assert interactive.work_limit is None
    assert interactive.time_limit_seconds == app.config["SOLVER_TIME_LIMIT"]


@pytest.mark.parametrize("bad", [0, -1, 100_001, True, "300"])
def test_a_work_limit_out_of_range_is_refused_naming_the_field(
    core: Core, db: Any, bad: Any
) -> None:
    with pytest.raises(ValidationError) as caught:
        runs.start_solve(core.mia, core.bio.id, work_limit=bad, launch=False)
    assert caught.value.field == "work_limit"
    assert db.session.query(SolveRun).count() == 0


def test_the_api_takes_a_work_limit_and_gives_the_replay_settings(
    core: Core, db: Any, client_for: Any
) -> None:
    core.request()
    mia = client_for(core.mia)
    refused = mia.post("/api/v1/facilities/bio/solve", json={"work_limit": "many"})
    assert refused.status_code == 422 and refused.get_json()["field"] == "work_limit"
    refused = mia.post("/api/v1/facilities/bio/solve", json={"work_limit": 0})
    assert refused.status_code == 422 and refused.get_json()["field"] == "work_limit"
    response = mia.post("/api/v1/facilities/bio/solve", json={"work_limit": 8})
    assert response.status_code == 202, response.get_data(as_text=True)
    run = response.get_json()
    assert (run["seed"], run["work_limit"], run["replays_exactly"]) == (0, 8, None)
    assert "--work-limit 8" in run["replay_command"]
    runs.execute_run(run["id"])
    run = mia.get(f"/api/v1/runs/{run['id']}").get_json()
    assert run["status"] == "succeeded" and run["replays_exactly"] is True
    problem = mia.get(f"/api/v1/runs/{run['id']}/problem.json")
    assert f'filename="bio-run{run["id"]}-problem.json"' in problem.headers["Content-Disposition"]


def test_schedule_run_takes_a_work_limit_and_prints_the_replay_command(
    app: Flask, core: Core, db: Any
) -> None:
    core.request()
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["schedule", "run", "bio", "--work-limit", "0"])
    assert refused.exit_code != 0 and "work limit" in refused.output
    result = runner.invoke(args=["schedule", "run", "bio", "--work-limit", "6"])
    assert result.exit_code == 0, result.output
    run = db.session.scalar(db.select(SolveRun))
    assert run.work_limit == 6 and run.trigger == "cli"
    assert f"replay: python -m scheduler solve bio-run{run.id}-problem.json" in result.output
    assert "--work-limit 6 " in result.output
