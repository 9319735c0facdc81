"""The CP-SAT model wrapper: solving survives OR-Tools 9.15's hint-repair crash."""

from __future__ import annotations

from typing import Any

import pytest
from ortools.sat.python import cp_model
from test_lns import _previous_plan, _spread_day

from scheduler.cpsat.model import build_model
from scheduler.plan import plan_weight


class HintCrash(cp_model.CpSolver):
    """CP-SAT as OR-Tools 9.15 sometimes behaves (issue #5288): a hinted solve throws."""

    def __init__(self, message: str = "absl::btree_map::at") -> None:
        super().__init__()
        self.message = message
        self.calls = 0

    def solve(self, model: cp_model.CpModel, callback: Any = None) -> Any:
        self.calls += 1
        if model.proto.solution_hint.vars:
            raise IndexError(self.message)
        return super().solve(model, callback)


def test_a_hinted_solve_that_crashes_is_solved_again_without_the_hint() -> None:
    inst = _spread_day()
    model = build_model(inst, inst.requests)
    model.hint(_previous_plan(inst))
    solver = HintCrash()
    solver.parameters.max_time_in_seconds = 5

    status = model.solve(solver)

    assert status == cp_model.OPTIMAL and solver.calls == 2
    assert not model.cp.proto.solution_hint.vars
    assert (
        plan_weight(inst, model.read_plan(solver)) == plan_weight(inst, _previous_plan(inst)) + 100
    )


def test_other_index_errors_are_not_swallowed() -> None:
    inst = _spread_day()
    model = build_model(inst, inst.requests)
    model.hint(_previous_plan(inst))
    with pytest.raises(IndexError, match="list index"):
        model.solve(HintCrash("list index out of range"))
