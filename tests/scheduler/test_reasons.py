from scheduler_instances import at, problem_dict, request, step

from scheduler import UnscheduledKind, problem_from_dict, solve
from scheduler.reasons import duration_text


def reason(data: dict) -> tuple[str, UnscheduledKind]:
    result = solve(problem_from_dict(data), time_limit=5, workers=1)
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
