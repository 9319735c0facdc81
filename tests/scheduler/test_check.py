"""The independent validator: a valid plan passes, and each broken rule is named."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import scheduler.check
from scheduler.check import check
from scheduler.problem import problem_from_dict, result_to_dict
from scheduler.solve import solve

Json = dict[str, Any]


def at(hhmm: str, day: int = 2) -> str:
    """Return the ISO instant of ``hhmm`` UTC on 2026-03-``day``."""
    return f"2026-03-{day:02d}T{hhmm}:00+00:00"


def base_problem() -> Json:
    """Return a day with a staffed unit (maintenance, changeover), an open unit and an oven."""
    return {
        "format": "pilotslot-problem/1",
        "horizon": {"start": at("00:00"), "end": at("00:00", day=3)},
        "granularity_minutes": 15,
        "timezone": "Asia/Shanghai",
        "resources": [
            {
                "id": "hplc-1",
                "open": [[at("08:00"), at("20:00")]],
                "blackouts": [[at("12:00"), at("13:00")]],
                "changeover_minutes": 30,
            },
            {"id": "hplc-2"},
            {"id": "oven", "capacity": 2, "open": [[at("09:00"), at("11:00")]]},
        ],
        "requests": [
            {
                "id": "r1",
                "project": "alpha",
                "weight": 3,
                "steps": [
                    {"resources": ["hplc-1", "hplc-2"], "duration_minutes": 50},
                    {
                        "resources": ["oven"],
                        "duration_minutes": 120,
                        "attended": False,
                        "min_lag_minutes": 30,
                        "max_lag_minutes": 120,
                    },
                ],
            },
            {
                "id": "r2",
                "project": "beta",
                "release": at("08:00"),
                "deadline": at("18:00"),
                "steps": [{"resources": ["hplc-1"], "duration_minutes": 60}],
            },
            {
                "id": "r3",
                "project": "alpha",
                "steps": [{"resources": ["oven"], "duration_minutes": 60, "attended": False}],
            },
            {
                "id": "r4",
                "project": "gamma",
                "weight": 2,
                "steps": [{"resources": ["hplc-2"], "duration_minutes": 60}],
            },
        ],
        "pinned": [{"request": "r3", "step": 0, "resource": "oven", "start": at("10:00")}],
    }


def place(request: str, step: int, resource: str, start: str | int, end: str | int) -> Json:
    """Return one assignment."""
    return {
        "request": request,
        "step": step,
        "resource": resource,
        "start": start,
        "end": end,
    }


def base_result() -> Json:
    """Return a valid plan of base_problem(): r4 loses out, weight 3 + 1 + 1 accepted."""
    return {
        "format": "pilotslot-result/1",
        "status": "FEASIBLE",
        "objective": 5,
        "bound": 7,
        "wall_seconds": 0.1,
        "assignments": [
            place("r1", 0, "hplc-1", at("08:00"), at("09:00")),
            # Unattended: it may run on past the oven's closing at 11:00.
            place("r1", 1, "oven", at("09:30"), at("11:30")),
            place("r2", 0, "hplc-1", at("09:30"), at("10:30")),
            place("r3", 0, "oven", at("10:00"), at("11:00")),
        ],
        "unscheduled": [
            {
                "request": "r4",
                "reason": "hplc-2 is booked all day.",
                "kind": "competition",
            }
        ],
        "stats": {"anything": [1, 2]},
    }


def assignment(result: Json, request: str, step: int = 0) -> Json:
    """Return the assignment of ``request`` step ``step`` in ``result``."""
    found: Json = next(
        a for a in result["assignments"] if (a["request"], a["step"]) == (request, step)
    )
    return found


def move(result: Json, request: str, step: int, start: str, end: str) -> None:
    """Move one assignment in place."""
    a = assignment(result, request, step)
    a["start"], a["end"] = start, end


def accept_r4(result: Json, resource: str, start: str, end: str) -> None:
    """Place r4 and count its weight."""
    result["assignments"].append(place("r4", 0, resource, start, end))
    result["unscheduled"] = []
    result["objective"] = 7


def test_base_problem_is_valid_for_the_solver_too() -> None:
    problem_from_dict(base_problem())


def test_valid_plan_passes() -> None:
    assert check(base_problem(), base_result()) == []


def test_times_compare_as_instants_whatever_the_offset() -> None:
    result = base_result()
    shanghai = timezone(timedelta(hours=8))
    for a in result["assignments"]:
        for key in ("start", "end"):
            a[key] = datetime.fromisoformat(a[key]).astimezone(shanghai).isoformat()
    assert check(base_problem(), result) == []


def test_times_as_minutes_from_horizon_start_are_read() -> None:
    result = base_result()
    for a in result["assignments"]:
        for key in ("start", "end"):
            moment = datetime.fromisoformat(a[key])
            a[key] = int((moment - datetime.fromisoformat(at("00:00"))).total_seconds() // 60)
    assert check(base_problem(), result) == []


def test_extensions_and_extra_fields_are_ignored() -> None:
    problem = base_problem()
    problem["x_source"] = "test"
    problem["previous"] = [
        {"request": "r2", "step": 0, "resource": "hplc-1", "start": at("14:00")}
    ]
    result = base_result()
    result["secondary"] = {"moved": 1}
    assert check(problem, result) == []


def test_steps_of_one_project_need_no_changeover() -> None:
    problem = base_problem()
    problem["requests"][1]["project"] = "alpha"
    result = base_result()
    move(result, "r2", 0, at("09:00"), at("10:00"))
    assert check(problem, result) == []


def test_infeasible_result_without_plan_passes() -> None:
    result = base_result()
    result.update(status="INFEASIBLE", objective=None, bound=None, assignments=[])
    result["unscheduled"] = [
        {"request": r, "reason": "Two pinned steps collide."} for r in ("r1", "r2", "r3", "r4")
    ]
    assert check(base_problem(), result) == []


Mutation = Callable[[Json, Json], None]


def _unknown_request(p: Json, r: Json) -> None:
    r["assignments"].append(place("r9", 0, "hplc-2", at("08:00"), at("09:00")))


def _unknown_resource(p: Json, r: Json) -> None:
    assignment(r, "r2")["resource"] = "lcms-9"


def _unknown_step(p: Json, r: Json) -> None:
    r["assignments"].append(place("r2", 1, "hplc-1", at("14:00"), at("15:00")))


def _not_an_alternative(p: Json, r: Json) -> None:
    assignment(r, "r2")["resource"] = "hplc-2"


def _step_missing(p: Json, r: Json) -> None:
    r["assignments"].remove(assignment(r, "r1", 1))


def _step_twice(p: Json, r: Json) -> None:
    r["assignments"].append(place("r2", 0, "hplc-1", at("14:00"), at("15:00")))


def _unscheduled_but_placed(p: Json, r: Json) -> None:
    r["assignments"].append(place("r4", 0, "hplc-2", at("08:00"), at("09:00")))


def _neither_placed_nor_unscheduled(p: Json, r: Json) -> None:
    r["unscheduled"] = []
    r["objective"] = 7


def _unscheduled_twice(p: Json, r: Json) -> None:
    r["unscheduled"].append({"request": "r4", "reason": "Again."})


def _unscheduled_unknown(p: Json, r: Json) -> None:
    r["unscheduled"].append({"request": "r7", "reason": "No such request."})


def _unscheduled_without_reason(p: Json, r: Json) -> None:
    r["unscheduled"][0]["reason"] = ""


def _wrong_duration(p: Json, r: Json) -> None:
    move(r, "r2", 0, at("09:30"), at("10:15"))


def _unrounded_duration(p: Json, r: Json) -> None:
    # r1's first step lasts 50 minutes but occupies the unit for a whole 60 at granularity 15.
    move(r, "r1", 0, at("08:00"), at("08:50"))


def _off_grid(p: Json, r: Json) -> None:
    move(r, "r2", 0, at("09:40"), at("10:40"))


def _outside_horizon(p: Json, r: Json) -> None:
    p["requests"][3]["deadline"] = at("06:00", day=3)
    accept_r4(r, "hplc-2", at("23:30"), at("00:30", day=3))


def _before_release(p: Json, r: Json) -> None:
    p["requests"][1]["release"] = at("09:45")


def _after_deadline(p: Json, r: Json) -> None:
    p["requests"][1]["deadline"] = at("10:15")


def _out_of_order(p: Json, r: Json) -> None:
    move(r, "r1", 1, at("08:30"), at("10:30"))


def _min_lag(p: Json, r: Json) -> None:
    move(r, "r1", 1, at("09:15"), at("11:15"))


def _max_lag(p: Json, r: Json) -> None:
    move(r, "r1", 1, at("11:15"), at("13:15"))


def _closed_hours(p: Json, r: Json) -> None:
    move(r, "r1", 0, at("07:00"), at("08:00"))


def _across_two_windows(p: Json, r: Json) -> None:
    p["resources"][0]["open"] = [[at("08:00"), at("08:30")], [at("08:30"), at("20:00")]]


def _blackout(p: Json, r: Json) -> None:
    move(r, "r2", 0, at("11:30"), at("12:30"))


def _unattended_blackout(p: Json, r: Json) -> None:
    p["resources"][2]["blackouts"] = [[at("11:15"), at("11:45")]]


def _overlap_capacity_one(p: Json, r: Json) -> None:
    # Same project as r1, so that only the overlap is wrong, not the changeover.
    p["requests"][1]["project"] = "alpha"
    move(r, "r2", 0, at("08:30"), at("09:30"))


def _over_capacity_two(p: Json, r: Json) -> None:
    p["requests"][3]["steps"][0].update(resources=["oven"], attended=False)
    accept_r4(r, "oven", at("10:30"), at("11:30"))


def _changeover(p: Json, r: Json) -> None:
    move(r, "r2", 0, at("09:15"), at("10:15"))


def _pin_moved(p: Json, r: Json) -> None:
    move(r, "r3", 0, at("10:15"), at("11:15"))


def _pin_other_unit(p: Json, r: Json) -> None:
    p["requests"][2]["steps"][0]["resources"] = ["oven", "hplc-2"]
    assignment(r, "r3")["resource"] = "hplc-2"


def _pin_unscheduled(p: Json, r: Json) -> None:
    r["assignments"].remove(assignment(r, "r3"))
    r["unscheduled"].append({"request": "r3", "reason": "Lost."})
    r["objective"] = 4


def _objective_wrong(p: Json, r: Json) -> None:
    r["objective"] = 6


def _objective_ignores_default_weight(p: Json, r: Json) -> None:
    # Counting only the explicit weight 3 forgets that r2 and r3 weigh 1 each by default.
    r["objective"] = 3


def _bound_wrong_side(p: Json, r: Json) -> None:
    r["bound"] = 4


def _optimal_with_gap(p: Json, r: Json) -> None:
    r["status"] = "OPTIMAL"


def _plan_without_objective(p: Json, r: Json) -> None:
    r["objective"] = None


def _infeasible_with_plan(p: Json, r: Json) -> None:
    r["status"] = "INFEASIBLE"
    r["unscheduled"] = [{"request": q["id"], "reason": "Pins collide."} for q in p["requests"]]


def _unknown_status(p: Json, r: Json) -> None:
    r["status"] = "GOOD"


def _other_format(p: Json, r: Json) -> None:
    r["format"] = "pilotslot-result/2"


def _naive_time(p: Json, r: Json) -> None:
    assignment(r, "r2")["start"] = "2026-03-02T09:30:00"


def _start_at_off(p: Json, r: Json) -> None:
    assignment(r, "r2")["start_at"] = "2026-03-02T09:30:00+08:00"  # 01:30 UTC, not 09:30 UTC


def _end_at_naive(p: Json, r: Json) -> None:
    assignment(r, "r2")["end_at"] = "2026-03-02T10:30:00"


def _seed_not_integer(p: Json, r: Json) -> None:
    r["stats"] = {"seed": "3"}


def _negative_work_limit(p: Json, r: Json) -> None:
    r["stats"] = {"seed": 3, "work_limit": -5, "reproducible": False}


def _wall_clock_reproducible(p: Json, r: Json) -> None:
    r["stats"] = {"seed": 3, "time_limit": 60, "work_limit": None, "reproducible": True}


VIOLATIONS: list[tuple[str, Mutation, list[str]]] = [
    ("unknown request", _unknown_request, ["unknown request 'r9'"]),
    (
        "unknown resource",
        _unknown_resource,
        ["request 'r2' step 0", "unknown resource 'lcms-9'"],
    ),
    ("unknown step", _unknown_step, ["request 'r2' has no step 1"]),
    (
        "not an alternative",
        _not_an_alternative,
        ["'r2' step 0 on 'hplc-2'", "alternatives"],
    ),
    ("step missing", _step_missing, ["request 'r1' step 1: not placed"]),
    ("step twice", _step_twice, ["request 'r2' step 0: placed 2 times"]),
    ("unscheduled but placed", _unscheduled_but_placed, ["'r4' step 0: placed, but"]),
    ("neither", _neither_placed_nor_unscheduled, ["'r4' step 0: not placed"]),
    ("unscheduled twice", _unscheduled_twice, ["'r4' is listed as unscheduled twice"]),
    ("unscheduled unknown", _unscheduled_unknown, ["unknown request 'r7'"]),
    ("no reason", _unscheduled_without_reason, ["'r4' has no reason"]),
    (
        "duration",
        _wrong_duration,
        ["'r2' step 0 on 'hplc-1': occupies 45", "expected 60"],
    ),
    (
        "unrounded duration",
        _unrounded_duration,
        ["'r1' step 0", "occupies 50", "expected 60"],
    ),
    ("off grid", _off_grid, ["'r2' step 0 on 'hplc-1'", "off the 15-minute grid"]),
    ("horizon", _outside_horizon, ["'r4' step 0 on 'hplc-2'", "leaves the horizon"]),
    ("release", _before_release, ["'r2' step 0", "before the release"]),
    ("deadline", _after_deadline, ["'r2' step 0", "after the deadline"]),
    ("order", _out_of_order, ["'r1' step 1", "before the previous step ends"]),
    ("min lag", _min_lag, ["'r1' step 1", "15 minutes after step 0", "min lag 30"]),
    ("max lag", _max_lag, ["'r1' step 1", "135 minutes", "max lag 120"]),
    ("closed hours", _closed_hours, ["'r1' step 0 on 'hplc-1'", "open window"]),
    (
        "two windows",
        _across_two_windows,
        ["'r1' step 0 on 'hplc-1'", "one open window"],
    ),
    ("blackout", _blackout, ["'r2' step 0 on 'hplc-1'", "blackout"]),
    (
        "unattended blackout",
        _unattended_blackout,
        ["'r1' step 1 on 'oven'", "blackout"],
    ),
    (
        "capacity 1",
        _overlap_capacity_one,
        [
            "resource 'hplc-1'",
            "capacity 1",
            "request 'r1' step 0",
            "request 'r2' step 0",
        ],
    ),
    (
        "capacity 2",
        _over_capacity_two,
        ["resource 'oven'", "3 steps", "capacity 2", "'r4'"],
    ),
    (
        "changeover",
        _changeover,
        ["resource 'hplc-1'", "only 15 minutes", "'r1'", "'r2'", "needs 30"],
    ),
    ("pin moved", _pin_moved, ["pinned request 'r3' step 0", "'oven'"]),
    (
        "pin on other unit",
        _pin_other_unit,
        ["pinned request 'r3' step 0", "placed 'hplc-2'"],
    ),
    ("pin unscheduled", _pin_unscheduled, ["pinned request 'r3'", "unscheduled"]),
    ("objective", _objective_wrong, ["objective: 6", "(5)"]),
    ("default weight", _objective_ignores_default_weight, ["objective: 3", "(5)"]),
    ("bound", _bound_wrong_side, ["bound: 4", "wrong side"]),
    ("optimal with gap", _optimal_with_gap, ["OPTIMAL", "bound 7"]),
    ("no objective", _plan_without_objective, ["objective"]),
    ("infeasible with plan", _infeasible_with_plan, ["INFEASIBLE", "assignments"]),
    ("unknown status", _unknown_status, ["unknown status 'GOOD'"]),
    ("other format", _other_format, ["format", "'pilotslot-result/2'"]),
    ("naive time", _naive_time, ["request 'r2' step 0", "without a UTC offset"]),
    ("start_at off", _start_at_off, ["request 'r2' step 0", "start_at", "is not"]),
    ("end_at naive", _end_at_naive, ["request 'r2' step 0", "end_at", "without a UTC offset"]),
    ("seed not integer", _seed_not_integer, ["stats.seed", "integer"]),
    ("negative work limit", _negative_work_limit, ["stats.work_limit", "-5"]),
    ("wall clock reproducible", _wall_clock_reproducible, ["stats.reproducible", "work limit"]),
]


@pytest.mark.parametrize(
    ("mutation", "words"), [v[1:] for v in VIOLATIONS], ids=[v[0] for v in VIOLATIONS]
)
def test_each_planted_violation_is_reported_alone(mutation: Mutation, words: list[str]) -> None:
    problem, result = base_problem(), base_result()
    mutation(problem, result)
    lines = check(problem, result)
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0]


def makespan_problem() -> Json:
    """Return two one-step jobs on one machine, minimising the makespan."""
    return {
        "format": "pilotslot-problem/1",
        "objective": "min_makespan",
        "horizon": {"start": at("00:00"), "end": at("01:00")},
        "resources": [{"id": "m0"}],
        "requests": [
            {
                "id": "j0",
                "project": "j0",
                "steps": [{"resources": ["m0"], "duration_minutes": 7}],
            },
            {
                "id": "j1",
                "project": "j1",
                "steps": [{"resources": ["m0"], "duration_minutes": 5}],
            },
        ],
    }


def makespan_result() -> Json:
    """Return the optimal plan of makespan_problem(), times in minutes as the solver writes."""
    return {
        "status": "OPTIMAL",
        "objective": 12,
        "bound": 12,
        "assignments": [place("j0", 0, "m0", 0, 7), place("j1", 0, "m0", 7, 12)],
        "unscheduled": [],
    }


def test_makespan_plan_passes() -> None:
    assert check(makespan_problem(), makespan_result()) == []


def test_makespan_must_be_the_latest_end() -> None:
    result = makespan_result()
    result["objective"] = result["bound"] = 11
    assert check(makespan_problem(), result) == [
        "objective: 11 is not the latest end of any step (12 minutes from horizon.start)"
    ]


def test_makespan_plan_must_place_every_request() -> None:
    result = makespan_result()
    result["assignments"].pop()
    result["unscheduled"] = [{"request": "j1", "reason": "No room."}]
    result["objective"] = result["bound"] = 7
    lines = check(makespan_problem(), result)
    assert len(lines) == 1 and "'j1'" in lines[0], lines


def fair_problem(max_fraction: float) -> Json:
    """Return a day on one always-open unit and one 10-hour unit, with a fair-share cap."""
    problem = makespan_problem()
    problem.update(
        objective="max_weighted_accepted",
        horizon={"start": at("00:00"), "end": at("00:00", day=3)},
        fair_share={"max_fraction": max_fraction},
        resources=[
            {"id": "m0"},
            {
                "id": "lab",
                "open": [[at("08:00"), at("18:00")]],
                "blackouts": [[at("09:00"), at("10:00")]],
            },
        ],
    )
    problem["requests"] = [
        {
            "id": f"q{i}",
            "project": "alpha",
            "steps": [{"resources": ["m0"], "duration_minutes": 120, "attended": False}],
        }
        for i in range(3)
    ] + [
        {
            "id": "lab1",
            "project": "alpha",
            "steps": [{"resources": ["lab"], "duration_minutes": 60}],
        }
    ]
    return problem


def fair_result() -> Json:
    """Return a plan where alpha holds 6 hours of m0 and 1 hour of lab."""
    return {
        "status": "FEASIBLE",
        "objective": 4,
        "bound": 4,
        "assignments": [
            place("q0", 0, "m0", at("00:00"), at("02:00")),
            place("q1", 0, "m0", at("02:00"), at("04:00")),
            place("q2", 0, "m0", at("04:00"), at("06:00")),
            place("lab1", 0, "lab", at("10:00"), at("11:00")),
        ],
        "unscheduled": [],
    }


def test_fair_share_within_the_limit_passes() -> None:
    # 6 h of m0's 24 h is 25 %; 1 h of lab's 9 bookable hours is 11 %.
    problem = fair_problem(0.25)
    problem_from_dict(problem)
    assert check(problem, fair_result()) == []


def test_fair_share_counts_only_bookable_hours_of_a_unit() -> None:
    # 0.1 allows 2.4 h of m0 and 0.9 h of lab (10 open hours less 1 of maintenance).
    lines = check(fair_problem(0.1), fair_result())
    assert len(lines) == 2, lines
    assert "resource 'lab': project 'alpha' holds 60 minutes" in lines[0]
    assert "54 minutes" in lines[0]
    assert "resource 'm0': project 'alpha' holds 360 minutes" in lines[1]


def test_fair_share_leaves_pinned_bookings_out() -> None:
    problem = fair_problem(0.2)
    problem["pinned"] = [{"request": "q0", "step": 0, "resource": "m0", "start": at("00:00")}]
    assert check(problem, fair_result()) == []
    del problem["pinned"]
    lines = check(problem, fair_result())
    assert len(lines) == 1 and "resource 'm0'" in lines[0], lines


def test_check_imports_nothing_of_the_solver() -> None:
    source = Path(scheduler.check.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not {name for name in imported if name.split(".")[0] == "scheduler"}


def test_the_solver_writes_each_start_and_end_as_minutes_and_as_a_datetime() -> None:
    problem = base_problem()
    problem["timezone"] = "Asia/Shanghai"
    result = result_to_dict(solve(problem_from_dict(problem), work_limit=10, seed=1))
    assert result["assignments"] and check(problem, result) == []
    origin = datetime.fromisoformat(problem["horizon"]["start"])
    for a in result["assignments"]:
        for minutes, moment in ((a["start"], a["start_at"]), (a["end"], a["end_at"])):
            assert moment.endswith("+08:00")
            assert datetime.fromisoformat(moment) == origin + timedelta(minutes=minutes)
    stats = result["stats"]
    assert (stats["seed"], stats["work_limit"], stats["reproducible"]) == (1, 10, True)


@pytest.mark.parametrize(
    ("request_id", "start", "end", "code"),
    [
        ("r2", at("18:30"), at("19:30"), "after-deadline"),
        ("r2", at("06:00"), at("07:00"), "before-release"),
        ("r1", at("06:00"), at("07:00"), "outside-open-hours"),
        ("r1", at("11:30"), at("12:30"), "blackout"),
    ],
)
def test_a_placement_finding_carries_its_code_and_the_step_it_is_about(
    request_id: str, start: str, end: str, code: str
) -> None:
    """Callers (a manager's move) write findings in their users' language from the code."""
    result = base_result()
    move(result, request_id, 0, start, end)
    findings = [f for f in check(base_problem(), result) if isinstance(f, scheduler.check.Finding)]
    mine = [f for f in findings if f.code == code]
    assert mine, check(base_problem(), result)
    assert mine[0].code in scheduler.check.PLACEMENT_CODES
    assert (mine[0].args["request"], mine[0].args["step"]) == (request_id, 0)
    assert mine[0].args["start"] == datetime.fromisoformat(start).isoformat()
