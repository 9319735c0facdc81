"""The translation to the solver, solve runs, proposals and their atomic approval."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

import scheduler
from app.accounts.models import Training
from app.booking import bookings as booking_service
from app.booking import maintenance, proposals, runs
from app.booking import requests as request_service
from app.booking.models import (
    AuditEvent,
    Booking,
    BookingRequest,
    Proposal,
    RequestStatus,
    RunStatus,
    SolveRun,
)
from app.booking.problems import build_problem
from app.booking.requests import StepInput
from app.catalog.models import MaintenanceWindow
from app.dbtypes import utcnow
from app.errors import Conflict, NotFound, ValidationError
from tests.booking.conftest import Core, train


def count(db: Any, model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_problem_has_opening_hours_maintenance_and_open_requests(core: Core, db: Any) -> None:
    req = core.request()
    db.session.add(
        MaintenanceWindow(
            equipment_id=core.lcms1.id,
            start=core.at(1),
            end=core.at(1, "12:00"),
            reason_en="Source",
        )
    )
    db.session.commit()
    problem, index = build_problem(core.bio, now=utcnow())
    assert problem.granularity_minutes == 15
    assert problem.timezone == "Asia/Shanghai"
    resources = {r.id: r for r in problem.resources}
    assert set(resources) == {"ulcms-1", "ulcms-2", "unmr-1"}
    lcms1 = resources["ulcms-1"]
    assert lcms1.changeover_minutes == 30
    # Weekdays 09:00-18:00 Shanghai are 01:00-10:00 UTC.
    monday = (core.at(0), core.at(0, "18:00"))
    assert monday in lcms1.open
    # Every window but today's (clipped to now) opens at 09:00 local on a weekday.
    assert all(a.weekday() < 5 and a.hour == 1 for a, _b in lcms1.open[1:])
    assert lcms1.blackouts == ((core.at(1), core.at(1, "12:00")),)
    (request,) = problem.requests
    assert request.id == f"r{req.id}" and request.project == f"p{core.amber.id}"
    assert request.steps[0].resources == ("ulcms-1", "ulcms-2")
    assert index.requests[request.id] is req
    # The stored file is exactly the scheduler's format and reads back to the same problem.
    text = scheduler.dump_problem(problem)
    assert scheduler.problem_from_dict(json.loads(text)) == problem


def test_training_and_retired_units_shape_the_problem(core: Core, db: Any) -> None:
    train(core.alice, core.nmr)
    req = core.request(steps=[StepInput(duration_minutes=60, capability="nmr")])
    problem, index = build_problem(core.bio, now=utcnow())
    assert [r.id for r in problem.requests] == [f"r{req.id}"]
    # The training is withdrawn after the request was made: the solver never sees it.
    db.session.execute(delete(Training).where(Training.user_id == core.alice.id))
    db.session.commit()
    problem, index = build_problem(core.bio, now=utcnow())
    assert problem.requests == ()
    assert "training" in index.excluded[req.id][1]


def test_solve_proposes_places_and_explains_the_unplaced(core: Core, db: Any) -> None:
    placed = core.request("Short run")
    doomed = core.request("Monday only", deadline=core.at(0, "18:00"))
    # Possible when sent (an impossible request is refused at once); maintenance since then
    # leaves it no time.
    for unit in (core.lcms1, core.lcms2):
        maintenance.add_maintenance(
            core.mia, unit.id, start=core.at(0, "08:00"), end=core.at(0, "19:00"), reason_en="Cal."
        )
    run = core.solve()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.problem_json and run.result_json
    assert run.progress["history"] and run.heartbeat_at is not None
    proposal = run.proposal
    assert proposal is not None and proposal.status == "draft"
    assert [i.request_id for i in proposal.items] == [placed.id]
    item = proposal.items[0]
    assert item.end - item.start == timedelta(hours=3)
    assert core.at(0) <= item.start and item.end <= core.at(4, "18:00")
    assert [u.request_id for u in proposal.unplaced] == [doomed.id]
    db.session.expire_all()
    assert db.session.get(BookingRequest, placed.id).status == RequestStatus.PROPOSED
    unplaced = db.session.get(BookingRequest, doomed.id)
    assert unplaced.status == RequestStatus.UNPLACED and unplaced.unplaced_reason
    metrics = proposal.metrics
    assert metrics["requests"] == 2 and metrics["accepted_requests"] == 1
    assert metrics["accepted_weight"] == 1 and metrics["accepted_hours"] == 3
    assert metrics["fcfs"]["accepted_weight"] == 1 and metrics["ratio"] == 1
    assert 0 < metrics["units"]["lcms-1"] + metrics["units"]["lcms-2"] < 1
    assert metrics["added"] == 1 and metrics["moved"] == 0
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"solve.start", "solve.finish"} <= actions


def test_solver_beats_first_come_first_served_on_weight(core: Core, db: Any) -> None:
    # One unit's Monday: a long low-weight request first, then two short heavier ones.
    day = {"start": core.at(0), "deadline": core.at(0, "18:00")}
    core.request("Early bird", steps=[StepInput(480, unit_ids=[core.lcms1.id])], **day)
    core.request("Heavy A", steps=[StepInput(240, unit_ids=[core.lcms1.id])], weight=3, **day)
    core.request("Heavy B", steps=[StepInput(240, unit_ids=[core.lcms1.id])], weight=3, **day)
    metrics = core.solve().proposal.metrics
    assert metrics["accepted_weight"] == 6
    assert metrics["fcfs"]["accepted_weight"] == 1
    assert metrics["ratio"] == 6


def test_approve_publishes_pinned_bookings_and_later_solves_keep_them(core: Core, db: Any) -> None:
    req = core.request()
    proposal = core.solve().proposal
    received: list[Any] = []
    from app.booking.signals import proposal_approved

    with proposal_approved.connected_to(lambda sender, **kw: received.append(kw["bookings"])):
        published = proposals.approve_proposal(core.mia, proposal.id)
    assert len(published) == 1 and received == [published]
    booking = published[0]
    assert booking.pinned and booking.status == "active" and booking.proposal_id == proposal.id
    db.session.expire_all()
    assert db.session.get(BookingRequest, req.id).status == RequestStatus.BOOKED
    assert db.session.get(Proposal, proposal.id).status == "approved"
    with pytest.raises(Conflict):
        proposals.approve_proposal(core.mia, proposal.id)
    # The next solve carries the booking as pinned and does not move it.
    problem, index = build_problem(core.bio, now=utcnow())
    assert [p.request for p in problem.pinned] == [f"b{booking.id}"]
    assert problem.pinned[0].start == booking.start
    second = core.solve().proposal
    assert [(i.pinned, i.start) for i in second.items] == [(True, booking.start)]
    assert proposals.diff_against_published(second) == {"added": [], "moved": [], "dropped": []}


def test_approval_conflicting_with_a_later_booking_writes_nothing(core: Core, db: Any) -> None:
    core.request("One", steps=[StepInput(180, unit_ids=[core.lcms1.id])])
    core.request("Two", steps=[StepInput(180, unit_ids=[core.lcms2.id])])
    proposal = core.solve().proposal
    item = next(i for i in proposal.items if i.equipment_id == core.lcms2.id)
    # Meanwhile a manager books the same slot on lcms-2 for another startup.
    manual = booking_service.manual_booking(
        core.mia,
        project_id=core.birch.id,
        equipment_id=core.lcms2.id,
        start=item.start,
        end=item.end,
        title="Urgent",
    )
    before = count(db, Booking)
    with pytest.raises(Conflict) as caught:
        proposals.approve_proposal(core.mia, proposal.id)
    assert [c["booking"] for c in caught.value.extra["conflicts"]] == [manual.id]
    db.session.expire_all()
    assert count(db, Booking) == before
    assert db.session.get(Proposal, proposal.id).status == "draft"
    assert {r.status for r in db.session.scalars(select(BookingRequest))} == {
        "proposed",
        "booked",
    }


def test_approval_refuses_a_withdrawn_request(core: Core, db: Any) -> None:
    req = core.request()
    proposal = core.solve().proposal
    request_service.withdraw_request(core.alice, req.id)
    with pytest.raises(Conflict):
        proposals.approve_proposal(core.mia, proposal.id)
    assert count(db, Booking) == 0


def test_discard_returns_requests_to_pending(core: Core, db: Any) -> None:
    req = core.request()
    proposal = core.solve().proposal
    proposals.discard_proposal(core.mia, proposal.id)
    db.session.expire_all()
    assert db.session.get(BookingRequest, req.id).status == RequestStatus.PENDING
    with pytest.raises(Conflict):
        proposals.discard_proposal(core.mia, proposal.id)


def test_a_new_solve_expires_the_old_draft_and_keeps_its_placements(core: Core, db: Any) -> None:
    core.request()
    first = core.solve().proposal
    second = core.solve().proposal
    db.session.expire_all()
    assert db.session.get(Proposal, first.id).status == "expired"
    problem = json.loads(second.run.problem_json)
    assert problem["previous"][0]["start"] == first.items[0].start.isoformat()
    assert [(i.equipment_id, i.start) for i in second.items] == [
        (i.equipment_id, i.start) for i in first.items
    ]


def test_expire_stale_proposals(core: Core, db: Any) -> None:
    req = core.request()
    proposal = core.solve().proposal
    assert proposals.expire_stale_proposals(utcnow()) == 0
    assert proposals.expire_stale_proposals(proposal.items[0].start + timedelta(minutes=1)) == 1
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).status == "expired"
    assert db.session.get(BookingRequest, req.id).status == RequestStatus.PENDING


def test_released_booking_may_move_and_approval_moves_it_in_place(core: Core, db: Any) -> None:
    unit = core.lcms1
    booking = booking_service.manual_booking(
        core.mia,
        project_id=core.amber.id,
        equipment_id=unit.id,
        start=core.at(0),
        end=core.at(0, "17:00"),
        title="Long soak",
    )
    # A heavy request that only fits on Monday on this unit.
    core.request(
        "Monday only",
        user=core.bob,
        project=core.birch,
        steps=[StepInput(240, unit_ids=[unit.id])],
        deadline=core.at(0, "18:00"),
        weight=5,
    )
    with pytest.raises(ValidationError) as caught:
        booking_service.release_booking(core.mia, booking.id, "  ")
    assert caught.value.field == "reason"
    booking_service.release_booking(core.mia, booking.id, "Soak can wait until Tuesday")
    booking.request.deadline = core.at(2, "18:00")
    db.session.commit()
    proposal = core.solve().proposal
    diff = proposals.diff_against_published(proposal)
    assert [d["booking"].id for d in diff["moved"]] == [booking.id]
    proposals.approve_proposal(core.mia, proposal.id)
    db.session.expire_all()
    moved = db.session.get(Booking, booking.id)
    assert moved.start >= core.at(0, "18:00") and moved.sequence == 1 and moved.pinned
    assert count(db, Booking) == 2
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "booking.release"))
    assert event.actor_id == core.mia.id and event.details["reason"].startswith("Soak")


def test_only_managers_of_the_facility_solve_and_see_runs(core: Core) -> None:
    for outsider in (core.alice, core.otto):
        with pytest.raises(NotFound):
            runs.start_solve(outsider, core.bio.id, launch=False)
    run = runs.start_solve(core.mia, core.bio.id, launch=False)
    with pytest.raises(Conflict):
        runs.start_solve(core.mia, core.bio.id, launch=False)
    with pytest.raises(NotFound):
        runs.get_run(core.otto, run.id)
    with pytest.raises(ValidationError) as caught:
        runs.start_solve(core.otto, core.ict.id, time_limit=0, launch=False)
    assert caught.value.field == "time_limit"


def test_cancelled_run_keeps_no_plan(core: Core, db: Any) -> None:
    core.request()
    run = runs.start_solve(core.mia, core.bio.id, launch=False)
    runs.cancel_run(core.mia, run.id)
    runs.execute_run(run.id)
    db.session.expire_all()
    assert db.session.get(SolveRun, run.id).status == RunStatus.CANCELLED
    assert count(db, Proposal) == 0


def test_interrupted_runs_are_marked_failed(core: Core, db: Any) -> None:
    run = runs.start_solve(core.mia, core.bio.id, launch=False)
    run.status = RunStatus.RUNNING.value
    run.heartbeat_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert runs.mark_interrupted_runs(utcnow() - timedelta(minutes=10)) == 0
    assert runs.mark_interrupted_runs(utcnow()) == 1
    db.session.expire_all()
    failed = db.session.get(SolveRun, run.id)
    assert failed.status == RunStatus.FAILED and "stopped answering" in failed.error


def test_failure_inside_a_run_is_recorded(core: Core, db: Any) -> None:
    core.request()
    run = runs.start_solve(core.mia, core.bio.id, launch=False)
    core.bio.timezone = "Mars/Olympus_Mons"
    db.session.commit()
    runs.execute_run(run.id)
    db.session.expire_all()
    failed = db.session.get(SolveRun, run.id)
    assert failed.status == RunStatus.FAILED and "Mars/Olympus_Mons" in failed.error
    assert count(db, Proposal) == 0
    assert db.session.scalar(select(BookingRequest.status)) == RequestStatus.PENDING


def test_the_facilitys_fair_share_reaches_the_solver_and_changes_the_plan(
    core: Core, db: Any
) -> None:
    runs = [core.request(f"Run {n}") for n in range(3)]
    problem, _index = build_problem(core.bio, now=utcnow())
    assert problem.fair_share is None
    # 2 % of an LC-MS unit's four weeks of open hours (about 180 h) is between 3 and 6 hours:
    # Amber may hold one 3-hour run on each of the two units, not a third.
    core.bio.fair_share_percent = 2
    db.session.commit()
    problem, _index = build_problem(core.bio, now=utcnow())
    assert problem.fair_share == scheduler.FairShare(0.02)
    run = core.solve()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert json.loads(run.problem_json or "{}")["fair_share"] == {"max_fraction": 0.02}
    assert run.proposal is not None and len(run.proposal.items) == 2
    (left,) = [r for r in runs if r.id not in {i.request_id for i in run.proposal.items}]
    db.session.refresh(left)
    assert left.status == RequestStatus.UNPLACED
    assert left.unplaced_reason_detail is not None
    assert left.unplaced_reason_detail["code"] == "fair-share-used", left.unplaced_reason_detail

    core.bio.fair_share_percent = None
    db.session.commit()
    run = core.solve()
    assert run.proposal is not None
    assert sorted(i.request_id for i in run.proposal.items) == sorted(r.id for r in runs)
