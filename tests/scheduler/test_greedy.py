from scheduler_instances import at, busy_week, problem_dict, request, step, violations

from scheduler import first_come_first_served, problem_from_dict, result_to_dict
from scheduler.greedy import weighted_greedy
from scheduler.instance import compile_problem
from scheduler.plan import plan_weight


def test_first_come_first_served_books_in_arrival_order_at_the_earliest_slot():
    data = problem_dict(
        [{"id": "a"}],
        [
            request("early-light", step(60, "a"), weight=1, deadline=at(120)),
            request("late-heavy", step(120, "a"), weight=9, deadline=at(120)),
            request("third", step(60, "a")),
        ],
    )
    result = result_to_dict(first_come_first_served(problem_from_dict(data)))
    assert violations(data, result) == []
    starts = {a["request"]: a["start"] for a in result["assignments"]}
    assert starts == {"early-light": 0, "third": 60}
    assert [u["request"] for u in result["unscheduled"]] == ["late-heavy"]


def test_first_come_first_served_honours_lags_changeovers_and_pins():
    data = problem_dict(
        [{"id": "a", "changeover_minutes": 30}, {"id": "b"}],
        [
            request("pinned", step(60, "a")),
            request("r1", step(60, "a"), step(60, "b", min_lag_minutes=30, max_lag_minutes=30)),
            request("r2", step(60, "b")),
        ],
        pinned=[{"request": "pinned", "step": 0, "resource": "a", "start": at(0)}],
    )
    result = result_to_dict(first_come_first_served(problem_from_dict(data)))
    assert violations(data, result) == []
    starts = {(a["request"], a["step"]): a["start"] for a in result["assignments"]}
    assert starts == {("pinned", 0): 0, ("r1", 0): 90, ("r1", 1): 180, ("r2", 0): 0}


def test_weighted_greedy_beats_first_come_first_served_on_a_busy_week():
    data = busy_week(units=30, requests=700, days=5, seed=3)
    problem = problem_from_dict(data)
    fcfs = first_come_first_served(problem)
    assert violations(data, result_to_dict(fcfs)) == []
    inst = compile_problem(problem)
    plan = weighted_greedy(inst, time_budget=0.3, clock=False)
    assert fcfs.objective is not None
    assert plan_weight(inst, plan) >= 1.05 * fcfs.objective
