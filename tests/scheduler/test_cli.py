import json
import subprocess
import sys
from pathlib import Path

import pytest
from scheduler_instances import busy_week, jobshop, problem_dict, request, step
from test_solve import FT06

from scheduler.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scheduler", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_solve_prints_the_result_and_progress(tmp_path):
    problem = tmp_path / "ft06.json"
    problem.write_text(json.dumps(jobshop(FT06)))
    done = run("solve", str(problem), "--work-limit", "2000", "--workers", "2", "--seed", "1")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["format"] == "pilotslot-result/1"
    assert result["status"] == "OPTIMAL" and result["objective"] == 55
    assert "best=" in done.stderr and "bound=" in done.stderr and "t=" in done.stderr


def test_solve_writes_the_result_file_with_dash_o(tmp_path):
    problem = tmp_path / "p.json"
    problem.write_text(json.dumps(problem_dict([{"id": "a"}], [request("r1", step(60, "a"))])))
    out = tmp_path / "r.json"
    done = run("solve", str(problem), "--work-limit", "50", "-o", str(out))
    assert done.returncode == 0 and done.stdout == ""
    assert json.loads(out.read_text())["objective"] == 1


def test_a_work_limited_solve_replays_from_the_problem_file_to_the_same_result(tmp_path):
    problem = tmp_path / "p.json"
    problem.write_text(json.dumps(busy_week(units=8, requests=60, days=2, seed=7)))
    results = []
    for workers in ("1", "2"):
        out = tmp_path / f"r{workers}.json"
        args = ("solve", str(problem), "--seed", "4", "--work-limit", "15", "--workers", workers)
        done = run(*args, "-o", str(out))
        assert done.returncode == 0, done.stderr
        result = json.loads(out.read_text())
        result.pop("wall_seconds")
        for comp in result["stats"]["components"]:
            comp.pop("seconds")
        result["stats"].pop("workers")
        results.append(result)
    assert results[0] == results[1]
    assert results[0]["stats"]["reproducible"] is True
    assert results[0]["stats"]["work_limit"] == 15 and results[0]["stats"]["time_limit"] is None


@pytest.mark.parametrize(
    ("option", "value"), [("--work-limit", "0"), ("--work-limit", "-3"), ("--time-limit", "nan")]
)
def test_a_limit_that_is_not_positive_ends_with_one_line(tmp_path, option, value):
    problem = tmp_path / "p.json"
    problem.write_text(json.dumps(problem_dict([{"id": "a"}], [request("r1", step(60, "a"))])))
    done = run("solve", str(problem), option, value)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0
    assert done.stderr.startswith(f"{option}: must be a positive number")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "bad JSON at line 1"),
        (
            json.dumps(problem_dict([{"id": "a"}], [request("r1", step(60, "hplc-9"))])),
            "requests[0].steps[0].resources[0]: unknown resource 'hplc-9'",
        ),
        (
            json.dumps(problem_dict([{"id": "a", "capacity": -1}], [])),
            "resources[0].capacity: must be at least 1",
        ),
        (
            json.dumps(
                {
                    **problem_dict([], []),
                    "horizon": {"start": "2026-03-02T00:00", "end": "2026-03-03T00:00"},
                }
            ),
            "horizon.start: datetime '2026-03-02T00:00' needs a UTC offset",
        ),
    ],
)
def test_malformed_problem_exits_2_with_one_line_naming_the_field(
    tmp_path, capsys, content, expected
):
    problem = tmp_path / "bad.json"
    problem.write_text(content)
    assert main(["solve", str(problem)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]


def test_missing_problem_file_exits_2_without_a_traceback(tmp_path):
    done = run("solve", str(tmp_path / "nope.json"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_check_and_import_jobshop_use_the_validator_and_importer(tmp_path):
    source = tmp_path / "ft06.txt"
    source.write_text(FT06)
    problem = tmp_path / "ft06.json"
    assert run("import-jobshop", str(source), "-o", str(problem)).returncode == 0
    result = tmp_path / "r.json"
    assert run("solve", str(problem), "--work-limit", "2000", "-o", str(result)).returncode == 0
    assert json.loads(result.read_text())["objective"] == 55
    assert run("check", str(problem), str(result)).returncode == 0
    broken = json.loads(result.read_text())
    broken["assignments"][1]["start"] = broken["assignments"][0]["start"]
    result.write_text(json.dumps(broken))
    done = run("check", str(problem), str(result))
    assert done.returncode == 1 and done.stdout.strip()
