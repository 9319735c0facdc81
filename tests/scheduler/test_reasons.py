import json
import subprocess
import sys
from pathlib import Path

from scheduler_instances import at, problem_dict, request, step

from scheduler import (
    Unscheduled,
    UnscheduledKind,
    dump_result,
    problem_from_dict,
    result_from_dict,
    result_to_dict,
    solve,
)
from scheduler.reasons import REASON_CODES, duration_text


def reason(data: dict) -> tuple[str, UnscheduledKind]:
    result = solve(problem_from_dict(data), work_limit=100)
    (unscheduled,) = [u for u in result.unscheduled if u.request == "r1"]
    return unscheduled.reason, unscheduled.kind


def test_window_shorter_than_the_steps_is_impossible():
    data = problem_dict(
        [{"id": "a"}],
        [request("r1", step(1200, "a"), step(600, "a"), release=at(0), deadline=at(1440))],
        hours=48,
    )
    text, kind = reason(data)
    assert kind is UnscheduledKind.IMPOSSIBLE
    assert text.startswith("the window 2 Mar 00:00 – 3 Mar 00:00 is shorter than the 30 h")


def test_attended_step_longer_than_any_opening_is_impossible():
    unit = {"id": "lcms-1", "open": [[at(480), at(1200)]]}
    text, kind = reason(problem_dict([unit], [request("r1", step(840, "lcms-1", attended=True))]))
    assert kind is UnscheduledKind.IMPOSSIBLE
    assert "no allowed unit (lcms-1) is open long enough for an attended 14 h step" in text


def test_unit_in_maintenance_for_the_whole_window_is_impossible():
    unit = {"id": "bio-1", "blackouts": [[at(0), at(1440)]]}
    text, kind = reason(problem_dict([unit], [request("r1", step(60, "bio-1"))]))
    assert kind is UnscheduledKind.IMPOSSIBLE
    assert "the only allowed unit, bio-1, is in maintenance for the whole window" in text


def test_unreachable_next_step_names_the_lag():
    units = [
        {"id": "a", "blackouts": [[at(300), at(1440)]]},
        {"id": "b", "blackouts": [[at(0), at(700)]]},
    ]
    steps = [step(60, "a"), step(60, "b", max_lag_minutes=360)]
    text, kind = reason(problem_dict(units, [request("r1", *steps)]))
    assert kind is UnscheduledKind.IMPOSSIBLE
    assert text.startswith("step 2's units (b) are never free within 6 h after step 1 can end")


def test_competition_names_the_units_and_the_earliest_free_slot_in_local_time():
    units = [{"id": f"lcms-{i}"} for i in (1, 2, 3)]
    blockers = [
        request(f"b{i}", step(600, f"lcms-{i}"), weight=5, release=at(0), deadline=at(600))
        for i in (1, 2, 3)
    ]
    r1 = request("r1", step(240, "lcms-1", "lcms-2", "lcms-3"), release=at(0), deadline=at(600))
    data = problem_dict(units, [*blockers, r1], timezone="Asia/Shanghai")
    text, kind = reason(data)
    assert kind is UnscheduledKind.COMPETITION
    assert text.startswith("all 3 allowed units (lcms-1, lcms-2, lcms-3) are booked")
    assert text.endswith("the earliest free 4 h slot is 2 Mar 18:00 on lcms-1")


def test_durations_read_naturally():
    assert [duration_text(m) for m in (45, 60, 90, 1800)] == [
        "45 min",
        "1 h",
        "1 h 30 min",
        "30 h",
    ]


# --- codes and arguments --------------------------------------------------------------------
# Each reason code arises from a small problem built to cause it; the app writes the reason in
# the user's language from the code and its arguments alone, so the arguments are checked too.


def coded(data: dict) -> Unscheduled:
    result = solve(problem_from_dict(data), work_limit=100)
    (unscheduled,) = [u for u in result.unscheduled if u.request == "r1"]
    return unscheduled


def test_window_too_short_carries_the_window_and_the_minutes_needed():
    data = problem_dict(
        [{"id": "a"}],
        [request("r1", step(1200, "a"), step(600, "a"), release=at(0), deadline=at(1440))],
        hours=48,
        timezone="Asia/Shanghai",
    )
    u = coded(data)
    assert u.code == "window-too-short"
    assert u.args == {
        "earliest": "2026-03-02T08:00:00+08:00",
        "deadline": "2026-03-03T08:00:00+08:00",
        "minutes": 1800,
    }


def test_deadline_before_release_is_a_window_too_short():
    data = problem_dict(
        [{"id": "a"}], [request("r1", step(60, "a"), release=at(600), deadline=at(0))]
    )
    u = coded(data)
    assert u.kind is UnscheduledKind.IMPOSSIBLE and u.code == "window-too-short"


