"""Needs: writing one, its suggestions, drafts to requests, its states, who sees what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app import access
from app.accounts.models import Training
from app.booking.models import BookingRequest, RequestStatus
from app.booking.requests import StepInput
from app.catalog.models import Equipment
from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.needs import demand, services, suggestions
from app.needs.models import EventKind, Need, NeedState
from tests import factories
from tests.needs.conftest import People

GAN_ZH = "我们的氮化镓功率器件要耐高温和高电压"
SECRET = "Secret plan 7Q3"


def _need(people: People, text: str = GAN_ZH, **values: Any) -> Need:
    data = services.NeedInput(
        title=values.pop("title", SECRET), text=text, centre_id=people.centre.id, **values
    )
    return services.create_need(people.founder, people.project.id, data)


def _unit(db: Any, slug: str) -> Equipment:
    unit = db.session.scalar(select(Equipment).where(Equipment.slug == slug))
    assert unit is not None
    return unit


def test_a_need_in_chinese_keeps_what_it_demands_and_its_history(db: Any, people: People) -> None:
    need = _need(people, budget_fen=5_000_00, city="Suzhou", wanted_by=date(2027, 3, 1))
    assert need.state == NeedState.NEW
    assert need.capabilities[:2] == ["power-device-test", "high-voltage-test"]
    assert need.free_time_found
    assert [e.kind for e in need.events] == [EventKind.CREATED]


def test_a_need_refuses_bad_fields_naming_each(db: Any, people: People) -> None:
    data = services.NeedInput(
        title="", text="x" * (services.MAX_TEXT + 1), budget_fen=-1, centre_id=999_999
    )
    with pytest.raises(ValidationError) as caught:
        services.create_need(people.founder, people.project.id, data)
    assert set(caught.value.errors) == {"title", "text", "budget_fen", "centre_id"}
    assert db.session.scalar(select(Need)) is None


def test_a_founder_cannot_write_a_need_for_another_startup(db: Any, people: People) -> None:
    data = services.NeedInput(title="t", text=GAN_ZH)
    with pytest.raises(ValidationError) as caught:
        services.create_need(people.founder, people.other_project.id, data)
    assert caught.value.field == "project_id"


def test_a_broker_writes_a_need_only_for_a_centre_it_serves(db: Any, people: People) -> None:
    ok = services.NeedInput(title="t", text=GAN_ZH, centre_id=people.centre.id)
    # A startup the broker's centres have never seen is not offered, nor accepted.
    with pytest.raises(ValidationError) as caught:
        services.create_need(people.broker, people.project.id, ok)
    assert caught.value.field == "project_id"
    _need(people)
    need = services.create_need(people.broker, people.project.id, ok)
    assert need.created_by_id == people.broker.id
    elsewhere = services.NeedInput(title="t", text=GAN_ZH, centre_id=people.other_centre.id)
    with pytest.raises(ValidationError):
        services.create_need(people.broker, people.project.id, elsewhere)


def test_suggestions_carry_units_rates_and_earliest_free_slots(db: Any, people: People) -> None:
    found = suggestions.suggest(GAN_ZH, city="Suzhou")
    first = found[0]
    assert first.capability == "power-device-test"
    assert "氮化镓" in first.why
    prober = next(u for u in first.units if u.unit.slug == "sip3g-prober-1")
    assert prober.rate_fen == 400_00
    assert prober.in_city
    assert prober.earliest is not None and prober.earliest >= datetime.now(UTC) - timedelta(
        minutes=15
    )


def test_the_earliest_free_slot_skips_bookings_and_maintenance(db: Any, people: People) -> None:
    unit = factories.make_equipment(opening_hours="always")
    after = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
    assert suggestions.earliest_free_slot(unit, after=after) == after
    factories.make_booking(None, unit, after, after + timedelta(hours=5))
    assert suggestions.earliest_free_slot(unit, after=after) == after + timedelta(hours=5)
    unit.capacity = 2
    db.session.commit()
    assert suggestions.earliest_free_slot(unit, after=after) == after


def test_a_draft_orders_steps_by_the_needs_words_and_matches_the_need(
    db: Any, people: People
) -> None:
    need = _need(people)
    one, two = _unit(db, "sip3g-prober-1"), _unit(db, "sip3g-prober-2")
    draft = services.create_draft(
        people.founder, need.id, [("high-voltage-test", two.id), ("power-device-test", one.id)]
    )
    assert [s["capability"] for s in draft.steps] == ["power-device-test", "high-voltage-test"]
    assert need.state == NeedState.MATCHED


def test_a_draft_refuses_units_of_two_facilities(db: Any, people: People) -> None:
    need = _need(people)
    one, other = _unit(db, "sip3g-prober-1"), _unit(db, "njict-climate-1")
    with pytest.raises(ValidationError) as caught:
        services.create_draft(
            people.founder,
            need.id,
            [("power-device-test", one.id), ("temperature-cycling", other.id)],
        )
    assert caught.value.field == "units"
    assert need.drafts == [] and need.state == NeedState.NEW


def test_confirming_a_draft_sends_a_request_and_the_need_is_requested(
    db: Any, people: People
) -> None:
    need = _need(people)
    one, two = _unit(db, "sip3g-prober-1"), _unit(db, "sip3g-prober-2")
    db.session.add(
        Training(user_id=people.founder.id, equipment_id=two.id, trained_on=date.today())
    )
    db.session.commit()
    draft = services.create_draft(
        people.broker, need.id, [("power-device-test", one.id), ("high-voltage-test", two.id)]
    )
    start = datetime.now(UTC) + timedelta(days=2)
    fields = {
        "title": need.title,
        "earliest_start": start,
        "deadline": start + timedelta(days=14),
        "steps": [
            StepInput(duration_minutes=120, capability=s["capability"], unit_ids=[s["unit_id"]])
            for s in draft.steps
        ],
    }
    with pytest.raises(Forbidden):
        services.submit_draft(people.broker, draft, **fields)
    created = services.submit_draft(people.founder, draft, **fields)
    assert created.status == RequestStatus.PENDING and len(created.steps) == 2
    db.session.expire_all()
    need = db.session.get(Need, need.id)
    assert need is not None and need.state == NeedState.REQUESTED
    assert need.requests == [db.session.get(BookingRequest, created.id)]
    with pytest.raises(Conflict):
        services.submit_draft(people.founder, need.drafts[0], **fields)


def test_states_follow_the_one_table(db: Any, people: People) -> None:
    need = _need(people)
    with pytest.raises(Conflict):
        services.move(people.broker, need.id, "served")
    with pytest.raises(Forbidden):
        services.move(people.broker, need.id, "matched")
    with pytest.raises(Forbidden):
        services.move(people.founder, need.id, "screened")
    services.move(people.broker, need.id, "screened", note="clear enough")
    with pytest.raises(ValidationError) as caught:
        services.move(people.broker, need.id, "declined")
    assert caught.value.field == "reason"
    services.move(people.broker, need.id, "declined", reason="no_free_time")
    services.move(people.broker, need.id, "new")
    assert [(e.from_state, e.to_state) for e in need.events if e.kind == "state"] == [
        ("new", "screened"),
        ("screened", "declined"),
        ("declined", "new"),
    ]
    assert need.decline_reason is None


def test_a_startup_sees_only_its_own_needs(db: Any, people: People) -> None:
    need = _need(people)
    assert services.list_needs(people.other_founder) == []
    with pytest.raises(NotFound):
        services.get_need(people.other_founder, need.id)
    with pytest.raises(NotFound):
        services.comment(people.other_founder, need.id, "mine now")
    with pytest.raises(NotFound):
        services.create_draft(people.other_founder, need.id, [])


def test_brokers_see_only_needs_of_the_centres_they_serve(db: Any, people: People) -> None:
    need = _need(people)
    anywhere = services.create_need(
        people.founder, people.project.id, services.NeedInput(title="t", text=GAN_ZH)
    )
    assert services.list_needs(people.broker) == [need]
    assert services.list_needs(people.other_broker) == []
    assert services.list_needs(people.region_broker) == [anywhere, need]
    with pytest.raises(NotFound):
        services.move(people.other_broker, need.id, "screened")
    assert not access.can_see_need(people.broker, anywhere)


def test_the_demand_picture_counts_per_centre_and_month(db: Any, people: People) -> None:
    need = _need(people)
    _need(people, text="我们要做的东西没有人能测")
    services.move(people.broker, need.id, "screened")
    picture = demand.build({people.centre.id})
    (row,) = picture.months.rows
    assert row[2] == 2 and row[5] == 1
    assert picture.totals[0][1] == 1
    assert demand.build({people.other_centre.id}).months.rows == []
    assert b"<svg" in demand.capabilities_svg(picture)
    assert demand.as_xlsx(picture)[:2] == b"PK"
    assert SECRET.encode() not in demand.as_csv(picture.months)
