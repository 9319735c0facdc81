"""Each rule of the model: a case where it binds, checked with the test-side checker."""

from typing import Any

from scheduler_instances import at, problem_dict, request, step, violations

from scheduler import Status, problem_from_dict, result_to_dict, solve


def run(data: dict[str, Any]) -> dict[str, Any]:
    result = result_to_dict(solve(problem_from_dict(data), work_limit=200))
    assert violations(data, result) == []
    return result


def placed(result: dict[str, Any]) -> dict[tuple[str, int], tuple[str, int, int]]:
    return {
        (a["request"], a["step"]): (a["resource"], a["start"], a["end"])
        for a in result["assignments"]
    }


def test_alternative_units_let_two_requests_run_at_once():
    data = problem_dict(
        [{"id": "a"}, {"id": "b"}],
        [request(r, step(60, "a", "b"), deadline=at(60)) for r in ("r1", "r2")],
    )
    result = run(data)
    assert {p[0] for p in placed(result).values()} == {"a", "b"}
    assert result["status"] == "OPTIMAL"


def test_capacity_one_unit_takes_one_step_at_a_time():
    requests = [request(r, step(60, "a"), deadline=at(60)) for r in ("r1", "r2")]
    result = run(problem_dict([{"id": "a"}], requests))
    assert len(result["assignments"]) == 1
    assert result["unscheduled"][0]["kind"] == "competition"


def test_capacity_two_unit_takes_two_steps_at_once():
    requests = [request(r, step(60, "a"), deadline=at(60)) for r in ("r1", "r2", "r3")]
    result = run(problem_dict([{"id": "a", "capacity": 2}], requests))
    assert len(result["assignments"]) == 2


def test_attended_step_stays_inside_one_open_window():
    unit = {"id": "a", "open": [[at(480), at(720)], [at(900), at(1020)]]}
    result = run(problem_dict([unit], [request("r1", step(180, "a", attended=True))]))
    assert placed(result)[("r1", 0)][1] in range(480, 541)


def test_unattended_step_runs_through_closed_hours_but_attended_cannot():
    unit = {"id": "a", "open": [[at(480), at(720)]]}
    result = run(problem_dict([unit], [request("r1", step(600, "a"))]))
    assert len(result["assignments"]) == 1
    result = run(problem_dict([unit], [request("r1", step(600, "a", attended=True))]))
    assert result["unscheduled"][0]["kind"] == "impossible"
    assert "open long enough" in result["unscheduled"][0]["reason"]


def test_no_step_overlaps_a_blackout():
    unit = {"id": "a", "blackouts": [[at(0), at(600)]]}
    result = run(problem_dict([unit], [request("r1", step(120, "a"), deadline=at(720))]))
    assert placed(result)[("r1", 0)][1] >= 600
    result = run(problem_dict([unit], [request("r1", step(120, "a"), deadline=at(600))]))
    assert "maintenance" in result["unscheduled"][0]["reason"]


def test_changeover_separates_different_projects_only():
    unit = {"id": "a", "changeover_minutes": 60}
    two = [request(r, step(120, "a"), deadline=at(270)) for r in ("r1", "r2")]
    assert len(run(problem_dict([unit], two))["assignments"]) == 1
    same = [request(r, step(120, "a"), deadline=at(240), project="p") for r in ("r1", "r2")]
    assert len(run(problem_dict([unit], same))["assignments"]) == 2
    wide = [request(r, step(120, "a"), deadline=at(300)) for r in ("r1", "r2")]
    starts = sorted(p[1] for p in placed(run(problem_dict([unit], wide))).values())
    assert starts == [0, 180]


def test_changeover_applies_across_a_same_project_step_in_between():
    unit = {"id": "a", "changeover_minutes": 60}
    requests = [
        request("x1", step(60, "a"), project="x", weight=1),
        request("x2", step(60, "a"), project="x", weight=1),
        request("y", step(60, "a"), project="y", weight=1),
    ]
    result = run(problem_dict([unit], requests, hours=4))
    assert len(result["assignments"]) == 3