def test_not_open_long_enough_names_the_step_and_its_units():
    units = [{"id": f"lcms-{i}", "open": [[at(480), at(1200)]]} for i in (1, 2)]
    steps = [step(60, "lcms-1"), step(840, "lcms-1", "lcms-2", attended=True)]
    u = coded(problem_dict(units, [request("r1", *steps)]))
    assert u.code == "not-open-long-enough"
    assert u.args["step"] == 2 and u.args["steps"] == 2
    assert u.args["units"] == ["lcms-1", "lcms-2"] and u.args["minutes"] == 840


def test_unit_in_maintenance_carries_the_unit_and_the_window():
    unit = {"id": "bio-1", "blackouts": [[at(0), at(1440)]]}
    u = coded(problem_dict([unit], [request("r1", step(60, "bio-1"))]))
    assert u.code == "units-in-maintenance"
    assert u.args["units"] == ["bio-1"] and u.args["step"] == 1 and u.args["steps"] == 1
    assert u.args["earliest"] == "2026-03-02T00:00:00+00:00"
    assert u.args["deadline"] == "2026-03-03T00:00:00+00:00"


def test_units_closed_or_in_maintenance_has_its_own_code():
    units = [
        {"id": "a", "open": [[at(480), at(600)]]},
        {"id": "b", "blackouts": [[at(0), at(1440)]]},
    ]
    u = coded(problem_dict(units, [request("r1", step(240, "a", "b", attended=True))]))
    assert u.kind is UnscheduledKind.IMPOSSIBLE
    assert u.code == "units-closed"
    assert "closed or in maintenance" in u.reason and u.args["units"] == ["a", "b"]


def test_units_taken_by_approved_bookings_never_name_the_booking():
    pinned_request = request("secret-b", step(1440, "a"), project="rival")
    r1 = request("r1", step(60, "a"))
    data = problem_dict(
        [{"id": "a"}],
        [pinned_request, r1],
        pinned=[{"request": "secret-b", "step": 0, "resource": "a", "start": at(0)}],
    )
    u = coded(data)
    assert u.code == "units-taken-by-approved-bookings"
    assert u.args["units"] == ["a"]
    assert "secret-b" not in u.reason and "rival" not in u.reason
    assert "secret-b" not in str(u.args) and "rival" not in str(u.args)


def test_lag_too_short_carries_the_lag():
    units = [
        {"id": "a", "blackouts": [[at(300), at(1440)]]},
        {"id": "b", "blackouts": [[at(0), at(700)]]},
    ]
    steps = [step(60, "a"), step(60, "b", max_lag_minutes=360)]
    u = coded(problem_dict(units, [request("r1", *steps)]))
    assert u.code == "lag-too-short"
    assert u.args["step"] == 2 and u.args["previous"] == 1
    assert u.args["max_lag_minutes"] == 360 and u.args["units"] == ["b"]


def test_steps_that_cannot_follow_one_another_without_a_lag_bound():
    units = [
        {"id": "a", "blackouts": [[at(0), at(720)]]},
        {"id": "b", "blackouts": [[at(300), at(1440)]]},
    ]
    u = coded(problem_dict(units, [request("r1", step(60, "a"), step(60, "b"))]))
    assert u.kind is UnscheduledKind.IMPOSSIBLE
    assert u.code == "steps-cannot-follow"
    assert u.args["steps"] == 2 and u.reason.startswith("its 2 steps cannot follow")


def test_fair_share_used_names_only_the_requests_own_project():
    requests = [
        request("big", step(720, "a"), project="p1", weight=5),
        request("other", step(60, "a"), project="p2"),
        request("r1", step(60, "a"), project="p1"),
    ]
    data = problem_dict([{"id": "a"}], requests, fair_share={"max_fraction": 0.5})
    u = coded(data)
    assert u.code == "fair-share-used"
    assert u.args == {"project": "p1", "percent": 50, "units": ["a"]}


def test_over_budget_names_the_budget_what_is_committed_and_the_cost():
    requests = [
        request("big", step(60, "a", cost_fen=8000), project="p1", weight=5),
        request("other", step(60, "a", cost_fen=90000), project="p2"),
        request("r1", step(60, "a", cost_fen=3000), project="p1"),
    ]
    budgets = [{"project": "p1", "remaining_fen": 10000}]
    u = coded(problem_dict([{"id": "a"}], requests, budgets=budgets))
    assert u.kind is UnscheduledKind.COMPETITION and u.code == "over-budget"
    assert u.args == {
        "project": "p1",
        "budget_fen": 10000,
        "committed_fen": 8000,
        "cost_fen": 3000,
    }
    assert u.reason.startswith(
        "project 'p1' has a budget of CNY 100.00 and its approved bookings and the requests "
        "accepted in this plan already commit CNY 80.00; this request would cost CNY 30.00 more"
    )
    assert "p2" not in u.reason and "big" not in u.reason


