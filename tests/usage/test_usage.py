"""Check-in and check-out, no-shows released through the cancellation path, corrections."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.billing.models import Charge
from app.booking.models import AuditEvent, Booking, BookingStatus, SolveRun
from app.booking.signals import booking_cancelled
from app.dbtypes import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.jobs.waitlist import facilities_owed_a_solve, run_waitlist_solves
from app.notifications.models import Notification
from app.usage import services
from app.usage.models import Usage, UsageState, UsageVia
from tests import factories
from tests.usage.conftest import MONDAY_9, Site, build_site

LATER = MONDAY_9 + timedelta(days=1)


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_staff_check_in_and_out_record_actual_times_and_a_charge(site: Site) -> None:
    booking = site.book(MONDAY_9)
    services.check_in(site.manager, booking.id, now=MONDAY_9 + timedelta(minutes=5))
    usage = services.check_out(site.manager, booking.id, now=MONDAY_9 + timedelta(minutes=95))

    assert usage.state == UsageState.CHECKED_OUT
    assert usage.checked_in_at == MONDAY_9 + timedelta(minutes=5)
    assert usage.checked_out_at == MONDAY_9 + timedelta(minutes=95)
    assert db.session.get(Booking, booking.id).attended is True  # type: ignore[union-attr]
    charge = db.session.scalar(select(Charge).where(Charge.booking_id == booking.id))
    assert charge is not None
    # 90 minutes at 100.00 + 50.00 (attended step) per hour.
    assert (charge.minutes, charge.hourly_fen, charge.surcharge_fen) == (90, 10_000, 5_000)
    assert charge.amount_fen == 22_500
    assert [e.details["via"] for e in _audit("usage.check_in")] == ["staff"]
    assert len(_audit("usage.check_out")) == 1


def test_check_in_opens_half_an_hour_before_and_closes_at_the_end(site: Site) -> None:
    booking = site.book(MONDAY_9)
    with pytest.raises(Conflict):
        services.check_in(site.manager, booking.id, now=MONDAY_9 - timedelta(minutes=31))
    with pytest.raises(Conflict):
        services.check_in(site.manager, booking.id, now=MONDAY_9 + timedelta(hours=2))
    services.check_in(site.manager, booking.id, now=MONDAY_9 - timedelta(minutes=30))
    with pytest.raises(Conflict):
        services.check_in(site.manager, booking.id, now=MONDAY_9)


def test_check_out_needs_a_check_in(site: Site) -> None:
    booking = site.book(MONDAY_9)
    with pytest.raises(Conflict):
        services.check_out(site.manager, booking.id, now=MONDAY_9 + timedelta(hours=1))


def test_members_check_in_only_at_the_kiosk_and_only_their_own(site: Site) -> None:
    booking = site.book(MONDAY_9)
    now = MONDAY_9 + timedelta(minutes=1)
    with pytest.raises(NotFound):
        services.check_in(site.member, booking.id, now=now)
    for stranger in (site.outsider, site.other_manager):
        with pytest.raises(NotFound):
            services.check_in(stranger, booking.id, via=UsageVia.KIOSK, now=now)
    usage = services.check_in(site.member, booking.id, via=UsageVia.KIOSK, now=now)
    assert usage.via == "kiosk" and usage.checked_in_by_id == site.member.id


def test_a_booking_not_checked_in_within_the_grace_period_is_released_as_a_no_show(
    site: Site,
) -> None:
    booking = site.book(MONDAY_9)
    sent: list[dict[str, Any]] = []

    def listen(sender: Booking, **kw: Any) -> None:
        sent.append({"booking": sender.id, **kw})

    booking_cancelled.connect(listen)
    try:
        assert services.release_no_shows(MONDAY_9 + timedelta(minutes=29)) == []
        released = services.release_no_shows(MONDAY_9 + timedelta(minutes=30))
    finally:
        booking_cancelled.disconnect(listen)

    assert [b.id for b in released] == [booking.id]
    db.session.expire_all()
    row = db.session.get(Booking, booking.id)
    assert row is not None and row.status == BookingStatus.CANCELLED and row.attended is False
    assert services.usage_of(row).state == UsageState.NO_SHOW  # type: ignore[union-attr]
    assert sent == [{"booking": booking.id, "by": None, "reason": "", "no_show": True}]
    notice = db.session.scalar(select(Notification).where(Notification.user_id == site.member.id))
    assert notice is not None and notice.subject.startswith("Released as a no-show")
    assert "30 minutes" in notice.body
    assert _audit("booking.no_show")[0].details == {"grace_minutes": 30}


def test_the_grace_period_is_the_facilitys(db: Any) -> None:
    site = build_site(no_show_grace_minutes=60)
    site.book(MONDAY_9)
    assert services.release_no_shows(MONDAY_9 + timedelta(minutes=45)) == []
    assert len(services.release_no_shows(MONDAY_9 + timedelta(minutes=60))) == 1


def test_checked_in_and_old_bookings_are_not_no_shows(site: Site) -> None:
    attended = site.book(MONDAY_9)
    services.check_in(site.manager, attended.id, now=MONDAY_9)
    site.book(MONDAY_9 - timedelta(days=3))
    assert services.release_no_shows(MONDAY_9 + timedelta(hours=1)) == []


def test_a_no_show_frees_the_slot_and_the_waitlist_solve_offers_it(app: Any, site: Site) -> None:
    app.config.update(SOLVE_WORKER_PROCESS=False, SOLVER_TIME_LIMIT=5)
    # The solver plans from the real clock: the booking began 31 minutes ago and holds the
    # unit (open around the clock) for eight hours, all of the waiting request's window.
    site.unit.opening_hours = "always"
    start = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=31)
    site.book(start, hours=8)
    waiting = factories.make_request(
        site.other_project,
        [site.unit],
        durations=[240],
        earliest_start=start,
        deadline=start + timedelta(hours=8),
    )
    waiting.steps[0].facility_id = site.facility.id
    waiting.steps[0].attended = False
    db.session.commit()
    now = utcnow()
    assert facilities_owed_a_solve(now) == []

    services.release_no_shows(now)
    assert facilities_owed_a_solve(now) == [site.facility.id]
    [run] = run_waitlist_solves(now)
    db.session.expire_all()
    proposal = db.session.get(SolveRun, run.id).proposal  # type: ignore[union-attr]
    assert proposal is not None
    assert [item.request_id for item in proposal.items] == [waiting.id]


def test_no_shows_are_counted_per_project_for_managers_only(site: Site) -> None:
    site.book(MONDAY_9)
    site.book(MONDAY_9 + timedelta(days=1))
    kept = site.book(MONDAY_9 + timedelta(days=2))
    services.check_in(site.manager, kept.id, now=MONDAY_9 + timedelta(days=2))
    services.release_no_shows(MONDAY_9 + timedelta(hours=1))
    services.release_no_shows(MONDAY_9 + timedelta(days=1, hours=1))

    counts = services.no_show_counts(site.manager, site.facility, MONDAY_9 - timedelta(days=1))
    assert [(c.project.name, c.bookings, c.no_shows) for c in counts] == [("Kestrel Bio", 3, 2)]
    for stranger in (site.member, site.other_manager):
        with pytest.raises(NotFound):
            services.no_show_counts(stranger, site.facility, MONDAY_9)


def test_a_manager_corrects_usage_with_a_reason_and_the_charge_follows(site: Site) -> None:
    booking = site.book(MONDAY_9)
    services.check_in(site.manager, booking.id, now=MONDAY_9)
    services.check_out(site.manager, booking.id, now=MONDAY_9 + timedelta(hours=2))
    with pytest.raises(ValidationError) as missing:
        services.correct_usage(
            site.manager,
            booking.id,
            checked_in_at=MONDAY_9,
            checked_out_at=MONDAY_9 + timedelta(hours=1),
            reason=" ",
            now=LATER,
        )
    assert missing.value.field == "reason"
    with pytest.raises(ValidationError) as backwards:
        services.correct_usage(
            site.manager,
            booking.id,
            checked_in_at=MONDAY_9,
            checked_out_at=MONDAY_9,
            reason="clock wrong",
            now=LATER,
        )
    assert backwards.value.field == "checked_out_at"
    with pytest.raises(NotFound):
        services.correct_usage(
            site.other_manager,
            booking.id,
            checked_in_at=MONDAY_9,
            checked_out_at=MONDAY_9 + timedelta(hours=1),
            reason="not mine",
            now=LATER,
        )

    services.correct_usage(
        site.manager,
        booking.id,
        checked_in_at=MONDAY_9,
        checked_out_at=MONDAY_9 + timedelta(hours=1),
        reason="The team left at ten; the check-out was forgotten.",
        now=LATER,
    )
    charge = db.session.scalar(select(Charge).where(Charge.booking_id == booking.id))
    assert charge is not None and charge.minutes == 60 and charge.amount_fen == 15_000
    usage = db.session.scalar(select(Usage).where(Usage.booking_id == booking.id))
    assert usage is not None and usage.corrected and usage.via == "correction"
    event = _audit("usage.correct")[0]
    assert event.actor_id == site.manager.id
    assert event.details["reason"].startswith("The team left at ten")
    assert event.details["before"]["checked_out_at"].startswith("2027-03-01T03:00")
