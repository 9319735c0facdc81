"""The job-shop importer: classic files become valid makespan problems."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scheduler.check import check
from scheduler.jobshop import import_jobshop
from scheduler.problem import Objective, problem_from_dict

JOBSHOP_DIR = Path(
    os.environ.get(
        "PILOTSLOT_JOBSHOP_DIR",
        Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "jobshop",
    )
)

# ft06 as published by Fisher & Thompson, kept here so the test needs no shared folder.
FT06 = """\
# Fisher and Thompson 6x6 instance, alternate name (mt06)
6 6
 2  1  0  3  1  6  3  7  5  3  4  6
 1  8  2  5  4 10  5 10  0 10  3  4
 2  5  3  4  5  8  0  9  1  1  4  7
 1  5  0  5  2  5  3  3  4  8  5  9
 2  9  1  3  4  5  5  4  0  3  3  1
 1  3  3  3  5  9  0 10  4  4  2  1
"""


def test_ft06_gives_six_requests_of_six_steps() -> None:
    problem = import_jobshop(FT06, name="ft06")
    assert [r["id"] for r in problem["requests"]] == [f"j{i}" for i in range(6)]
    assert all(len(r["steps"]) == 6 for r in problem["requests"])
    assert [r["id"] for r in problem["resources"]] == [f"m{i}" for i in range(6)]
    assert problem["requests"][1]["steps"][2] == {
        "resources": ["m4"],
        "duration_minutes": 10,
        "attended": False,
    }
    assert problem["x_name"] == "ft06"


def test_import_is_a_valid_makespan_problem_with_room_for_every_job_in_turn() -> None:
    problem = import_jobshop(FT06)
    parsed = problem_from_dict(problem)
    assert parsed.objective is Objective.MIN_MAKESPAN
    assert parsed.granularity_minutes == 1
    assert all(r.capacity == 1 and not r.open for r in parsed.resources)
    assert len({r.project for r in parsed.requests}) == 6
    total = sum(s.duration_minutes for r in parsed.requests for s in r.steps)
    assert parsed.horizon.minutes(parsed.horizon.end) == total == 197


def test_jobs_run_back_to_back_are_a_valid_plan() -> None:
    problem = import_jobshop(FT06)
    assignments, t = [], 0
    for r in problem["requests"]:
        for k, s in enumerate(r["steps"]):
            end = t + s["duration_minutes"]
            assignments.append(
                {
                    "request": r["id"],
                    "step": k,
                    "resource": s["resources"][0],
                    "start": t,
                    "end": end,
                }
            )
            t = end
    result = {
        "status": "FEASIBLE",
        "objective": t,
        "bound": 55,
        "assignments": assignments,
    }
    result["unscheduled"] = []
    assert check(problem, result) == []


def test_blank_lines_and_comments_are_skipped() -> None:
    text = "# two jobs\n\n2 2\n# first\n0 3 1 4\n\n1 2   0 5\n"
    problem = import_jobshop(text)
    assert [[s["resources"][0] for s in r["steps"]] for r in problem["requests"]] == [
        ["m0", "m1"],
        ["m1", "m0"],
    ]


def test_operations_of_no_length_are_dropped() -> None:
    problem = import_jobshop("2 2\n0 3 1 0\n1 2 0 5\n")
    assert [len(r["steps"]) for r in problem["requests"]] == [1, 2]
    problem_from_dict(problem)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: expected 'JOBS MACHINES'"),
        ("# nothing\n2\n", "line 2: expected 'JOBS MACHINES', got 1 fields"),
        ("2 x\n", "line 1: MACHINES must be an integer, got 'x'"),
        ("0 3\n", "line 1: JOBS must be positive"),
        ("2 2\n0 3 1 4\n\n1 2 0\n", "line 4: odd number of fields (3)"),
        (
            "2 2\n0 3 1 4\n1 2 0 5 1 1\n",
            "line 3: expected 2 machine/duration pairs, got 3",
        ),
        ("2 2\n0 3 1 4\n1 2 2 5\n", "line 3: machine 2 is outside 0..1"),
        ("2 2\n0 3 1 4\n1 2 0 -5\n", "line 3: duration must not be negative"),
        ("2 2\n0 3 1 4\n1 2 0 5.5\n", "line 3: duration must be an integer, got '5.5'"),
        ("2 2\n0 3 1 4\n", "line 2: file ends after 1 of 2 job lines"),
        ("1 2\n0 3 1 4\n# more\n1 2 0 5\n", "line 4: one job line too many"),
        ("1 2\n0 0 1 0\n", "line 2: job 0 has no operation of positive duration"),
    ],
)
def test_malformed_files_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        import_jobshop(text)


def test_ten_pairs_expected_on_a_short_line() -> None:
    rows = ["10 10"] + [" ".join(f"{m} 5" for m in range(10))] * 2
    rows.append(" ".join(f"{m} 5" for m in range(9)))
    with pytest.raises(ValueError, match="^line 4: expected 10 machine/duration pairs, got 9$"):
        import_jobshop("\n".join(rows))


@pytest.mark.skipif(not (JOBSHOP_DIR / "instances").is_dir(), reason="no shared benchmark folder")
def test_every_shared_instance_imports_to_a_valid_problem() -> None:
    files = sorted((JOBSHOP_DIR / "instances").iterdir())
    assert files
    for path in files:
        problem = problem_from_dict(import_jobshop(path.read_text(encoding="utf-8")))
        assert problem.requests and problem.resources
