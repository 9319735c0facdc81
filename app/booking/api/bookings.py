"""Bookings: list, book directly, move, cancel, release, pin; a unit's busy blocks."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _

from app.accounts import security
from app.booking import bookings as booking_service
from app.booking.api import routing
from app.booking.api.schemas import (
    Availability,
    AvailabilityBlock,
    AvailabilityQuery,
    Booking,
    BookingList,
    BookingQuery,
    Empty,
    ManualBookingInput,
    ReasonInput,
    ReleaseInput,
    RescheduleInput,
)
from app.dbtypes import utcnow
from app.errors import BadRequest

# The longest span of busy blocks one call may ask for.
MAX_AVAILABILITY_SPAN = timedelta(days=92)


@routing.route(
    "/bookings",
    "GET",
    summary="Bookings you may see",
    answer=BookingList,
    answer_description="Bookings",
    query=BookingQuery,
    errors=(400,),
)
def bookings_list(query: BookingQuery) -> BookingList:
    user = security.user()
    facility = (
        routing.facility(query.facility, field="facility", error=BadRequest)
        if query.facility
        else None
    )
    unit = (
        routing.unit(query.equipment, field="equipment", error=BadRequest)
        if query.equipment
        else None
    )
    found = booking_service.list_bookings(
        user,
        project_id=query.project,
        facility_id=facility.id if facility else None,
        equipment_id=unit.id if unit else None,
        start=query.start,
        end=query.end,
        include_cancelled=query.include_cancelled,
    )
    return BookingList(bookings=[Booking.of(b) for b in found])


@routing.route(
    "/bookings",
    "POST",
    summary="Book a unit directly for a project (managers)",
    description="Checked like a move: a clash with another booking, its changeover or "
    "maintenance is refused (409); outside the unit's staffed hours, or costing more than the "
    "project's spending cap leaves (`over-budget`), it is refused (409, `violations`) unless "
    "`override` is true with an `override_reason`",
    answer=Booking,
    status=201,
    answer_description="Booked",
    body=ManualBookingInput,
    errors=(409, 422),
)
def bookings_create(body: ManualBookingInput) -> tuple[Booking, dict[str, str]]:
    user = security.user()
    unit = routing.unit(body.equipment, field="equipment")
    booking = booking_service.manual_booking(
        user,
        project_id=body.project_id,
        equipment_id=unit.id,
        start=body.start,
        end=body.end,
        title=body.title,
        note=body.note,
        override=body.override,
        override_reason=body.override_reason,
    )
    return Booking.of(booking), {"Location": f"/api/v1/bookings/{booking.id}"}


@routing.route(
    "/bookings/<int:booking_id>",
    "GET",
    summary="One booking",
    answer=Booking,
    answer_description="The booking",
)
def bookings_detail(booking_id: int) -> Booking:
    return Booking.of(booking_service.get_booking(security.user(), booking_id))


@routing.route(
    "/bookings/<int:booking_id>",
    "PATCH",
    summary="Move a booking (managers); a move that breaks the solver's rules is refused "
    "(409, `violations`) unless `override` is true with an `override_reason`",
    answer=Booking,
    answer_description="Moved",
    body=RescheduleInput,
    errors=(409, 422),
)
def bookings_reschedule(booking_id: int, body: RescheduleInput) -> Booking:
    user = security.user()
    unit_id = None
    if "equipment" in body.model_fields_set:
        unit_id = routing.unit(body.equipment, field="equipment").id
    booking = booking_service.reschedule_booking(
        user,
        booking_id,
        start=body.start,
        end=body.end,
        equipment_id=unit_id,
        reason=body.reason,
        override=body.override,
        override_reason=body.override_reason,
    )
    return Booking.of(booking)


@routing.route(
    "/bookings/<int:booking_id>/cancel",
    "POST",
    summary="Cancel a booking",
    answer=Booking,
    answer_description="Cancelled",
    body=ReasonInput,
    errors=(409, 422),
)
def bookings_cancel(booking_id: int, body: ReasonInput) -> Booking:
    return Booking.of(booking_service.cancel_booking(security.user(), booking_id, body.reason))


@routing.route(
    "/bookings/<int:booking_id>/release",
    "POST",
    summary="Let the next solve move a booking (managers; the reason is audited)",
    answer=Booking,
    answer_description="Released",
    body=ReleaseInput,
    errors=(409, 422),
)
def bookings_release(booking_id: int, body: ReleaseInput) -> Booking:
    return Booking.of(booking_service.release_booking(security.user(), booking_id, body.reason))


@routing.route(
    "/bookings/<int:booking_id>/pin",
    "POST",
    summary="Keep a booking fixed in later solves (managers)",
    answer=Booking,
    answer_description="Pinned",
    body=Empty,
    errors=(409,),
)
def bookings_pin(booking_id: int, body: Empty) -> Booking:
    return Booking.of(booking_service.pin_booking(security.user(), booking_id))


@routing.route(
    "/equipment/<slug>/availability",
    "GET",
    summary="Busy blocks of a unit; other projects' bookings show only as 'Booked'",
    answer=Availability,
    answer_description="Blocks",
    query=AvailabilityQuery,
    errors=(400,),
)
def equipment_availability(slug: str, query: AvailabilityQuery) -> Availability:
    user = security.user()
    unit = routing.unit(slug)
    start = query.start or utcnow()
    end = query.end or start + timedelta(days=7)
    if end <= start:
        raise BadRequest(_("The end must be after the start."), field="end")
    if end - start > MAX_AVAILABILITY_SPAN:
        raise BadRequest(_("Ask for at most 92 days at a time."), field="end")
    blocks = booking_service.availability(unit, start, end, user)
    return Availability(
        equipment=unit.slug,
        start=start,
        end=end,
        blocks=[AvailabilityBlock(**b) for b in blocks],
    )
