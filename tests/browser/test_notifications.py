"""A manager moves a booking with a reason; both members read it in their inbox, one in English
and one in Chinese, and the e-mails reach a real SMTP server (aiosmtpd), in Chromium."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests import factories
from tests.booking.pages_world import World
from tests.browser.conftest import LiveServer, log_in, screenshot
from tests.notifications.conftest import Mailbox

pytestmark = pytest.mark.browser

REASON = "The LC-MS column is replaced that morning"


@pytest.fixture
def mailbox(live_server: LiveServer) -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    box = Mailbox("127.0.0.1", port)
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    live_server.app.config.update(SMTP_URL=box.url, PUBLIC_BASE_URL=live_server.url)
    try:
        yield box
    finally:
        controller.stop()
        live_server.app.config.update(SMTP_URL="", PUBLIC_BASE_URL="")


def test_members_read_a_move_and_its_reason_in_their_inbox_and_mail(
    new_page: Any, world: World, live_server: LiveServer, mailbox: Mailbox
) -> None:
    from playwright.sync_api import expect

    from app.accounts.models import User
    from app.booking import bookings as booking_service
    from app.dbtypes import utcnow
    from app.extensions import db
    from app.jobs import outbox

    def seed() -> int:
        factories.make_user(
            name="Zhang Wei", email="wei@amber.example", locale="zh", projects=(world.project_a,)
        )
        mia = db.session.get(User, world.mia.id)
        return booking_service.manual_booking(
            mia,
            project_id=world.project_a.id,
            equipment_id=world.lcms1.id,
            start=world.at(1, "09:00"),
            end=world.at(1, "12:00"),
            title="Amber glycan map",
        ).id

    booking_id = live_server.run(seed)

    manager = new_page()
    log_in(manager, world.mia.email, factories.PASSWORD)
    manager.goto(f"/bookings/{booking_id}/reschedule")
    expect(manager.locator("#told")).to_contain_text("Alice, Zhang Wei")
    manager.fill("#start", world.local(3, "13:00"))
    manager.fill("#end", world.local(3, "16:00"))
    manager.fill("#reason", REASON)
    screenshot(manager, "notify-reschedule-form")
    manager.click("#reschedule-form button.primary")
    manager.wait_for_url(f"**/bookings/{booking_id}")
    expect(manager.locator("#unread-count")).to_have_text("0 unread")

    assert live_server.run(lambda: outbox.deliver_due(utcnow()))["smtp"] == 2

    alice = new_page()
    log_in(alice, world.alice.email, factories.PASSWORD)
    expect(alice.locator("#unread-count")).to_have_text("1 unread")
    alice.click("#unread-count")
    alice.wait_for_url("**/inbox")
    entry = alice.locator("article.notification.unread")
    expect(entry.locator("h2")).to_have_text("Booking moved: Amber glycan map")
    expect(entry).to_contain_text("Mia moved your booking “Amber glycan map”")
    expect(entry).to_contain_text(f"Reason: {REASON}")
    screenshot(alice, "notify-inbox-en")
    entry.get_by_role("link", name="Open").click()
    alice.wait_for_url(f"**/bookings/{booking_id}")
    alice.goto("/inbox")
    alice.get_by_role("button", name="Mark as read").click()
    expect(alice.locator("#unread-count")).to_have_text("0 unread")
    expect(alice.locator("article.notification.unread")).to_have_count(0)

    wei = new_page()
    log_in(wei, "wei@amber.example", factories.PASSWORD)
    expect(wei.locator("#unread-count")).to_have_text("1 条未读")
    wei.click("#unread-count")
    wei.wait_for_url("**/inbox")
    entry = wei.locator("article.notification.unread")
    expect(entry.locator("h2")).to_have_text("预约已调整：Amber glycan map")
    expect(entry).to_contain_text(f"原因：{REASON}")
    screenshot(wei, "notify-inbox-zh")

    (english,) = mailbox.to(world.alice.email)
    assert english["Subject"] == "Booking moved: Amber glycan map"
    assert f"Reason: {REASON}" in english.get_content()
    assert f"{live_server.url}/bookings/{booking_id}" in english.get_content()
    (chinese,) = mailbox.to("wei@amber.example")
    assert chinese["Subject"] == "预约已调整：Amber glycan map"
    assert f"原因：{REASON}" in chinese.get_content()
