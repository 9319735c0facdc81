"""A manager's move passes the rules the solver obeys, checked by the solver's own checker;
an override is explicit, has a reason, is audited and is shown to the project."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.booking import bookings as booking_service
from app.booking import proposals
from app.booking.models import AuditEvent, Booking
from app.booking.problems import build_problem
from app.booking.requests import StepInput
from app.dbtypes import utcnow
from app.errors import Conflict, ValidationError
from app.extensions import db
from tests import factories
from tests.booking.conftest import ZONE, Core, train


def booked(core: Core, **kwargs: Any) -> list[Booking]:
    """Request, solve and approve; return the published bookings in step order."""
    req = core.request(**kwargs)
    proposal = core.solve().proposal
    assert proposal is not None
    published = proposals.approve_proposal(core.mia, proposal.id)
    assert {b.request_id for b in published} == {req.id}
    return sorted(published, key=lambda b: b.step.position)


def refused(core: Core, booking: Booking, **move: Any) -> list[str]:
    """Try the move; return the codes of the rules it breaks (and check nothing moved)."""
    before = (booking.equipment_id, booking.start, booking.end)
    with pytest.raises(Conflict) as caught:
        booking_service.reschedule_booking(core.mia, booking.id, **move)
    db.session.expire_all()
    again = db.session.get(Booking, booking.id)
    assert (again.equipment_id, again.start, again.end) == before
    return [v["code"] for v in caught.value.extra["violations"]]


def test_a_move_onto_a_unit_without_the_capability_is_refused(core: Core, db: Any) -> None:
    cytometer = factories.make_equipment(
        core.bio, slug="flow-1", name_en="Flow cytometer", capabilities=("flow-cytometry",)
    )
    (booking,) = booked(core)
    codes = refused(
        core,
        booking,
        start=booking.start,
        end=booking.end,
        equipment_id=cytometer.id,
    )
    assert codes == ["resource-not-allowed"]


def test_a_move_onto_a_unit_the_project_is_not_trained_on_names_the_training(
    core: Core, db: Any
) -> None:
    guarded = factories.make_equipment(
        core.bio, slug="lcms-9", name_en="LC-MS No. 9", training_required=True
    )
    (booking,) = booked(core)
    with pytest.raises(Conflict) as caught:
        booking_service.reschedule_booking(
            core.mia, booking.id, start=booking.start, end=booking.end, equipment_id=guarded.id
        )
    assert "LC-MS No. 9 needs a training" in caught.value.detail
    train(core.alice, guarded)
    moved = booking_service.reschedule_booking(
        core.mia, booking.id, start=booking.start, end=booking.end, equipment_id=guarded.id
    )
    assert moved.equipment_id == guarded.id


def test_an_attended_move_after_closing_time_is_refused(core: Core, db: Any) -> None:
    (booking,) = booked(core)
    codes = refused(core, booking, start=core.at(1, "20:00"), end=core.at(1, "23:45"))
    assert codes == ["outside-open-hours"]


def test_a_move_past_the_deadline_is_refused(core: Core, db: Any) -> None:
    (booking,) = booked(core, deadline=core.at(2, "18:00"))
    codes = refused(core, booking, start=core.at(3, "09:00"), end=core.at(3, "12:00"))
    assert codes == ["after-deadline"]


def test_a_campaign_step_cannot_move_before_the_step_it_follows(core: Core, db: Any) -> None:
    first, second = booked(
        core,
        steps=[
            StepInput(duration_minutes=120, capability="lc-ms"),
            StepInput(duration_minutes=120, capability="lc-ms", max_lag_minutes=24 * 60),
        ],
    )
    codes = refused(
        core,
        second,
        start=first.start - (second.end - second.start),
        end=first.start,
        equipment_id=second.equipment_id,
    )
    assert "before-previous-step" in codes


def test_an_override_needs_its_reason_is_audited_and_reaches_the_member(
    core: Core, db: Any, client: Any, login: Any
) -> None:
    (booking,) = booked(core, deadline=core.at(2, "18:00"))
    move = {"start": core.at(3, "09:00"), "end": core.at(3, "12:00")}
    with pytest.raises(ValidationError) as caught:
        booking_service.reschedule_booking(core.mia, booking.id, override=True, **move)
    assert caught.value.field == "override_reason"
    moved = booking_service.reschedule_booking(
        core.mia,
        booking.id,
        override=True,
        override_reason="The column arrives a day late; agreed with Alice by phone.",
        **move,
    )
    assert moved.start == core.at(3, "09:00")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "booking.reschedule"))
    assert event.details["override"] is True
    assert event.details["override_reason"].startswith("The column arrives")
    assert [f["code"] for f in event.details["broken"]] == ["after-deadline"]
    login(core.alice)
    for path in (f"/bookings/{booking.id}", f"/requests/{booking.request_id}"):
        page = client.get(path).get_data(as_text=True)
        assert "The column arrives a day late" in page, path
        assert "after the request&#39;s deadline" in page, path


def test_a_clash_is_never_overridden(core: Core, db: Any) -> None:
    (booking,) = booked(core)
    other = booking_service.manual_booking(
        core.mia,
        project_id=core.birch.id,
        equipment_id=booking.equipment_id,
        start=core.at(3, "09:00"),
        end=core.at(3, "12:00"),
        title="Birch run",
    )
    with pytest.raises(Conflict) as caught:
        booking_service.reschedule_booking(
            core.mia,
            booking.id,
            start=core.at(3, "10:00"),
            end=core.at(3, "13:00"),
            override=True,
            override_reason="Because.",
        )
    assert f"#{other.id}" in caught.value.detail


def test_an_always_open_unit_keeps_its_facility_staff_hours_for_attended_steps(
    core: Core, db: Any
) -> None:
    """Finding: an attended step went on Sunday 13:30 on an "always" unit of a facility
    closed at weekends."""
    always = factories.make_equipment(
        core.bio,
        slug="bioreactor-1",
        name_en="Bioreactor",
        capabilities=("bioreactor",),
        opening_hours="always",
        unattended_ok=True,
    )
    sunday = core.at(6, "13:30")
    with pytest.raises(ValidationError) as caught:
        core.request(
            steps=[StepInput(duration_minutes=120, capability="bioreactor")],
            start=sunday,
            deadline=core.at(6, "18:00"),
        )
    assert "open long enough" in caught.value.detail
    problem, _index = build_problem(core.bio, now=core.at(0, "00:00"))
    staffed = problem.resource("ubioreactor-1").open
    assert staffed is not None and staffed
    assert all(start.astimezone(ZONE).weekday() < 5 for start, _end in staffed)
    assert all(
        (start.astimezone(ZONE).hour, end.astimezone(ZONE).hour) == (9, 18)
        for start, end in staffed
    )
    (booking,) = booked(
        core,
        steps=[StepInput(duration_minutes=120, capability="bioreactor")],
        deadline=core.at(6, "18:00"),
    )
    assert booking.equipment_id == always.id
    codes = refused(core, booking, start=sunday, end=core.at(6, "15:30"))
    assert codes == ["outside-open-hours"]


def test_the_api_names_the_rules_and_takes_an_explicit_override(
    core: Core, db: Any, app: Any, login: Any
) -> None:
    (booking,) = booked(core, deadline=core.at(2, "18:00"))
    mia = login(core.mia, app.test_client())
    move = {"start": core.at(3, "09:00").isoformat(), "end": core.at(3, "12:00").isoformat()}
    refused = mia.patch(f"/api/v1/bookings/{booking.id}", json=move)
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["overridable"] is True
    assert [v["code"] for v in problem["violations"]] == ["after-deadline"]
    unexplained = mia.patch(f"/api/v1/bookings/{booking.id}", json={**move, "override": True})
    assert unexplained.status_code == 422
    assert unexplained.get_json()["field"] == "override_reason"
    moved = mia.patch(
        f"/api/v1/bookings/{booking.id}",
        json={**move, "override": True, "override_reason": "Agreed with the project."},
    )
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["start"].startswith(core.at(3, "09:00").date().isoformat())


def test_a_manual_booking_outside_staffed_hours_is_refused_unless_overridden(
    core: Core, db: Any
) -> None:
    """Finding: a manager's new manual booking was checked for clashes only, so one could be
    made at 21:00 on an attended unit that the solver would never use then."""
    (booking,) = booked(core)
    evening = {
        "project_id": core.birch.id,
        "equipment_id": booking.equipment_id,
        "start": core.at(3, "20:00"),
        "end": core.at(3, "22:00"),
        "title": "Birch evening run",
    }
    with pytest.raises(Conflict) as caught:
        booking_service.manual_booking(core.mia, **evening)
    assert [v["code"] for v in caught.value.extra["violations"]] == ["outside-open-hours"]
    assert caught.value.extra["overridable"] is True
    assert "This booking breaks the rules" in caught.value.detail
    assert db.session.scalar(select(Booking).where(Booking.start == core.at(3, "20:00"))) is None
    with pytest.raises(ValidationError) as unexplained:
        booking_service.manual_booking(core.mia, override=True, **evening)
    assert unexplained.value.field == "override_reason"
    made = booking_service.manual_booking(
        core.mia, override=True, override_reason="Night shift agreed with Birch.", **evening
    )
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "booking.manual", AuditEvent.object_id == made.id
        )
    )
    assert event.details["override_reason"] == "Night shift agreed with Birch."
    assert [f["code"] for f in event.details["broken"]] == ["outside-open-hours"]
    shown = booking_service.overrides([made])
    assert [o["reason"] for o in shown] == ["Night shift agreed with Birch."]
    assert shown[0]["start"] == core.at(3, "20:00")


def test_a_manual_booking_within_staffed_hours_records_no_override(core: Core, db: Any) -> None:
    (booking,) = booked(core)
    made = booking_service.manual_booking(
        core.mia,
        project_id=core.birch.id,
        equipment_id=booking.equipment_id,
        start=core.at(3, "10:00"),
        end=core.at(3, "12:00"),
        title="Birch day run",
    )
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "booking.manual", AuditEvent.object_id == made.id
        )
    )
    assert "override" not in event.details
    assert booking_service.overrides([made]) == []


def test_the_manual_booking_page_and_api_name_the_broken_rule(
    core: Core, db: Any, app: Any, client: Any, login: Any
) -> None:
    (booking,) = booked(core)
    unit = booking.equipment
    login(core.mia)
    assert client.get(f"/manage/{core.bio.slug}/bookings/new").status_code == 200
    form = {
        "project_id": core.birch.id,
        "equipment_id": unit.id,
        "title": "Birch evening run",
        "start": core.at(3, "20:00").astimezone(ZONE).strftime("%Y-%m-%dT%H:%M"),
        "end": core.at(3, "22:00").astimezone(ZONE).strftime("%Y-%m-%dT%H:%M"),
    }
    refused_page = client.post(f"/manage/{core.bio.slug}/bookings/new", data=form)
    assert refused_page.status_code == 409
    text = refused_page.get_data(as_text=True)
    assert "This booking breaks the rules the solver obeys:" in text
    assert 'id="override-section" class="open"' in text
    api = login(core.mia, app.test_client())
    body = {
        "project_id": core.birch.id,
        "equipment": unit.slug,
        "title": "Birch evening run",
        "start": core.at(3, "20:00").isoformat(),
        "end": core.at(3, "22:00").isoformat(),
    }
    answer = api.post("/api/v1/bookings", json=body)
    assert answer.status_code == 409, answer.get_json()
    assert [v["code"] for v in answer.get_json()["violations"]] == ["outside-open-hours"]
    made = api.post(
        "/api/v1/bookings", json={**body, "override": True, "override_reason": "Agreed."}
    )
    assert made.status_code == 201, made.get_json()


def _cap_leaving(core: Core, fen: int) -> None:
    """A spending cap over the coming weeks that leaves Amber ``fen`` beyond its bookings."""
    from app.billing.budgets import committed_fen
    from app.billing.models import SpendingCap

    today = utcnow().astimezone(ZONE).date()
    first, last = today - timedelta(days=1), today + timedelta(days=60)
    committed = committed_fen(core.amber, first, last, ZONE.key)
    cap = SpendingCap(
        project_id=core.amber.id,
        amount_fen=max(1, committed + fen),
        period_start=first,
        period_end=last,
    )
    db.session.add(cap)
    db.session.commit()


def _price(core: Core, booking_unit: Any, hours: float, *, attended: bool = True) -> int:
    from app.billing.services import price_of_use

    minutes = int(hours * 60)
    return price_of_use(
        booking_unit, core.amber.customer_kind, minutes, attended=attended
    ).amount_fen


def test_a_managers_booking_past_the_projects_cap_needs_a_reason(core: Core, db: Any) -> None:
    cost = _price(core, core.lcms1, 2)
    assert cost > 0
    _cap_leaving(core, cost - 1)
    before = db.session.scalar(select(func.count()).select_from(Booking))
    place = {
        "project_id": core.amber.id,
        "equipment_id": core.lcms1.id,
        "start": core.at(1, "09:00"),
        "end": core.at(1, "11:00"),
        "title": "Extra run",
    }
    with pytest.raises(Conflict) as caught:
        booking_service.manual_booking(core.mia, **place)
    violations = caught.value.extra["violations"]
    assert [v["code"] for v in violations] == ["over-budget"]
    assert caught.value.extra["overridable"] is True
    assert "spending cap" in violations[0]["detail"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Booking)) == before
    booking = booking_service.manual_booking(
        core.mia, **place, override=True, override_reason="The director approved the extra run"
    )
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "booking.manual", AuditEvent.object_id == booking.id
        )
    )
    assert [b["code"] for b in event.details["broken"]] == ["over-budget"]
    assert event.details["broken"][0]["args"]["cost_fen"] == cost


def test_a_booking_within_what_the_cap_leaves_is_made(core: Core, db: Any) -> None:
    _cap_leaving(core, _price(core, core.lcms1, 2))
    booking = booking_service.manual_booking(
        core.mia,
        project_id=core.amber.id,
        equipment_id=core.lcms1.id,
        start=core.at(1, "09:00"),
        end=core.at(1, "11:00"),
        title="Extra run",
    )
    assert booking.id is not None


def test_a_move_costing_more_than_the_cap_leaves_is_refused_one_costing_no_more_is_not(
    core: Core, db: Any
) -> None:
    (booking,) = booked(core, deadline=core.at(4, "18:00"))
    hours = (booking.end - booking.start).total_seconds() / 3600
    # The project is over its cap already: a move that adds nothing still goes through.
    _cap_leaving(core, -_price(core, booking.equipment, hours, attended=booking.step.attended))
    moved = booking_service.reschedule_booking(
        core.mia,
        booking.id,
        start=core.at(2, "09:00"),
        end=core.at(2, "09:00") + (booking.end - booking.start),
    )
    assert moved.start == core.at(2, "09:00")
    longer = {"start": core.at(2, "09:00"), "end": booking.end + timedelta(hours=2)}
    assert "over-budget" in refused(core, moved, **longer)