def test_steps_stay_inside_release_and_deadline():
    result = run(
        problem_dict(
            [{"id": "a"}], [request("r1", step(60, "a"), release=at(300), deadline=at(400))]
        )
    )
    assert 300 <= placed(result)[("r1", 0)][1] <= 340


def test_steps_follow_in_order_within_their_lags():
    steps = [step(60, "a"), step(60, "b", min_lag_minutes=90, max_lag_minutes=90)]
    busy = request("blocker", step(60, "b"), release=at(0), deadline=at(300), weight=9)
    data = problem_dict([{"id": "a"}, {"id": "b"}], [request("r1", *steps), busy], hours=6)
    p = placed(run(data))
    assert p[("r1", 1)][1] - p[("r1", 0)][2] == 90


def test_max_lag_that_can_never_be_met_makes_the_request_impossible():
    unit_b = {"id": "b", "blackouts": [[at(60), at(1440)]]}
    steps = [step(60, "a"), step(60, "b", max_lag_minutes=30)]
    data = problem_dict(
        [{"id": "a", "blackouts": [[at(0), at(60)]]}, unit_b], [request("r1", *steps)]
    )
    result = run(data)
    assert result["unscheduled"][0]["kind"] == "impossible"


def test_pinned_step_stays_and_its_request_is_accepted_over_heavier_ones():
    requests = [
        request("small", step(60, "a"), weight=1),
        request("big", step(60, "a"), weight=50, deadline=at(60)),
    ]
    pinned = [{"request": "small", "step": 0, "resource": "a", "start": at(30)}]
    result = run(problem_dict([{"id": "a"}], requests, pinned=pinned))
    assert placed(result) == {("small", 0): ("a", 30, 90)}
    assert result["objective"] == 1


def test_colliding_pins_make_the_problem_infeasible():
    requests = [request("r1", step(60, "a")), request("r2", step(60, "a"))]
    pinned = [{"request": r, "step": 0, "resource": "a", "start": at(0)} for r in ("r1", "r2")]
    result = solve(problem_from_dict(problem_dict([{"id": "a"}], requests, pinned=pinned)))
    assert result.status is Status.INFEASIBLE


def test_granularity_aligns_starts_and_rounds_durations_up():
    data = problem_dict(
        [{"id": "a"}],
        [request("r1", step(20, "a"), release=at(7)), request("r2", step(20, "a"))],
        granularity_minutes=15,
    )
    for _, start, end in placed(run(data)).values():
        assert start % 15 == 0 and end - start == 30
    assert placed(run(data))[("r1", 0)][1] >= 15


def test_fair_share_caps_one_projects_hold_on_a_unit():
    requests = [
        request(f"r{i}", step(120, "a"), project="greedy-team", weight=5) for i in range(8)
    ]
    requests.append(request("other", step(120, "a"), weight=1))
    data = problem_dict([{"id": "a"}], requests, hours=12, fair_share={"max_fraction": 0.5})
    result = run(data)
    team = [a for a in result["assignments"] if a["request"] != "other"]
    assert sum(a["end"] - a["start"] for a in team) <= 360
    assert len(team) == 3
    assert any(a["request"] == "other" for a in result["assignments"])
    reasons = [u["reason"] for u in result["unscheduled"]]
    assert all("fair share" in r for r in reasons)


def test_previous_placement_is_kept_when_it_costs_no_weight():
    requests = [request("r1", step(60, "a")), request("r2", step(60, "a"))]
    previous = [{"request": "r1", "step": 0, "resource": "a", "start": at(600)}]
    result = run(problem_dict([{"id": "a"}], requests, previous=previous))
    assert placed(result)[("r1", 0)] == ("a", 600, 660)
    assert placed(result)[("r2", 0)][1] == 0
