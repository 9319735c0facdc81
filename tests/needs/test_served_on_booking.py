"""A need is served by the system when a request made from it is booked (issue 16): the
approval that books the request moves the need, in its own commit, and the history says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.booking import proposals, runs
from app.booking.models import BookingRequest, RequestStatus, SolveRun
from app.booking.requests import StepInput
from app.catalog.models import Equipment
from app.extensions import db
from app.needs import services
from app.needs.models import EventKind, Need, NeedState
from tests import factories
from tests.needs.conftest import People


def _requested_need(people: People, title: str, start: datetime) -> tuple[Need, BookingRequest]:
    """Write a need, draft one prober step from it and send it as a request from `start`."""
    unit = db.session.scalar(select(Equipment).where(Equipment.slug == "sip3g-prober-1"))
    assert unit is not None
    need = services.create_need(
        people.founder,
        people.project.id,
        services.NeedInput(
            title=title, text="氮化镓功率器件的高温测试", centre_id=people.centre.id
        ),
    )
    draft = services.create_draft(people.founder, need.id, [("power-device-test", unit.id)])
    req = services.submit_draft(
        people.founder,
        draft,
        title=title,
        earliest_start=start,
        deadline=start + timedelta(days=10),
        steps=[StepInput(120, capability="power-device-test", unit_ids=[unit.id])],
    )
    return need, req


def _need(need_id: int) -> Need:
    db.session.expire_all()
    found = db.session.get(Need, need_id)
    assert found is not None
    return found


def test_booking_a_request_serves_its_need_and_the_history_names_the_system(
    people: People, client: Any, login: Any
) -> None:
    now = datetime.now(UTC)
    booked_need, booked = _requested_need(people, "Soon", now + timedelta(days=2))
    # Starts after the solve's horizon: not booked by this approval, its need stays requested.
    later_need, _later = _requested_need(people, "Later", now + timedelta(days=60))
    facility_id = booked.steps[0].facility_id
    admin = factories.make_user(is_admin=True)
    run = runs.start_solve(admin, facility_id, time_limit=5.0, launch=False)
    runs.execute_run(run.id)
    db.session.expire_all()
    done = db.session.get(SolveRun, run.id)
    assert done is not None and done.proposal is not None, done and done.error
    assert [i.request_id for i in done.proposal.items] == [booked.id]
    assert _need(booked_need.id).state == NeedState.REQUESTED

    proposals.approve_proposal(admin, done.proposal.id)

    assert db.session.get(BookingRequest, booked.id).status == RequestStatus.BOOKED
    served = _need(booked_need.id)
    assert served.state == NeedState.SERVED
    last = served.events[-1]
    assert (last.kind, last.from_state, last.to_state) == (
        EventKind.STATE,
        NeedState.REQUESTED,
        NeedState.SERVED,
    )
    assert last.user_id is None and last.detail == {"booked_request": booked.id}
    assert _need(later_need.id).state == NeedState.REQUESTED

    login(people.founder)
    page = client.get(f"/needs/{booked_need.id}").get_data(as_text=True)
    assert "Pilotslot (automatically)" in page
    assert f"request #{booked.id} was booked" in page
    people.founder.locale = "zh"
    db.session.commit()
    page = client.get(f"/needs/{booked_need.id}").get_data(as_text=True)
    assert "Pilotslot（自动）" in page and f"申请 #{booked.id} 已预约成功" in page


def test_a_need_declined_meanwhile_is_not_served_by_the_booking(people: People) -> None:
    now = datetime.now(UTC)
    need, req = _requested_need(people, "Soon", now + timedelta(days=2))
    services.move(people.founder, need.id, "declined", reason="withdrawn")
    assert services.serve_booked({req.id}) == []
    db.session.commit()
    assert _need(need.id).state == NeedState.DECLINED
