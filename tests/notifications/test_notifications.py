"""Members are told when their bookings move, are cancelled or released and when a schedule
places (or cannot place) their requests: in the inbox at once, by e-mail through the outbox."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from app.booking import bookings as booking_service
from app.booking import maintenance
from app.booking import proposals as proposal_service
from app.booking.models import Booking, BookingRequest
from app.dbtypes import utcnow
from app.jobs import outbox
from app.jobs.models import OutboxMessage
from app.notifications import services
from app.notifications.models import Notification
from tests.booking.pages_world import solve_now
from tests.booking.test_pages import make_request
from tests.notifications.conftest import Mailbox, Team


def _booking(team: Team, day: int = 1, title: str = "Amber peptide map") -> Booking:
    world = team.world
    return booking_service.manual_booking(
        world.mia,
        project_id=world.project_a.id,
        equipment_id=world.lcms1.id,
        start=world.at(day, "09:00"),
        end=world.at(day, "12:00"),
        title=title,
    )


def _inbox(db: Any, user: Any) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def _move(team: Team, booking: Booking, reason: str = "The column is being replaced") -> None:
    world = team.world
    booking_service.reschedule_booking(
        world.mia,
        booking.id,
        start=world.at(2, "13:00"),
        end=world.at(2, "16:00"),
        equipment_id=world.lcms2.id,
        reason=reason,
    )


def test_a_moved_booking_tells_each_member_in_their_language_with_the_reason(
    team: Team, db: Any
) -> None:
    booking = _booking(team)
    _move(team, booking)
    world = team.world
    (alice,) = _inbox(db, world.alice)
    assert alice.kind == "moved" and alice.booking_id == booking.id and alice.read_at is None
    assert alice.subject == "Booking moved: Amber peptide map"
    assert "Mia moved your booking “Amber peptide map” from LC-MS No. 1" in alice.body
    assert "to LC-MS No. 2" in alice.body
    assert "Reason: The column is being replaced" in alice.body
    assert alice.reason == "The column is being replaced"
    assert alice.link == f"/bookings/{booking.id}"
    (wei,) = _inbox(db, team.wei)
    assert wei.subject == "预约已调整：Amber peptide map"
    assert "原因：The column is being replaced" in wei.body
    # The manager who moved it, and the other startup, are told nothing.
    assert _inbox(db, world.mia) == [] and _inbox(db, world.bob) == []


def test_five_moves_and_a_cancellation_all_reach_the_inbox(team: Team, db: Any) -> None:
    world = team.world
    booking = _booking(team)
    for day in range(2, 7):
        booking_service.reschedule_booking(
            world.mia,
            booking.id,
            start=world.at(day % 5, "13:00"),
            end=world.at(day % 5, "15:00"),
            reason=f"move {day}",
        )
    booking_service.cancel_booking(world.mia, booking.id, "The unit is broken")
    entries = _inbox(db, world.alice)
    assert [e.kind for e in entries] == ["moved"] * 5 + ["cancelled"]
    assert "Mia cancelled your booking “Amber peptide map”" in entries[-1].body
    assert "Reason: The unit is broken" in entries[-1].body
    assert services.unread_count(world.alice) == 6


def test_release_tells_the_members_and_the_member_who_cancels_is_not_told(
    team: Team, db: Any
) -> None:
    world = team.world
    booking = _booking(team)
    booking_service.release_booking(world.mia, booking.id, "Make room for a campaign")
    (released,) = _inbox(db, world.alice)
    assert released.kind == "released" and "Reason: Make room for a campaign" in released.body
    booking_service.cancel_booking(world.alice, booking.id, "")
    assert [e.kind for e in _inbox(db, world.alice)] == ["released"]
    cancelled = _inbox(db, team.wei)[-1]
    assert cancelled.kind == "cancelled" and "Alice" in cancelled.body
    assert "原因" not in cancelled.body


def test_an_approved_schedule_tells_placed_and_unplaced_requests_without_naming_others(
    team: Team, db: Any
) -> None:
    world = team.world
    placed = make_request(team.world, "Glycan profile")
    from app.booking.requests import StepInput

    # Possible when sent; maintenance over its whole window since then leaves it no time.
    unplaced = make_request(
        world,
        "Marathon run",
        user=world.bob,
        project_id=world.project_b.id,
        steps=[
            StepInput(
                duration_minutes=120, unit_ids=[world.lcms1.id], facility_id=world.facility.id
            )
        ],
    )
    maintenance.add_maintenance(
        world.mia,
        world.lcms1.id,
        start=unplaced.earliest_start,
        end=unplaced.deadline,
        reason_en="Ion source cleaning",
    )
    run = solve_now(world.mia, world.facility)
    assert run.status == "succeeded", run.error
    proposal_service.approve_proposal(world.mia, run.proposal.id)
    (alice,) = _inbox(db, world.alice)
    assert alice.kind == "placed" and alice.request_id == placed.id
    assert "Mia approved a schedule that places your request “Glycan profile”" in alice.body
    assert "Birch" not in alice.body and "Marathon" not in alice.body
    (bob,) = _inbox(db, world.bob)
    assert bob.kind == "unplaced" and bob.request_id == unplaced.id
    assert "could not place your request “Marathon run”" in bob.body
    assert "Amber" not in bob.body and "Glycan" not in bob.body


def test_the_waitlist_tells_the_member_it_gave_them_a_freed_slot(
    app: Flask, team: Team, db: Any
) -> None:
    from app.jobs.waitlist import run_waitlist_solves

    world = team.world
    taken = booking_service.manual_booking(
        world.mia,
        project_id=world.project_b.id,
        equipment_id=world.lcms1.id,
        start=world.at(1, "09:00"),
        end=world.at(1, "12:00"),
        title="Birch calibration",
    )
    req = make_request(world, "Waiting peptide map")
    booking_service.cancel_booking(world.bob, taken.id, "")
    (run,) = run_waitlist_solves(utcnow())
    assert run.trigger == "waitlist" and run.proposal is not None
    proposal_service.approve_proposal(None, run.proposal.id)
    (entry,) = _inbox(db, world.alice)
    assert entry.kind == "waitlist" and entry.request_id == req.id
    assert "Time freed by a cancellation was given to your request" in entry.body
    assert "Birch" not in entry.body


def test_a_user_reads_only_their_own_notifications_on_pages_and_in_the_api(
    team: Team, db: Any, client: Any, login: Any
) -> None:
    world = team.world
    _move(team, _booking(team))
    (alices,) = _inbox(db, world.alice)
    login(world.bob)
    assert client.get("/inbox").get_data(as_text=True).count("Amber peptide map") == 0
    assert client.post(f"/inbox/{alices.id}/read").status_code == 404
    response = client.post(f"/api/v1/notifications/{alices.id}/read")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert client.get("/api/v1/notifications").get_json() == {"unread": 0, "notifications": []}
    assert _inbox(db, world.alice)[0].read_at is None
    client.post("/logout")

    login(world.alice)
    page = client.get("/inbox").get_data(as_text=True)
    assert 'id="unread-count" class="unread-count some"' in page and "1 unread" in page
    listing = client.get("/api/v1/notifications").get_json()
    assert listing["unread"] == 1
    assert listing["notifications"][0]["reason"] == "The column is being replaced"
    marked = client.post(f"/api/v1/notifications/{alices.id}/read").get_json()
    assert marked["id"] == alices.id and marked["read_at"] is not None
    assert "0 unread" in client.get("/inbox").get_data(as_text=True)


def test_the_api_document_describes_the_inbox(client: Any) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert "get" in document["paths"]["/notifications"]
    assert "post" in document["paths"]["/notifications/{id}/read"]
    assert "Notification" in document["components"]["schemas"]


def test_the_manager_sees_who_will_be_told(team: Team, db: Any, client: Any, login: Any) -> None:
    world = team.world
    booking = _booking(team)
    login(world.mia)
    for path in (f"/bookings/{booking.id}", f"/bookings/{booking.id}/reschedule"):
        page = client.get(path).get_data(as_text=True)
        assert "Told of this change" in page and "Alice, Zhang Wei" in page, path
        assert "Bob" not in page
    make_request(world, "Glycan profile")
    run = solve_now(world.mia, world.facility)
    page = client.get(f"/proposals/{run.proposal.id}").get_data(as_text=True)
    assert "Approving tells the members of each request" in page
    assert "Amber Biologics: Alice, Zhang Wei" in page


def test_notifications_are_emailed_in_the_recipients_language(
    app: Flask, team: Team, db: Any, smtp: Mailbox
) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://pilotslot.example.cn"
    booking = _booking(team)
    _move(team, booking)
    counts = outbox.deliver_due(utcnow())
    assert counts["smtp"] == 2
    (english,) = smtp.to("alice@amber.example")
    assert english["Subject"] == "Booking moved: Amber peptide map"
    text = english.get_content()
    assert "Reason: The column is being replaced" in text
    assert f"https://pilotslot.example.cn/bookings/{booking.id}" in text
    (chinese,) = smtp.to("wei@amber.example")
    assert chinese["Subject"].startswith("预约已调整")
    assert "原因：The column is being replaced" in chinese.get_content()
    # Delivered once: a second run sends nothing.
    assert outbox.deliver_due(utcnow())["smtp"] == 0 and len(smtp.messages) == 2


def test_a_kind_turned_off_stays_in_the_inbox_and_is_not_emailed(
    app: Flask, team: Team, db: Any, smtp: Mailbox, client: Any, login: Any
) -> None:
    world = team.world
    login(world.alice)
    page = client.get("/account").get_data(as_text=True)
    assert 'id="email-moved" checked' in page
    kept = [k for k in services.KINDS if k != "moved"]
    assert client.post("/account/notifications", data={"email": kept}).status_code == 302
    assert 'id="email-moved" checked' not in client.get("/account").get_data(as_text=True)
    _move(team, _booking(team))
    counts = outbox.deliver_due(utcnow())
    assert counts == {"smtp": 1, "app": 1, "dropped": 0, "retry": 0, "failed": 0}
    assert smtp.to("alice@amber.example") == [] and len(smtp.to("wei@amber.example")) == 1
    assert [e.kind for e in _inbox(db, world.alice)] == ["moved"]


def test_unknown_kinds_are_refused_with_the_field_named(team: Team, db: Any) -> None:
    import pytest

    from app.errors import ValidationError

    with pytest.raises(ValidationError) as refused:
        services.set_email_kinds(team.world.alice, ["moved", "everything"])
    assert refused.value.field == "email"
    assert services.email_kinds(team.world.alice) == set(services.KINDS)


def test_a_refusing_server_is_retried_and_the_mail_arrives_later(
    app: Flask, team: Team, db: Any, smtp: Mailbox
) -> None:
    _move(team, _booking(team))
    smtp.refuse = 2
    counts = outbox.deliver_due(utcnow())
    assert counts["retry"] == 2 and counts["smtp"] == 0 and smtp.messages == []
    db.session.expire_all()
    waiting = db.session.scalars(select(OutboxMessage)).all()
    assert all(m.channel == "" and m.attempts == 1 and "451" in m.last_error for m in waiting)
    # The inbox did not wait for the mail server.
    assert len(_inbox(db, team.world.alice)) == 1
    assert outbox.deliver_due(utcnow())["smtp"] == 2
    assert len(smtp.messages) == 2
    assert len(_inbox(db, team.world.alice)) == 1


def test_a_too_long_reason_is_refused_and_moves_nothing(
    team: Team, db: Any, client: Any, login: Any
) -> None:
    world = team.world
    booking = _booking(team)
    login(world.mia)
    response = client.patch(
        f"/api/v1/bookings/{booking.id}",
        json={
            "start": world.at(2, "13:00").isoformat(),
            "end": world.at(2, "16:00").isoformat(),
            "reason": "x" * 2001,
        },
    )
    assert response.status_code == 422
    assert response.get_json()["field"] == "reason"
    form = client.post(
        f"/bookings/{booking.id}/reschedule",
        data={
            "equipment_id": str(world.lcms1.id),
            "start": world.local(2, "13:00"),
            "end": world.local(2, "16:00"),
            "reason": "x" * 2001,
        },
    )
    assert form.status_code == 422 and 'id="reason-error"' in form.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).start == world.at(1, "09:00")  # type: ignore[union-attr]
    assert _inbox(db, world.alice) == []


def test_an_approved_schedule_that_moves_a_released_booking_tells_its_members(
    team: Team, db: Any
) -> None:
    from app.booking.requests import StepInput

    world = team.world

    def on_lcms1() -> list[StepInput]:
        return [
            StepInput(
                duration_minutes=180, unit_ids=[world.lcms1.id], facility_id=world.facility.id
            )
        ]

    first = make_request(world, "Glycan profile", steps=on_lcms1())
    run = solve_now(world.mia, world.facility)
    proposal_service.approve_proposal(world.mia, run.proposal.id)
    db.session.expire_all()
    (booking,) = db.session.get(type(first), first.id).bookings  # type: ignore[union-attr]
    slot = (booking.start, booking.end)
    booking_service.release_booking(world.mia, booking.id, "Birch needs this exact slot")
    # Birch can only use the slot Amber's released booking holds.
    birch = _birch_request(world, slot, on_lcms1())
    run = solve_now(world.mia, world.facility)
    proposal_service.approve_proposal(world.mia, run.proposal.id)
    db.session.expire_all()
    moved = db.session.get(Booking, booking.id)
    assert moved is not None and (moved.start, moved.end) != slot
    kinds = [e.kind for e in _inbox(db, world.alice)]
    assert kinds == ["placed", "released", "moved"]
    last = _inbox(db, world.alice)[-1]
    assert "approved a new schedule that moves your released booking" in last.body
    assert "Birch" not in last.body
    assert [e.kind for e in _inbox(db, world.bob)] == ["placed"]
    assert _inbox(db, world.bob)[0].request_id == birch.id


def _birch_request(world: Any, slot: tuple[Any, Any], steps: Any) -> Any:
    from app.booking import requests as request_service

    return request_service.create_request(
        world.bob,
        world.project_b.id,
        title="Birch calibration",
        earliest_start=slot[0],
        deadline=slot[1],
        steps=steps,
    )


def test_a_released_booking_dropped_by_an_approved_schedule_is_told_as_cancelled(
    team: Team, db: Any
) -> None:
    from app.booking import requests as request_service
    from app.booking.requests import StepInput

    world = team.world
    slot = (world.at(1, "09:00"), world.at(1, "12:00"))
    steps = [
        StepInput(duration_minutes=180, unit_ids=[world.lcms1.id], facility_id=world.facility.id)
    ]
    amber = make_request(world, "Glycan profile", steps=steps)
    db.session.execute(
        BookingRequest.__table__.update()
        .where(BookingRequest.id == amber.id)
        .values(earliest_start=slot[0], deadline=slot[1])
    )
    db.session.commit()
    run = solve_now(world.mia, world.facility)
    proposal_service.approve_proposal(world.mia, run.proposal.id)
    db.session.expire_all()
    (booking,) = db.session.get(BookingRequest, amber.id).bookings  # type: ignore[union-attr]
    booking_service.release_booking(world.mia, booking.id, "Another request has priority")
    birch = request_service.create_request(
        world.bob,
        world.project_b.id,
        title="Birch calibration",
        earliest_start=slot[0],
        deadline=slot[1],
        steps=steps,
        priority_reason="Investor demo",
    )
    # The facility's manager gives it the higher weight (members only ask for priority).
    request_service.update_request(world.mia, birch.id, weight=5)
    run = solve_now(world.mia, world.facility)
    proposal_service.approve_proposal(world.mia, run.proposal.id)
    entries = _inbox(db, world.alice)
    assert [e.kind for e in entries] == ["placed", "released", "unplaced", "cancelled"]
    assert "approved a new schedule in which it has no place" in entries[-1].body
    for e in entries:
        assert "Birch" not in e.body and "Investor" not in e.body, e.body
