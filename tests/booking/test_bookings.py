"""Bookings: manual booking rules, changeovers, lanes, cancellation, rescheduling, availability,
maintenance and training."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app import dates
from app.accounts.models import Training
from app.booking import bookings as booking_service
from app.booking import maintenance, trainings
from app.booking.models import AuditEvent, Booking, BookingRequest, RequestStatus
from app.booking.signals import booking_cancelled
from app.catalog.models import Equipment, MaintenanceWindow
from app.errors import Conflict, NotFound, ValidationError
from tests import factories
from tests.booking.conftest import Core


def book(core: Core, unit: Equipment, start: datetime, end: datetime, **kw: Any) -> Booking:
    return booking_service.manual_booking(
        kw.pop("user", core.mia),
        project_id=kw.pop("project", core.amber).id,
        equipment_id=unit.id,
        start=start,
        end=end,
        title=kw.pop("title", "Calibration run"),
    )


def count_bookings(db: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(Booking))


def test_manual_booking_is_published_pinned_with_a_booked_request(core: Core, db: Any) -> None:
    booking = book(core, core.lcms1, core.at(0), core.at(0, "12:00"))
    assert booking.pinned and booking.source == "manual" and booking.lane == 0
    assert booking.request.status == RequestStatus.BOOKED
    assert booking.request.steps[0].units == [core.lcms1]
    assert booking.sequence == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "booking.manual"))
    assert event.object_id == booking.id and event.actor_id == core.mia.id


def test_overlap_is_a_conflict_naming_the_booking(core: Core, db: Any) -> None:
    first = book(core, core.lcms1, core.at(0), core.at(0, "12:00"))
    with pytest.raises(Conflict) as caught:
        book(core, core.lcms1, core.at(0, "11:00"), core.at(0, "13:00"))
    assert [c["booking"] for c in caught.value.extra["conflicts"]] == [first.id]
    assert count_bookings(db) == 1
    assert db.session.scalar(select(func.count()).select_from(BookingRequest)) == 1


def test_changeover_separates_different_projects_only(core: Core, db: Any) -> None:
    book(core, core.lcms1, core.at(0), core.at(0, "12:00"))
    # The same project may follow at once; another needs the 30-minute changeover.
    book(core, core.lcms1, core.at(0, "12:00"), core.at(0, "13:00"))
    with pytest.raises(Conflict):
        book(core, core.lcms1, core.at(0, "13:15"), core.at(0, "14:00"), project=core.birch)
    assert book(core, core.lcms1, core.at(0, "13:30"), core.at(0, "14:00"), project=core.birch)


def test_a_unit_of_capacity_two_has_two_lanes(core: Core) -> None:
    incubator = factories.make_equipment(core.bio, slug="incubator", capacity=2)
    first = book(core, incubator, core.at(0), core.at(0, "12:00"))
    second = book(core, incubator, core.at(0, "10:00"), core.at(0, "14:00"), project=core.birch)
    assert {first.lane, second.lane} == {0, 1}
    with pytest.raises(Conflict):
        book(core, incubator, core.at(0, "11:00"), core.at(0, "11:30"))
    assert book(core, incubator, core.at(0, "12:00"), core.at(0, "13:00")).lane == first.lane


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("09:10", "10:00", "start"),
        ("10:00", "09:00", "end"),
    ],
)
def test_bad_times_name_their_field(core: Core, db: Any, start: str, end: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        book(core, core.lcms1, core.at(0, start), core.at(0, end))
    assert caught.value.field == field
    assert count_bookings(db) == 0


def test_naive_time_and_unknown_project_are_refused(core: Core) -> None:
    with pytest.raises(ValidationError) as caught:
        book(core, core.lcms1, datetime(2030, 1, 1, 9), core.at(0, "12:00"))
    assert caught.value.field == "start"
    with pytest.raises(ValidationError) as caught:
        booking_service.manual_booking(
            core.mia,
            project_id=999999,
            equipment_id=core.lcms1.id,
            start=core.at(0),
            end=core.at(0, "10:00"),
            title="x",
        )
    assert caught.value.field == "project"


def test_only_managers_of_the_units_facility_book_manually(core: Core, db: Any) -> None:
    for outsider in (core.alice, core.otto):
        with pytest.raises(NotFound):
            book(core, core.lcms1, core.at(0), core.at(0, "10:00"), user=outsider)
    assert count_bookings(db) == 0
    assert book(core, core.lcms1, core.at(0), core.at(0, "10:00"), user=core.admin)


def test_maintenance_blocks_bookings_and_is_refused_over_bookings(core: Core, db: Any) -> None:
    booking = book(core, core.lcms1, core.at(0), core.at(0, "12:00"))
    for force in (False, True):
        with pytest.raises(Conflict) as caught:
            maintenance.add_maintenance(
                core.mia,
                core.lcms1.id,
                start=core.at(0, "11:00"),
                end=core.at(0, "15:00"),
                reason_en="Pump",
                force=force,
            )
        assert [c["booking"] for c in caught.value.extra["conflicts"]] == [booking.id]
    window = maintenance.add_maintenance(
        core.mia, core.lcms1.id, start=core.at(1), end=core.at(1, "15:00"), reason_en="Pump"
    )
    assert window.source == "manual" and window.created_by_id == core.mia.id
    with pytest.raises(Conflict) as caught:
        book(core, core.lcms1, core.at(1, "14:00"), core.at(1, "16:00"))
    assert "maintenance" in caught.value.detail
    with pytest.raises(NotFound):
        maintenance.add_maintenance(
            core.otto, core.lcms1.id, start=core.at(2), end=core.at(2, "10:00"), reason_en="x"
        )
    assert db.session.scalar(select(func.count()).select_from(MaintenanceWindow)) == 1


def test_cancel_keeps_the_row_bumps_the_sequence_and_signals(core: Core, db: Any) -> None:
    booking = book(core, core.lcms1, core.at(0), core.at(0, "12:00"))
    before = booking.updated_at
    heard: list[Booking] = []
    with booking_cancelled.connected_to(lambda sender, **kw: heard.append(sender)):
        with pytest.raises(NotFound):
            booking_service.cancel_booking(core.bob, booking.id)
        cancelled = booking_service.cancel_booking(core.alice, booking.id, "Sample failed")
    assert heard == [cancelled]
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert cancelled.sequence == 1 and cancelled.updated_at >= before
    assert cancelled.request.status == RequestStatus.CANCELLED
    assert count_bookings(db) == 1
    with pytest.raises(Conflict):
        booking_service.cancel_booking(core.mia, booking.id)
    # The slot is free again.
    assert book(core, core.lcms1, core.at(0), core.at(0, "12:00"), project=core.birch)


def test_reschedule_moves_checks_and_bumps_the_sequence(core: Core, db: Any) -> None:
    booking = book(core, core.lcms1, core.at(0), core.at(0, "12:00"))
    other = book(core, core.lcms2, core.at(1), core.at(1, "12:00"), project=core.birch)
    with pytest.raises(Conflict):
        booking_service.reschedule_booking(
            core.mia,
            booking.id,
            start=core.at(1),
            end=core.at(1, "10:00"),
            equipment_id=core.lcms2.id,
        )
    with pytest.raises(NotFound):
        booking_service.reschedule_booking(
            core.alice, booking.id, start=core.at(2), end=core.at(2, "12:00")
        )
    moved = booking_service.reschedule_booking(
        core.mia, booking.id, start=core.at(0, "10:00"), end=core.at(0, "13:00")
    )
    assert (moved.start, moved.end, moved.sequence) == (
        core.at(0, "10:00"),
        core.at(0, "13:00"),
        1,
    )
    moved = booking_service.reschedule_booking(
        core.mia, booking.id, start=core.at(2), end=core.at(2, "12:00"), equipment_id=core.lcms2.id
    )
    assert moved.equipment_id == core.lcms2.id and moved.sequence == 2
    with pytest.raises(ValidationError) as caught:
        booking_service.reschedule_booking(
            core.mia,
            booking.id,
            start=core.at(2),
            end=core.at(2, "12:00"),
            equipment_id=core.chamber.id,
        )
    assert caught.value.field == "equipment"
    assert other.sequence == 0


def test_pin_and_release_need_a_manager(core: Core, db: Any) -> None:
    booking = book(core, core.lcms1, core.at(0), core.at(0, "12:00"))
    with pytest.raises(NotFound):
        booking_service.release_booking(core.alice, booking.id, "I want to")
    with pytest.raises(NotFound):
        booking_service.pin_booking(core.otto, booking.id)
    released = booking_service.release_booking(core.mia, booking.id, "Move for a rush job")
    assert not released.pinned and released.released_by_id == core.mia.id
    assert released.sequence == 0
    pinned = booking_service.pin_booking(core.mia, booking.id)
    assert pinned.pinned and pinned.release_reason == ""


def test_availability_hides_other_projects_titles(core: Core, db: Any) -> None:
    book(core, core.lcms1, core.at(0), core.at(0, "12:00"), title="Amber secret assay")
    book(core, core.lcms1, core.at(1), core.at(1, "12:00"), project=core.birch, title="Birch plan")
    holiday = (core.monday + timedelta(days=2)).isoformat()
    core.bio.closures = [
        {"from": holiday, "to": holiday, "reason_zh": "假日", "reason_en": "Holiday"}
    ]
    db.session.commit()
    span = (core.at(0, "00:00"), core.at(7, "00:00"))
    as_alice = booking_service.availability(core.lcms1, *span, core.alice)
    assert [(b["kind"], b["title"], b["own"]) for b in as_alice] == [
        ("booking", "Amber secret assay", True),
        ("booking", "Booked", False),
        ("closure", "Holiday", False),
    ]
    assert as_alice[1]["booking_id"] is None
    as_bob = booking_service.availability(core.lcms1, *span, core.bob)
    assert "Amber secret assay" not in repr(as_bob) and "Amber" not in repr(as_bob)
    as_otto = booking_service.availability(core.lcms1, *span, core.otto)
    assert {b["title"] for b in as_otto if b["kind"] == "booking"} == {"Booked"}
    as_mia = booking_service.availability(core.lcms1, *span, core.mia)
    assert "Birch plan · Birch Antennas" in {b["title"] for b in as_mia}


def test_list_bookings_shows_only_what_the_user_may_see(core: Core) -> None:
    amber = book(core, core.lcms1, core.at(0), core.at(0, "12:00"))
    birch = book(core, core.lcms2, core.at(0), core.at(0, "12:00"), project=core.birch)
    chamber = booking_service.manual_booking(
        core.otto,
        project_id=core.birch.id,
        equipment_id=core.chamber.id,
        start=core.at(0),
        end=core.at(0, "10:00"),
        title="Antenna pattern",
    )
    assert booking_service.list_bookings(core.alice) == [amber]
    assert booking_service.list_bookings(core.bob) == [birch, chamber]
    assert booking_service.list_bookings(core.mia) == [amber, birch]
    assert booking_service.list_bookings(core.otto) == [chamber]
    assert booking_service.list_bookings(core.mia, equipment_id=core.lcms2.id) == [birch]
    assert booking_service.list_bookings(core.mia, start=core.at(0, "12:00")) == []
    booking_service.cancel_booking(core.alice, amber.id)
    assert booking_service.list_bookings(core.alice) == []
    assert booking_service.list_bookings(core.alice, include_cancelled=True) == [amber]


def test_training_is_recorded_and_removed_by_managers(core: Core, db: Any) -> None:
    with pytest.raises(NotFound):
        trainings.record_training(core.otto, equipment_id=core.nmr.id, email="alice@amber.test")
    with pytest.raises(ValidationError) as caught:
        trainings.record_training(core.mia, equipment_id=core.nmr.id, email="nobody@x.test")
    assert caught.value.field == "user"
    training = trainings.record_training(
        core.mia, equipment_id=core.nmr.id, email="Alice@Amber.test", trained_on=date(2026, 5, 1)
    )
    assert training.user_id == core.alice.id and training.recorded_by_id == core.mia.id
    trainings.remove_training(core.mia, equipment_id=core.nmr.id, email="alice@amber.test")
    assert db.session.scalar(select(func.count()).select_from(Training)) == 0
    with pytest.raises(NotFound):
        trainings.remove_training(core.mia, equipment_id=core.nmr.id, email="alice@amber.test")


class _ShanghaiSmallHours(datetime):
    """17:30 UTC on 6 December is 01:30 on the 7th in Shanghai: the UTC date is a day behind."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        moment = datetime(2026, 12, 6, 17, 30, tzinfo=UTC)
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


def test_a_training_date_is_the_facilitys_day_not_utcs(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dates, "datetime", _ShanghaiSmallHours)
    assert core.nmr.facility.timezone == "Asia/Shanghai"
    training = trainings.record_training(
        core.mia, equipment_id=core.nmr.id, email="alice@amber.test"
    )
    assert training.trained_on == date(2026, 12, 7)
    with pytest.raises(ValidationError) as caught:
        trainings.record_training(
            core.mia,
            equipment_id=core.nmr.id,
            email="alice@amber.test",
            trained_on=date(2026, 12, 8),
        )
    assert caught.value.field == "trained_on"
