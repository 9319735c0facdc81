"""The `flask schedule` commands, and opening hours as UTC windows (DST, "always", closures)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

import scheduler
from app.booking.models import SolveRun
from app.catalog.hours import closures_between, open_windows
from tests import factories
from tests.booking.conftest import Core


def test_schedule_run_prints_progress_and_export_writes_the_problem(
    app: Flask, core: Core, db: Any, tmp_path: Path
) -> None:
    core.request()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["schedule", "run", "bio", "--time-limit", "3"])
    assert result.exit_code == 0, result.output
    assert "best 1" in result.output and "1/1 requests" in result.output
    run = db.session.scalar(db.select(SolveRun))
    target = tmp_path / "problem.json"
    result = runner.invoke(args=["schedule", "export", str(run.id), "-o", str(target)])
    assert result.exit_code == 0, result.output
    problem = scheduler.problem_from_dict(json.loads(target.read_text()))
    assert len(problem.requests) == 1
    missing = runner.invoke(args=["schedule", "run", "atlantis"])
    assert missing.exit_code != 0 and "no facility atlantis" in missing.output


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_open_windows_keep_wall_clock_hours_across_dst(db: Any) -> None:
    berlin = factories.make_facility(
        timezone="Europe/Berlin",
        opening_hours={"fri": [["09:00", "17:00"]], "mon": [["09:00", "17:00"]]},
    )
    unit = factories.make_equipment(berlin)
    # 2027-03-28 is the spring change: Friday is UTC+1, Monday UTC+2.
    windows = open_windows(unit, utc("2027-03-26 00:00"), utc("2027-03-30 00:00"))
    assert windows == [
        (utc("2027-03-26 08:00"), utc("2027-03-26 16:00")),
        (utc("2027-03-29 07:00"), utc("2027-03-29 15:00")),
    ]


def test_always_open_unit_and_closures(db: Any) -> None:
    facility = factories.make_facility(
        closures=[
            {
                "from": "2027-02-08",
                "to": "2027-02-09",
                "reason_zh": "春节",
                "reason_en": "Spring Festival",
            }
        ]
    )
    unit = factories.make_equipment(facility, opening_hours="always")
    start, end = utc("2027-02-07 00:00"), utc("2027-02-11 00:00")
    # Closed from 8 Feb 00:00 to 10 Feb 00:00 Shanghai time.
    assert open_windows(unit, start, end) == [
        (start, utc("2027-02-07 16:00")),
        (utc("2027-02-09 16:00"), end),
    ]
    assert closures_between(facility, start, end) == [
        (utc("2027-02-07 16:00"), utc("2027-02-09 16:00"), "春节", "Spring Festival")
    ]
    staffed = factories.make_equipment(facility)
    staffed_windows = open_windows(staffed, start, end)
    assert staffed_windows == [(utc("2027-02-10 01:00"), utc("2027-02-10 10:00"))]