def test_over_budget_alone_is_impossible():
    requests = [request("r1", step(60, "a", cost_fen=123456), project="p1")]
    budgets = [{"project": "p1", "remaining_fen": 100000}]
    u = coded(problem_dict([{"id": "a"}], requests, budgets=budgets))
    assert u.kind is UnscheduledKind.IMPOSSIBLE and u.code == "over-budget"
    assert u.args["committed_fen"] == 0 and u.args["cost_fen"] == 123456
    assert u.reason.startswith(
        "this request would cost CNY 1,234.56, more than the budget of CNY 1,000.00 of "
        "project 'p1'"
    )


def test_booked_by_others_gives_the_earliest_free_slot_but_no_other_request():
    units = [{"id": f"lcms-{i}"} for i in (1, 2, 3)]
    blockers = [
        request(f"b{i}", step(600, f"lcms-{i}"), weight=5, release=at(0), deadline=at(600))
        for i in (1, 2, 3)
    ]
    r1 = request("r1", step(240, "lcms-1", "lcms-2", "lcms-3"), release=at(0), deadline=at(600))
    u = coded(problem_dict(units, [*blockers, r1], timezone="Asia/Shanghai"))
    assert u.kind is UnscheduledKind.COMPETITION and u.code == "booked-by-others"
    assert u.args == {
        "steps": 1,
        "units": ["lcms-1", "lcms-2", "lcms-3"],
        "minutes": 240,
        "earliest": "2026-03-02T08:00:00+08:00",
        "deadline": "2026-03-02T18:00:00+08:00",
        "free_unit": "lcms-1",
        "free_start": "2026-03-02T18:00:00+08:00",
        "fair_share_used": False,
    }
    assert not any(f"b{i}" in u.reason for i in (1, 2, 3))


def test_booked_by_others_says_when_the_free_slot_is_over_the_fair_share():
    requests = [
        request("b", step(600, "a"), project="rival", weight=5, release=at(0), deadline=at(600)),
        request("mine", step(1440, "a"), project="p1", weight=5, release=at(600)),
        request("r1", step(240, "a"), project="p1", release=at(0), deadline=at(600)),
    ]
    data = problem_dict([{"id": "a"}], requests, hours=48, fair_share={"max_fraction": 0.5})
    u = coded(data)
    assert u.code == "booked-by-others"
    assert u.args["fair_share_used"] is True and u.args["project"] == "p1"
    assert "rival" not in u.reason and "rival" not in str(u.args)


def test_booked_until_the_horizon_ends():
    requests = [
        request("b", step(1440, "a"), project="rival", weight=5),
        request("r1", step(60, "a"), step(60, "a"), release=at(0), deadline=at(600)),
    ]
    u = coded(problem_dict([{"id": "a"}], requests))
    assert u.kind is UnscheduledKind.COMPETITION
    assert u.code == "booked-until-horizon-end"
    assert u.args["steps"] == 2 and "free_unit" not in u.args
    assert u.reason.endswith(
        "no time the whole campaign fits remains before the planning horizon ends"
    )


def test_every_reason_code_is_covered_by_a_test_above():
    source = Path(__file__).read_text()
    assert all(f'"{code}"' in source for code in REASON_CODES)


def test_codes_and_arguments_survive_the_result_file(tmp_path):
    units = [{"id": "a", "blackouts": [[at(0), at(1440)]]}, {"id": "b"}]
    requests = [
        request("b", step(1440, "b"), weight=5),
        request("r1", step(60, "a")),
        request("r2", step(60, "b"), release=at(0), deadline=at(600)),
    ]
    data = problem_dict(units, requests, timezone="Asia/Shanghai")
    result = solve(problem_from_dict(data), work_limit=100)
    text = dump_result(result)
    again = result_from_dict(json.loads(text))
    assert again.unscheduled == result.unscheduled
    assert [u.args for u in again.unscheduled] == [u.args for u in result.unscheduled]
    assert {u["code"] for u in json.loads(text)["unscheduled"]} == {
        "units-in-maintenance",
        "booked-until-horizon-end",
    }
    problem_file, result_file = tmp_path / "p.json", tmp_path / "r.json"
    problem_file.write_text(json.dumps(data))
    result_file.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "scheduler", "check", str(problem_file), str(result_file)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_results_without_codes_still_read():
    data = {
        "status": "FEASIBLE",
        "unscheduled": [{"request": "r1", "reason": "because", "kind": "impossible"}],
    }
    (u,) = result_from_dict(data).unscheduled
    assert u.code is None and u.args == {}
    assert "code" not in result_to_dict(result_from_dict(data))["unscheduled"][0]
