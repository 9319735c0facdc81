"""The LP bound: never below the best plan, and tight where a rule it models binds."""

import pytest
from scheduler_instances import at, problem_dict, request, step

from bench.instances import Spec, generate
from scheduler import problem_from_dict, solve
from scheduler.cpsat.bound import relaxation_bound
from scheduler.cpsat.model import build_model
from scheduler.instance import compile_problem


def test_changeovers_between_projects_lower_the_bound_to_what_fits() -> None:
    # 08:00-12:00 holds two 80-minute runs of different projects with the hour between them,
    # never three; without changeovers the LP would fit three.
    runs = [request(f"r{i}", step(80, "a", attended=True)) for i in range(3)]
    data = problem_dict(
        [{"id": "a", "open": [[at(480), at(720)]], "changeover_minutes": 60}],
        runs,
        granularity_minutes=5,
    )
    inst = compile_problem(problem_from_dict(data))
    bound = relaxation_bound(inst, inst.requests)
    assert bound is not None and 2 <= bound < 3
    result = solve(problem_from_dict(data), work_limit=100)
    assert result.objective == 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bound_is_never_below_a_proven_optimum_of_a_generated_facility(seed: int) -> None:
    from ortools.sat.python import cp_model

    data = generate(Spec(f"bound-{seed}", units=5, requests=30, days=2, seed=seed))
    inst = compile_problem(problem_from_dict(data))
    live = [r for r in inst.requests if not r.impossible]
    # The optimum comes from one plain CP-SAT model, which never consults the LP bound.
    model = build_model(inst, live)
    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = 20
    solver.parameters.num_workers = 2
    assert solver.solve(model.cp) == cp_model.OPTIMAL
    bound = relaxation_bound(inst, live)
    assert bound is not None and bound >= solver.objective_value - 1e-6
