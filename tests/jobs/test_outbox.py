"""Reminders: queued once per booking, member and start; delivered once, by SMTP or in the app."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from app import create_app
from app.booking.models import BookingStatus
from app.database import write_transaction
from app.dbtypes import utcnow
from app.jobs import outbox
from app.jobs.models import OutboxMessage
from app.notifications.models import Notification
from tests.factories import make_booking
from tests.jobs.conftest import World
from tests.jobs.helpers import smtp_server


def _messages(db: Any) -> list[OutboxMessage]:
    db.session.commit()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _booking_in(world: World, hours: float, length: float = 2) -> Any:
    start = (utcnow() + timedelta(hours=hours)).replace(second=0, microsecond=0)
    return make_booking(
        world.amber, world.unit, start, start + timedelta(hours=length), by=world.ann
    )


def test_each_member_gets_one_reminder_in_their_language(world: World, db: Any) -> None:
    booking = _booking_in(world, 10)
    assert outbox.queue_booking_reminders(utcnow()) == 2
    assert outbox.queue_booking_reminders(utcnow()) == 0
    by_user = {m.user_id: m for m in _messages(db)}
    assert set(by_user) == {world.ann.id, world.li.id}
    english, chinese = by_user[world.ann.id], by_user[world.li.id]
    assert "LC-MS One" in english.body and "Bio Centre" in english.body
    assert "质谱一号" in chinese.body and "生物中心" in chinese.body
    assert "Hello Ann" in english.body and "1 Gene Road" in english.body
    # Dates are written the member's way too.
    assert "年" in chinese.subject and "年" not in english.subject
    assert english.due_at == booking.start - timedelta(hours=24)
    assert (
        english.dedupe_key == f"reminder:{booking.id}:{world.ann.id}:{booking.start.isoformat()}"
    )


def test_no_reminder_for_bookings_far_off_past_or_cancelled(world: World, db: Any) -> None:
    _booking_in(world, 30)
    _booking_in(world, -1)
    cancelled = _booking_in(world, 5)
    cancelled.status = BookingStatus.CANCELLED.value
    db.session.commit()
    assert outbox.queue_booking_reminders(utcnow()) == 0
    assert _messages(db) == []


def test_other_projects_members_get_no_reminder(world: World, db: Any) -> None:
    _booking_in(world, 3)
    outbox.queue_booking_reminders(utcnow())
    assert world.bob.id not in {m.user_id for m in _messages(db)}


def test_without_smtp_reminders_are_shown_in_the_inbox_to_their_user_only(
    app: Flask, world: World, db: Any, client: Any, login: Any
) -> None:
    app.config["SMTP_URL"] = ""
    _booking_in(world, 4)
    outbox.queue_booking_reminders(utcnow())
    counts = outbox.deliver_due(utcnow())
    assert counts["app"] == 2
    assert {m.channel for m in _messages(db)} == {"app"}
    mine = db.session.scalars(
        select(Notification).where(Notification.user_id == world.ann.id)
    ).one()
    assert mine.kind == "reminder"

    login(world.bob)
    page = client.get("/inbox").get_data(as_text=True)
    assert "LC-MS One" not in page and "Amber" not in page
    assert client.post(f"/inbox/{mine.id}/read").status_code == 404
    client.post("/logout")

    login(world.ann)
    page = client.get("/inbox").get_data(as_text=True)
    assert mine.subject in page and 'class="card notification unread"' in page
    assert client.post(f"/inbox/{mine.id}/read").status_code == 302
    assert "notification unread" not in client.get("/inbox").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Notification, mine.id).read_at is not None  # type: ignore[union-attr]
    # Delivering again files nothing twice.
    assert outbox.deliver_due(utcnow())["app"] == 0


def test_smtp_sends_each_reminder_exactly_once_across_a_restart(
    app: Flask, world: World, db: Any
) -> None:
    _booking_in(world, 6)
    with smtp_server() as server:
        app.config["SMTP_URL"] = server.url
        outbox.queue_booking_reminders(utcnow())
        assert outbox.deliver_due(utcnow())["smtp"] == 2
        assert sorted(r for m in server.messages for r in m.recipients) == sorted(
            [world.ann.email, world.li.email]
        )
        # A fresh application on the same database, as after a restart of the scheduler.
        restarted = create_app(dict(app.config))
        with restarted.app_context():
            assert outbox.queue_booking_reminders(utcnow()) == 0
            assert outbox.deliver_due(utcnow())["smtp"] == 0
            db.session.remove()
            db.engine.dispose()
        assert len(server.messages) == 2
    assert all(m.channel == "smtp" and m.sent_at is not None for m in _messages(db))
    assert "Subject:" in server.messages[0].data


def test_a_delivery_interrupted_mid_send_is_never_repeated(
    app: Flask, world: World, db: Any
) -> None:
    _booking_in(world, 6)
    outbox.queue_booking_reminders(utcnow())
    first = _messages(db)[0]
    # The process died after claiming the row, maybe after the server accepted the mail.
    write_transaction()
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == first.id).values(channel="sending")
    )
    db.session.commit()
    with smtp_server() as server:
        app.config["SMTP_URL"] = server.url
        assert outbox.deliver_due(utcnow())["smtp"] == 1
    assert len(server.messages) == 1
    states = {m.id: m.channel for m in _messages(db)}
    assert states[first.id] == "sending"
    assert sorted(states.values()) == ["sending", "smtp"]


def test_concurrent_deliveries_send_each_message_once(app: Flask, world: World, db: Any) -> None:
    for hours in (2, 5, 8, 11):
        _booking_in(world, hours, length=1)
    outbox.queue_booking_reminders(utcnow())
    assert len(_messages(db)) == 8
    with smtp_server() as server:
        app.config["SMTP_URL"] = server.url
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def deliver() -> None:
            with app.app_context():
                try:
                    barrier.wait()
                    outbox.deliver_due(utcnow())
                except BaseException as error:  # noqa: BLE001  (reported below)
                    errors.append(error)
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=deliver) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    ids = [line for m in server.messages for line in m.data.splitlines() if "Message-ID" in line]
    assert len(ids) == 8 and len(set(ids)) == 8


def test_an_unreachable_server_is_retried_later(app: Flask, world: World, db: Any) -> None:
    _booking_in(world, 6)
    outbox.queue_booking_reminders(utcnow())
    with smtp_server() as server:
        closed_url = server.url
    app.config["SMTP_URL"] = closed_url
    counts = outbox.deliver_due(utcnow())
    assert counts["retry"] == 2 and counts["smtp"] == 0
    assert all(m.channel == "" and m.attempts == 1 and m.last_error for m in _messages(db))
    with smtp_server() as server:
        app.config["SMTP_URL"] = server.url
        assert outbox.deliver_due(utcnow())["smtp"] == 2
    assert len(server.messages) == 2


def test_a_moved_booking_drops_the_old_reminder_and_gets_a_new_one(
    app: Flask, world: World, db: Any
) -> None:
    app.config["SMTP_URL"] = ""
    booking = _booking_in(world, 10)
    outbox.queue_booking_reminders(utcnow())
    booking.start += timedelta(hours=2)
    booking.end += timedelta(hours=2)
    booking.sequence += 1
    db.session.commit()
    assert outbox.queue_booking_reminders(utcnow()) == 2
    counts = outbox.deliver_due(utcnow())
    assert counts["dropped"] == 2 and counts["app"] == 2
    shown = {m.dedupe_key for m in _messages(db) if m.channel == "app"}
    assert all(key.endswith(booking.start.isoformat()) for key in shown)


@pytest.mark.parametrize(
    ("url", "security", "port", "username", "password"),
    [
        ("smtp://mail.example.org", "none", 25, "", ""),
        ("smtp+starttls://u%40x:p%3Aw@mail.example.org:2525", "starttls", 2525, "u@x", "p:w"),
        ("smtps://mail.example.org", "ssl", 465, "", ""),
    ],
)
def test_smtp_urls_are_read(
    url: str, security: str, port: int, username: str, password: str
) -> None:
    settings = outbox.parse_smtp_url(url)
    assert (settings.host, settings.port, settings.security) == (
        "mail.example.org",
        port,
        security,
    )
    assert (settings.username, settings.password) == (username, password)


@pytest.mark.parametrize("url", ["http://mail.example.org", "smtp://", "mail.example.org"])
def test_bad_smtp_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP_URL"):
        outbox.parse_smtp_url(url)


def test_reminders_link_to_the_booking_when_the_public_address_is_known(
    app: Flask, world: World, db: Any
) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://pilotslot.example.cn"
    booking = _booking_in(world, 3)
    outbox.queue_booking_reminders(utcnow())
    assert all(
        f"https://pilotslot.example.cn/bookings/{booking.id}" in m.body for m in _messages(db)
    )
