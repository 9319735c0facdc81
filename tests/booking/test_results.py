"""Result → rows: a proposal stores each step where and when the solver's Result puts it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import scheduler
from app.booking import bookings as booking_service
from app.booking import proposals, results, runs
from app.booking.problems import ProblemIndex, build_problem
from app.booking.requests import StepInput
from app.dbtypes import utcnow
from tests.booking.conftest import Core


def _solve(core: Core) -> tuple[Any, scheduler.Result, ProblemIndex]:
    run = runs.start_solve(core.mia, core.bio.id, work_limit=20, launch=False)
    problem, index = build_problem(core.bio, now=utcnow())
    result = scheduler.solve(problem, work_limit=20, time_limit=60, workers=1)
    assert result.assignments
    return run, result, index


def _stored(proposal: Any) -> dict[tuple[int, int], tuple[Any, Any, bool]]:
    return {(i.step_id, i.equipment_id): (i.start, i.end, i.pinned) for i in proposal.items}


def _expected(
    result: scheduler.Result, index: ProblemIndex
) -> dict[tuple[int, int], tuple[Any, Any, bool]]:
    expected = {}
    for a in result.assignments:
        step = index.steps[(a.request, a.step)]
        booking = index.step_bookings.get((a.request, a.step))
        pinned = booking is not None and booking.pinned
        expected[(step.id, index.units[a.resource].id)] = (
            index.at(a.start),
            index.at(a.end),
            pinned,
        )
    return expected


def test_stored_proposal_times_are_the_results_times(core: Core, db: Any) -> None:
    core.request(
        "Two steps", steps=[StepInput(120, capability="lc-ms"), StepInput(60, capability="lc-ms")]
    )
    kept = booking_service.manual_booking(
        core.mia,
        project_id=core.birch.id,
        equipment_id=core.lcms2.id,
        start=core.at(1),
        end=core.at(1, "12:00"),
        title="Kept",
    )
    moving = booking_service.manual_booking(
        core.mia,
        project_id=core.amber.id,
        equipment_id=core.lcms1.id,
        start=core.at(2),
        end=core.at(2, "11:30"),
        title="May move",
    )
    booking_service.release_booking(core.mia, moving.id, "It may move")
    run, result, index = _solve(core)
    proposal = proposals.store_proposal(run, result, index)
    db.session.commit()
    stored = _stored(proposal)
    assert stored == _expected(result, index)
    assert stored[(kept.step_id, core.lcms2.id)] == (kept.start, kept.end, True)
    released = [v for (step, _), v in stored.items() if step == moving.step_id]
    assert [end - start for start, end, _ in released] == [timedelta(hours=2, minutes=30)]


def test_a_results_end_is_stored_as_given_not_recomputed_from_the_step(
    core: Core, db: Any
) -> None:
    """The Result is the one source of a placement's times: an end the Result gives is stored
    as it is, not replaced by start + the step's duration read again from the rows."""
    core.request("Short run", steps=[StepInput(60, capability="lc-ms")])
    run, result, index = _solve(core)
    (placed,) = result.assignments
    longer = dataclasses.replace(placed, end=placed.end + 30)
    result = dataclasses.replace(result, assignments=(longer,))
    plan = results.read_result(result, index)
    assert [(p.start, p.end) for p in plan.placed] == [
        (index.at(placed.start), index.at(placed.end + 30))
    ]
    proposal = proposals.store_proposal(run, result, index)
    db.session.commit()
    (item,) = proposal.items
    assert (item.start, item.end) == (index.at(placed.start), index.at(placed.end + 30))
    assert item.end - item.start == timedelta(minutes=90)
