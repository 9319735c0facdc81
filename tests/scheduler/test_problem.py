import copy
from typing import Any

import pytest
from scheduler_instances import at, problem_dict, request, step

from scheduler import (
    Objective,
    ProblemError,
    load_problem,
    problem_from_dict,
    problem_to_dict,
    result_from_dict,
    result_to_dict,
    solve,
)


def _sample() -> dict[str, Any]:
    return problem_dict(
        [
            {"id": "lcms-1", "open": [[at(480), at(1200)]], "changeover_minutes": 30},
            {"id": "lcms-2", "capacity": 2, "blackouts": [[at(0), at(60)]]},
        ],
        [
            request(
                "r1",
                step(60, "lcms-1", "lcms-2"),
                step(30, "lcms-2", max_lag_minutes=90),
                weight=2.5,
                release=at(0),
                deadline=at(1440),
            ),
            request("r2", step(45, "lcms-1"), project="team-a", x_note="from the app"),
        ],
        granularity_minutes=15,
        timezone="Asia/Shanghai",
        pinned=[{"request": "r2", "step": 0, "resource": "lcms-1", "start": at(480)}],
    )


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ProblemError) as info:
        problem_from_dict(data)
    return str(info.value)


def test_a_valid_problem_parses_with_defaults():
    problem = problem_from_dict(_sample())
    assert problem.objective is Objective.MAX_WEIGHTED_ACCEPTED
    assert problem.granularity_minutes == 15
    assert problem.resources[0].capacity == 1
    assert problem.requests[0].steps[1].max_lag_minutes == 90
    assert problem.requests[1].steps[0].min_lag_minutes == 0
    assert problem.pinned[0].resource == "lcms-1"


def test_problem_round_trips_through_its_dict():
    problem = problem_from_dict(_sample())
    assert problem_from_dict(problem_to_dict(problem)) == problem


def test_unknown_resource_names_the_field_path():
    data = _sample()
    data["requests"][0]["steps"][1]["resources"] = ["hplc-9"]
    assert _error(data) == "requests[0].steps[1].resources[0]: unknown resource 'hplc-9'"


def test_unknown_field_is_rejected_but_x_fields_are_ignored():
    data = _sample()
    data["requests"][1]["steps"][0]["duration"] = 5
    assert _error(data).startswith("requests[1].steps[0].duration: unknown field")
    data = _sample()
    data["x_exported_by"] = "app"
    data["resources"][0]["x_room"] = "B12"
    problem_from_dict(data)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("horizon", "start"), "2026-03-02T00:00:00", "horizon.start: datetime"),
        (("objective",), "min_cost", "objective: must be one of"),
        (("granularity_minutes",), 0, "granularity_minutes: must be a positive"),
        (("requests", 0, "weight"), -1, "requests[0].weight: must be a positive"),
        (
            ("requests", 0, "steps", 0, "duration_minutes"),
            1.5,
            "requests[0].steps[0].duration_minutes: must be an integer",
        ),
        (("requests", 0, "steps", 0, "attended"), "yes", "requests[0].steps[0].attended"),
        (("resources", 1, "capacity"), 0, "resources[1].capacity: must be at least 1"),
        (("resources", 0, "open", 0, 1), "tomorrow", "resources[0].open[0][1]: not an ISO"),
        (("timezone",), "Mars/Olympus", "timezone: unknown IANA"),
        (("requests", 1, "id"), "r1", "requests[1].id: duplicate request id"),
        (("pinned", 0, "start"), at(487), "pinned[0].start: must lie on the granularity grid"),
        (("pinned", 0, "resource"), "lcms-2", "pinned[0].resource:"),
        (("format",), "pilotslot-problem/2", "format: must be"),
    ],
)
def test_malformed_fields_are_named(path: tuple[Any, ...], value: Any, message: str):
    data = _sample()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert _error(data).startswith(message)


def test_missing_required_field_is_named():
    data = _sample()
    del data["requests"][0]["project"]
    assert _error(data) == "requests[0].project: missing required field"


def test_load_problem_reads_text_and_paths(tmp_path):
    import json

    text = json.dumps(_sample())
    path = tmp_path / "p.json"
    path.write_text(text)
    assert load_problem(text) == load_problem(path) == load_problem(str(path))
    with pytest.raises(ProblemError, match="bad JSON"):
        load_problem("{not json")


def test_optional_extensions_parse():
    data = _sample()
    data["fair_share"] = {"max_fraction": 0.5}
    data["previous"] = [{"request": "r1", "step": 0, "resource": "lcms-2", "start": at(600)}]
    problem = problem_from_dict(data)
    assert problem.fair_share is not None and problem.fair_share.max_fraction == 0.5
    assert problem_from_dict(problem_to_dict(problem)) == problem
    bad = copy.deepcopy(data)
    bad["fair_share"] = {"max_fraction": 1.5}
    assert _error(bad).startswith("fair_share.max_fraction: must be in (0, 1]")


def test_result_round_trips_through_its_dict():
    result = solve(problem_from_dict(_sample()), work_limit=50)
    assert result_from_dict(result_to_dict(result)) == result
