"""Every phase ends by the time limit, and a solve stops when its caller asks.

No timing asserts: a cut is seen in ``stats.cut``, and the cancellation bound (minutes) is one
the old code, which stopped only when its search ended, could not meet."""

import threading

from bench.instances import SPECS, Spec, generate
from scheduler import Progress, Status, problem_from_dict, result_to_dict, solve
from scheduler.check import check
from scheduler.cpsat.bound import relaxation
from scheduler.instance import compile_problem

BIG = Spec("deadline-test", units=120, requests=4000, days=5, seed=21)
"""Big enough that the old solve spent minutes in its LP bound alone."""


def _solve_in_thread(**kwargs: object) -> tuple[threading.Thread, dict[str, object]]:
    out: dict[str, object] = {}

    def run() -> None:
        out["result"] = solve(**kwargs)  # type: ignore[arg-type]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_a_tiny_time_limit_on_a_big_region_returns_a_valid_plan_naming_the_cut_phases():
    data = generate(BIG)
    result = solve(problem_from_dict(data), time_limit=1.0)
    assert result.status is Status.FEASIBLE
    assert "search" in result.stats["cut"]
    assert result.stats["cancelled"] is False
    assert check(data, result_to_dict(result)) == []
    # Every left-out request still has its reason.
    placed = {a.request for a in result.assignments}
    assert len(placed) + len(result.unscheduled) == len(data["requests"])


def test_an_event_set_from_another_thread_stops_a_long_solve():
    data = generate(SPECS["medium"])
    stop = threading.Event()
    first_plan = threading.Event()

    def on_progress(progress: Progress) -> None:
        first_plan.set()

    thread, out = _solve_in_thread(
        problem=problem_from_dict(data),
        time_limit=600.0,
        should_stop=stop,
        on_progress=on_progress,
    )
    assert first_plan.wait(300)
    stop.set()
    thread.join(300)  # the old solve would run its 600 s
    assert not thread.is_alive()
    result = out["result"]
    assert result.stats["cancelled"] is True  # type: ignore[attr-defined]
    assert result.status in (Status.FEASIBLE, Status.OPTIMAL)  # type: ignore[attr-defined]
    assert check(data, result_to_dict(result)) == []  # type: ignore[arg-type]


def test_a_stop_callable_cancels_a_budgeted_solve_and_it_is_not_reproducible():
    data = generate(SPECS["medium"])
    stop = threading.Event()
    calls = 0

    def should_stop() -> bool:
        nonlocal calls
        calls += 1
        return stop.is_set()

    def on_progress(progress: Progress) -> None:
        stop.set()

    # A million work units is hours of search.
    thread, out = _solve_in_thread(
        problem=problem_from_dict(data),
        work_limit=1e6,
        should_stop=should_stop,
        on_progress=on_progress,
    )
    thread.join(300)
    assert not thread.is_alive()
    result = out["result"]
    assert calls > 0
    assert result.stats["cancelled"] is True  # type: ignore[attr-defined]
    assert result.stats["reproducible"] is False  # type: ignore[attr-defined]


def test_a_solve_that_is_never_stopped_is_not_marked_cancelled():
    data = generate(SPECS["small"])
    result = solve(problem_from_dict(data), work_limit=5, should_stop=threading.Event())
    assert result.stats["cancelled"] is False
    assert result.stats["cut"] == []
    assert result.stats["reproducible"] is True


def test_the_lp_bound_gives_up_when_it_has_no_time():
    inst = compile_problem(problem_from_dict(generate(SPECS["medium"])))
    live = [r for r in inst.requests if not r.impossible]
    assert relaxation(inst, live) is not None
    assert relaxation(inst, live, seconds=0.0) is None


def test_sigterm_ends_the_command_line_solve_and_it_still_writes_the_plan(tmp_path):
    import json
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    data = generate(SPECS["medium"])
    problem, out = tmp_path / "problem.json", tmp_path / "result.json"
    problem.write_text(json.dumps(data), encoding="utf-8")
    command = [sys.executable, "-m", "scheduler", "solve", str(problem), "--time-limit", "600"]
    with subprocess.Popen(
        [*command, "-o", str(out)], cwd=root, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("best=")  # the first plan
        proc.send_signal(signal.SIGTERM)
        proc.stderr.read()
        code = proc.wait(300)  # the old command would run its 600 s
    assert code == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["stats"]["cancelled"] is True
    assert check(data, result) == []


def test_the_cheap_capacity_bound_lies_between_the_lp_bound_and_the_total_weight():
    from scheduler.cpsat.bound import capacity_bound

    data = generate(SPECS["medium"])
    inst = compile_problem(problem_from_dict(data))
    live = [r for r in inst.requests if not r.impossible]
    cheap = capacity_bound(inst, live)
    lp = relaxation(inst, live)
    assert cheap is not None and lp is not None
    assert lp.bound <= cheap + 1e-6
    assert cheap < sum(r.score for r in live)  # it binds: the week is congested
    plan = solve(problem_from_dict(data), work_limit=20)
    assert plan.objective is not None and plan.objective * inst.score_scale <= cheap + 1e-6
