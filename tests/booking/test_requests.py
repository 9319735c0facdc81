"""Requests and campaigns: validation by field, training, one facility, who may see what."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.booking import requests as request_service
from app.booking.models import AuditEvent, BookingRequest, RequestStatus
from app.booking.requests import StepInput
from app.errors import Conflict, NotFound, ValidationError
from tests import factories
from tests.booking.conftest import Core, train


def count_requests(db: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(BookingRequest))


def test_request_by_capability_is_pending_in_the_units_facility(core: Core, db: Any) -> None:
    req = core.request()
    assert req.status == RequestStatus.PENDING
    assert request_service.request_facility(req).id == core.bio.id
    assert [u.slug for u in request_service.allowed_units(req.steps[0])] == ["lcms-1", "lcms-2"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "request.create"))
    assert event.object_id == req.id and event.facility_id == core.bio.id


def test_campaign_keeps_its_steps_in_order(core: Core) -> None:
    req = core.request(
        steps=[
            StepInput(duration_minutes=120, capability="lc-ms"),
            StepInput(duration_minutes=60, unit_ids=[core.lcms2.id], min_lag_minutes=30),
        ]
    )
    assert req.is_campaign
    assert [s.position for s in req.steps] == [0, 1]
    assert req.steps[1].units == [core.lcms2] and req.steps[1].min_lag_minutes == 30


def test_campaign_across_two_facilities_is_refused(core: Core, db: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        core.request(
            steps=[
                StepInput(duration_minutes=60, capability="lc-ms"),
                StepInput(duration_minutes=60, capability="anechoic-chamber"),
            ]
        )
    assert caught.value.field == "steps[1].capability"
    assert count_requests(db) == 0


@pytest.mark.parametrize(
    ("step", "field"),
    [
        (StepInput(duration_minutes=0, capability="lc-ms"), "steps[0].duration_minutes"),
        (StepInput(duration_minutes=60), "steps[0].capability"),
        (StepInput(duration_minutes=60, capability="x-ray"), "steps[0].capability"),
        (StepInput(duration_minutes=60, unit_ids=[999999]), "steps[0].unit_ids"),
        (
            StepInput(duration_minutes=60, capability="lc-ms", min_lag_minutes=-5),
            "steps[0].min_lag_minutes",
        ),
        (
            StepInput(
                duration_minutes=60, capability="lc-ms", min_lag_minutes=60, max_lag_minutes=30
            ),
            "steps[0].max_lag_minutes",
        ),
    ],
)
def test_bad_step_names_its_field(core: Core, db: Any, step: StepInput, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        core.request(steps=[step])
    assert caught.value.field == field
    assert count_requests(db) == 0


def test_window_errors_name_their_field(core: Core, db: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        core.request(start=core.at(3), deadline=core.at(2))
    assert caught.value.field == "deadline"
    with pytest.raises(ValidationError) as caught:
        core.request(start=datetime(2030, 1, 1, 9), deadline=core.at(2))
    assert caught.value.field == "earliest_start"
    with pytest.raises(ValidationError) as caught:
        core.request(start=core.at(-30), deadline=core.at(-20))
    assert caught.value.field == "deadline"
    with pytest.raises(ValidationError) as caught:
        request_service.create_request(
            core.admin,
            core.amber.id,
            title="Too heavy",
            earliest_start=core.at(0),
            deadline=core.at(2),
            steps=[StepInput(duration_minutes=60, capability="lc-ms")],
            weight=11,
        )
    assert caught.value.field == "weight"
    assert count_requests(db) == 0


def test_retired_unit_cannot_be_asked_for(core: Core, db: Any) -> None:
    core.lcms2.status = "retired"
    db.session.commit()
    with pytest.raises(ValidationError) as caught:
        core.request(steps=[StepInput(duration_minutes=60, unit_ids=[core.lcms2.id])])
    assert caught.value.field == "steps[0].unit_ids"
    req = core.request()
    assert [u.slug for u in request_service.allowed_units(req.steps[0])] == ["lcms-1"]


def test_unit_that_needs_training_needs_a_trained_member(core: Core, db: Any) -> None:
    step = StepInput(duration_minutes=60, unit_ids=[core.nmr.id])
    with pytest.raises(ValidationError) as caught:
        core.request(steps=[step])
    assert caught.value.field == "steps[0].unit_ids"
    with pytest.raises(ValidationError) as caught:
        core.request(steps=[StepInput(duration_minutes=60, capability="nmr")])
    assert caught.value.field == "steps[0].capability"
    # Training of someone in another project does not count.
    train(core.bob, core.nmr)
    with pytest.raises(ValidationError):
        core.request(steps=[step])
    train(core.alice, core.nmr)
    assert core.request(steps=[step]).steps[0].units == [core.nmr]


def test_capability_alternatives_that_need_training_are_dropped(core: Core, db: Any) -> None:
    factories.make_equipment(core.bio, slug="lcms-3", training_required=True)
    req = core.request()
    assert [u.slug for u in request_service.allowed_units(req.steps[0])] == ["lcms-1", "lcms-2"]
    train(core.alice, db.session.scalar(select(factories.Equipment).filter_by(slug="lcms-3")))
    assert len(request_service.allowed_units(req.steps[0])) == 3


def test_only_members_create_requests_for_their_project(core: Core, db: Any) -> None:
    with pytest.raises(NotFound):
        core.request(user=core.bob)
    with pytest.raises(NotFound):
        core.request(user=core.mia)
    assert count_requests(db) == 0


def test_update_changes_a_pending_request_and_replaces_steps(core: Core) -> None:
    req = core.request(
        steps=[
            StepInput(duration_minutes=60, capability="lc-ms"),
            StepInput(duration_minutes=60, capability="lc-ms"),
        ]
    )
    changed = request_service.update_request(
        core.alice,
        req.id,
        title="Peptide map, longer",
        steps=[StepInput(duration_minutes=240, capability="lc-ms")],
    )
    assert changed.title == "Peptide map, longer"
    assert [s.duration_minutes for s in changed.steps] == [240]


def test_update_refuses_a_bad_field_and_keeps_the_request(core: Core, db: Any) -> None:
    req = core.request()
    with pytest.raises(ValidationError) as caught:
        request_service.update_request(core.alice, req.id, deadline=core.at(-1))
    assert caught.value.field == "deadline"
    db.session.expire_all()
    assert db.session.get(BookingRequest, req.id).deadline == core.at(4, "18:00")


def test_settled_requests_cannot_be_changed_or_withdrawn(core: Core, db: Any) -> None:
    req = core.request()
    req.status = RequestStatus.BOOKED.value
    db.session.commit()
    with pytest.raises(Conflict):
        request_service.update_request(core.alice, req.id, title="Other")
    with pytest.raises(Conflict):
        request_service.withdraw_request(core.alice, req.id)


def test_withdraw_and_its_audit(core: Core, db: Any) -> None:
    req = core.request()
    with pytest.raises(NotFound):
        request_service.withdraw_request(core.bob, req.id)
    assert request_service.withdraw_request(core.alice, req.id).status == "withdrawn"
    with pytest.raises(Conflict):
        request_service.withdraw_request(core.alice, req.id)
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["request.create", "request.withdraw"]


def test_who_sees_which_requests(core: Core) -> None:
    mine = core.request()
    theirs = core.request(
        "Chamber scan",
        user=core.bob,
        project=core.birch,
        steps=[StepInput(duration_minutes=60, capability="anechoic-chamber")],
    )
    assert request_service.list_requests(core.alice) == [mine]
    assert request_service.list_requests(core.bob) == [theirs]
    assert request_service.list_requests(core.mia) == [mine]
    assert request_service.list_requests(core.otto) == [theirs]
    assert {r.id for r in request_service.list_requests(core.admin)} == {mine.id, theirs.id}
    assert request_service.list_requests(core.mia, facility_id=core.ict.id) == []
    assert request_service.list_requests(core.alice, status="withdrawn") == []
    for outsider, req in ((core.bob, mine), (core.otto, mine), (core.alice, theirs)):
        with pytest.raises(NotFound):
            request_service.get_request(outsider, req.id)
    assert request_service.get_request(core.mia, mine.id) == mine


def test_deadline_must_be_after_now_but_window_may_have_begun(core: Core) -> None:
    req = core.request(start=core.at(-10), deadline=core.at(3))
    assert req.earliest_start < req.deadline
    assert req.deadline - req.earliest_start == timedelta(days=13)
