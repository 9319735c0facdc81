"""A manager moves a booking on the reschedule page, in a real browser."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.booking.pages_world import World
from tests.browser.conftest import LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser


def test_manager_reschedules_a_booking_after_a_refused_clash(
    new_page: Any, world: World, live_server: LiveServer
) -> None:
    from playwright.sync_api import expect

    from app.booking import bookings as booking_service
    from app.booking.models import AuditEvent, Booking
    from app.extensions import db

    def seed() -> tuple[int, int]:
        mia = db.session.get(type(world.mia), world.mia.id)
        mine, theirs = (
            booking_service.manual_booking(
                mia,
                project_id=project.id,
                equipment_id=unit.id,
                start=world.at(day, "09:00"),
                end=world.at(day, "12:00"),
                title=title,
            ).id
            for project, unit, day, title in (
                (world.project_a, world.lcms1, 1, "Amber peptide map"),
                (world.project_b, world.lcms2, 2, "Birch calibration"),
            )
        )
        return mine, theirs

    mine, theirs = live_server.run(seed)
    page = new_page()
    log_in(page, world.mia.email, factories.PASSWORD)
    page.goto(f"/bookings/{mine}")
    page.click("#reschedule-link")
    page.wait_for_url(f"**/bookings/{mine}/reschedule")
    expect(page.locator("#start")).to_have_value(world.local(1, "09:00"))
    page.select_option("#equipment_id", str(world.lcms2.id))
    page.fill("#start", world.local(2, "10:00"))
    page.fill("#end", world.local(2, "13:00"))
    page.click("#reschedule-form button.primary")
    clash = page.locator("#start-error")
    expect(clash).to_contain_text("already booked")
    expect(clash).to_contain_text(f"#{theirs}")
    screenshot(page, "reschedule-clash")
    page.fill("#start", world.local(3, "13:00"))
    page.fill("#end", world.local(3, "16:00"))
    page.click("#reschedule-form button.primary")
    page.wait_for_url(f"**/bookings/{mine}")
    expect(page.locator("body")).to_contain_text("Booking moved")
    expect(page.locator("body")).to_contain_text("LC-MS No. 2")
    screenshot(page, "reschedule-done")

    def check() -> None:
        booking = db.session.get(Booking, mine)
        assert booking is not None
        assert (booking.equipment_id, booking.start, booking.end) == (
            world.lcms2.id,
            world.at(3, "13:00"),
            world.at(3, "16:00"),
        )
        events = db.session.query(AuditEvent).filter_by(action="booking.reschedule").all()
        assert [(e.object_id, e.actor_id) for e in events] == [(mine, world.mia.id)]

    live_server.run(check)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_move_that_breaks_the_rules_is_refused_then_overridden_with_a_reason(
    new_page: Any, world: World, live_server: LiveServer, language: str
) -> None:
    """Finding: an LC-MS booking was moved onto a unit without lc-ms, after closing time and
    past its deadline, and accepted with "Booking moved"."""
    from playwright.sync_api import expect

    from app.accounts.models import User
    from app.booking import proposals
    from app.booking.requests import StepInput, create_request
    from app.extensions import db
    from tests.booking.pages_world import solve_now

    week = 7 if language == "en" else 14

    def seed() -> int:
        for person in (world.mia, world.alice):
            row = db.session.get(User, person.id)
            assert row is not None
            row.locale = language
        db.session.commit()
        alice = db.session.get(User, world.alice.id)
        mia = db.session.get(User, world.mia.id)
        create_request(
            alice,
            world.project_a.id,
            title=f"Peptide map {language}",
            earliest_start=world.at(week, "09:00"),
            deadline=world.at(week + 1, "17:30"),
            steps=[StepInput(duration_minutes=180, capability="lc-ms")],
        )
        proposal = solve_now(mia, db.session.merge(world.facility)).proposal
        assert proposal is not None
        (booking,) = proposals.approve_proposal(mia, proposal.id)
        return booking.id

    booking_id = live_server.run(seed)
    words = {
        "en": {
            "refused": "breaks the rules the solver obeys",
            "capability": "HPLC No. 1 cannot do what this step asks for (lc-ms)",
            "deadline": "after the request's deadline",
            "hours": "needs staff",
            "reason_needed": "Say why the move may break the rules",
            "moved": "Booking moved",
            "notes": "Moved against the scheduling rules",
        },
        "zh": {
            "refused": "违反了排程求解器遵守的规则",
            "capability": f"{world.hplc.name_zh} 不具备此步骤所需的能力（lc-ms）",
            "deadline": "晚于预约申请的截止时间",
            "hours": "需要工作人员值守",
            "reason_needed": "请说明为何此次调整可以违反规则",
            "moved": "预约已调整",
            "notes": "违反排程规则的调整",
        },
    }[language]
    reason = f"Column swap agreed with Alice ({language})."
    mia = new_page()
    log_in(mia, world.mia.email, factories.PASSWORD)
    mia.goto(f"/bookings/{booking_id}/reschedule")
    mia.select_option("#equipment_id", str(world.hplc.id))
    mia.fill("#start", world.local(week + 2, "20:00"))
    mia.fill("#end", world.local(week + 2, "23:45"))
    mia.click("#reschedule-form button.primary")
    refusal = mia.locator("#reschedule-form .form-errors")
    for key in ("refused", "capability", "deadline", "hours"):
        expect(refusal).to_contain_text(words[key])
    screenshot(mia, f"reschedule-refused-{language}")
    mia.check("#override")
    mia.click("#reschedule-form button.primary")
    expect(mia.locator("#override_reason-error")).to_contain_text(words["reason_needed"])
    mia.fill("#override_reason", reason)
    mia.click("#reschedule-form button.primary")
    mia.wait_for_url(f"**/bookings/{booking_id}")
    expect(mia.locator("body")).to_contain_text(words["moved"])
    mia.goto(f"/manage/{world.facility.slug}/audit")
    entry = mia.locator("table.audit tr", has_text=reason)
    expect(entry).to_contain_text("booking.reschedule")
    expect(entry).to_contain_text("after-deadline")
    screenshot(mia, f"reschedule-override-audit-{language}")

    alice = new_page()
    log_in(alice, world.alice.email, factories.PASSWORD)
    alice.goto(f"/bookings/{booking_id}")
    notes = alice.locator("#overrides")
    expect(notes).to_contain_text(words["notes"])
    expect(notes).to_contain_text(reason)
    expect(notes).to_contain_text(words["capability"])
    expect(notes).to_contain_text(words["deadline"])
    screenshot(alice, f"reschedule-override-member-{language}")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_longer_booking_past_the_projects_cap_is_refused_with_the_amounts(
    new_page: Any, world: World, live_server: LiveServer, language: str
) -> None:
    from datetime import timedelta

    from playwright.sync_api import expect

    from app.accounts.models import User
    from app.billing.budgets import committed_fen
    from app.billing.models import SpendingCap
    from app.booking import bookings as booking_service
    from app.extensions import db

    day = 21 if language == "en" else 35

    def seed() -> int:
        mia = db.session.get(User, world.mia.id)
        assert mia is not None
        mia.locale = language
        db.session.commit()
        booking = booking_service.manual_booking(
            mia,
            project_id=world.project_a.id,
            equipment_id=world.lcms1.id,
            start=world.at(day, "09:00"),
            end=world.at(day, "10:00"),
            title=f"Calibration {language}",
        )
        first = world.at(day, "09:00").date() - timedelta(days=3)
        last = first + timedelta(days=10)
        project = db.session.merge(world.project_a)
        committed = committed_fen(project, first, last, world.facility.timezone)
        # Room for the hour booked, not for three more.
        db.session.add(
            SpendingCap(
                project_id=project.id,
                amount_fen=committed + 1,
                period_start=first,
                period_end=last,
            )
        )
        db.session.commit()
        return booking.id

    booking_id = live_server.run(seed)
    words = {
        "en": ("spending cap", "Booking moved"),
        "zh": ("支出上限", "预约已调整"),
    }[language]
    mia = new_page()
    log_in(mia, world.mia.email, factories.PASSWORD)
    mia.goto(f"/bookings/{booking_id}/reschedule")
    mia.fill("#end", world.local(day, "13:00"))
    mia.click("#reschedule-form button.primary")
    refusal = mia.locator("#reschedule-form .form-errors")
    expect(refusal).to_contain_text(words[0])
    expect(refusal).to_contain_text("¥")
    screenshot(mia, f"reschedule-over-budget-{language}")
    mia.check("#override")
    mia.fill("#override_reason", "The director approved the longer run.")
    mia.click("#reschedule-form button.primary")
    mia.wait_for_url(f"**/bookings/{booking_id}")
    expect(mia.locator("body")).to_contain_text(words[1])


def test_a_member_reads_on_the_request_page_that_the_cap_leaves_too_little(
    new_page: Any, world: World, live_server: LiveServer
) -> None:
    from datetime import timedelta

    from playwright.sync_api import expect

    from app.accounts.models import User
    from app.billing.models import SpendingCap
    from app.booking.requests import StepInput, create_request
    from app.extensions import db

    day = 49

    def seed() -> int:
        alice = db.session.get(User, world.alice.id)
        assert alice is not None
        alice.locale = "zh"
        first = world.at(day, "09:00").date() - timedelta(days=2)
        db.session.add(
            SpendingCap(
                project_id=world.project_a.id,
                amount_fen=5_000,
                period_start=first,
                period_end=first + timedelta(days=10),
            )
        )
        db.session.commit()
        return create_request(
            alice,
            world.project_a.id,
            title="Long LC-MS series",
            earliest_start=world.at(day, "09:00"),
            deadline=world.at(day + 2, "17:30"),
            steps=[StepInput(duration_minutes=240, capability="lc-ms")],
        ).id

    request_id = live_server.run(seed)
    page = new_page()
    log_in(page, world.alice.email, factories.PASSWORD)
    page.goto(f"/requests/{request_id}")
    notice = page.locator(".budget-notice")
    expect(notice).to_contain_text("支出上限")
    expect(notice).to_contain_text("¥50.00")
    screenshot(page, "request-over-budget-zh")
