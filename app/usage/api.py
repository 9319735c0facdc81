"""Usage in the JSON API: a booking's usage, check-in and check-out by the facility's staff, a
manager's correction with a reason, the facility's day sheet and its no-show counts. Handlers
load, check access (app/access.py, through the services) and serialise; the rules live in
app/usage/services.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from flask import Blueprint
from pydantic import Field
from sqlalchemy import select

from app import dates, openapi
from app.accounts import security
from app.apitypes import Answer, Body, Day, Moment, Query, Text
from app.billing import services as billing
from app.billing.api import ChargeAnswer
from app.billing.models import Charge
from app.booking import bookings as booking_service
from app.booking.api import routing
from app.booking.models import Booking, BookingStatus
from app.errors import BadRequest
from app.extensions import db
from app.usage import services
from app.usage.models import Usage, UsageState, UsageVia
from app.usage.views import NO_SHOW_WINDOW

bp = Blueprint("usage_api", __name__, url_prefix="/api/v1")

States = Literal[tuple(s.value for s in UsageState)]  # type: ignore[valid-type]
Vias = Literal[tuple(v.value for v in UsageVia)]  # type: ignore[valid-type]


# Declare a usage operation: authenticated, 404 for what the caller may not see.
route = openapi.area_router(bp, "usage")


# ---------------------------------------------------------------- schemas


class UsageAnswer(Answer):
    """What actually happened to a booking, and what it costs so far."""

    booking_id: int
    booking_start: Moment
    booking_end: Moment
    booking_status: Literal["active", "cancelled"]
    state: States | None = Field(  # type: ignore[valid-type]
        description="null: nothing recorded yet"
    )
    checked_in_at: Moment | None
    checked_out_at: Moment | None
    via: Vias | None = Field(  # type: ignore[valid-type]
        description="how the last change came in: staff, kiosk, correction, the no-show job"
    )
    corrected: bool
    charge: ChargeAnswer | None = Field(description="null: no charge yet")

    @classmethod
    def of(cls, booking: Booking, usage: Usage | None) -> UsageAnswer:
        charge = db.session.scalar(select(Charge).where(Charge.booking_id == booking.id))
        paid = billing.voucher_paid([charge.id]) if charge else {}
        return cls(
            booking_id=booking.id,
            booking_start=booking.start,
            booking_end=booking.end,
            booking_status=(
                "active" if booking.status == BookingStatus.ACTIVE.value else "cancelled"
            ),
            state=usage.state if usage else None,
            checked_in_at=usage.checked_in_at if usage else None,
            checked_out_at=usage.checked_out_at if usage else None,
            via=(usage.via or None) if usage else None,
            corrected=bool(usage and usage.corrected),
            charge=ChargeAnswer.of(charge, paid.get(charge.id, 0)) if charge else None,
        )


class Empty(Body):
    """No fields."""


class CorrectionInput(Body):
    """The booking's actual times, and why they are corrected (audited)."""

    checked_in_at: Moment
    checked_out_at: Moment = Field(description="after checked_in_at, not in the future")
    reason: Text = Field(max_length=services.MAX_REASON, description="Required, not blank")


class SheetRow(Answer):
    booking_id: int
    equipment: str = Field(description="the unit's slug")
    project_id: int
    project: str
    title: str
    start: Moment
    end: Moment
    booking_status: Literal["active", "cancelled"]
    state: States | None = Field(description="null: not checked in")  # type: ignore[valid-type]
    checked_in_at: Moment | None
    checked_out_at: Moment | None


class DaySheet(Answer):
    facility: str
    day: Day
    timezone: str
    rows: list[SheetRow]


class DaySheetQuery(Query):
    day: Day | None = Field(None, description="the local day (default: today at the facility)")
    equipment: Text | None = Field(None, description="one unit's slug")


class NoShowRow(Answer):
    project_id: int
    project: str
    bookings: int = Field(description="bookings started since the day, no-shows included")
    no_shows: int
    share: float = Field(description="no_shows ÷ bookings (0.25 is 25 %)")


class NoShowList(Answer):
    facility: str
    since: Day
    projects: list[NoShowRow]


class NoShowQuery(Query):
    since: Day | None = Field(
        None, description=f"first local day counted (default: {NO_SHOW_WINDOW.days} days ago)"
    )


# ---------------------------------------------------------------- operations


@route(
    "/bookings/<int:booking_id>/usage",
    "GET",
    summary="A booking's usage and charge (whoever may see the booking)",
    answer=UsageAnswer,
)
def usage_detail(booking_id: int) -> UsageAnswer:
    booking = booking_service.get_booking(security.user(), booking_id)
    return UsageAnswer.of(booking, services.usage_of(booking))


@route(
    "/bookings/<int:booking_id>/check-in",
    "POST",
    summary="Check a booking in now (the facility's staff); opens "
    f"{services.EARLY_CHECK_IN // timedelta(minutes=1)} minutes before its start",
    answer=UsageAnswer,
    answer_description="Checked in",
    body=Empty,
    errors=(409,),
)
def usage_check_in(booking_id: int, body: Empty) -> UsageAnswer:
    usage = services.check_in(security.user(), booking_id, via=UsageVia.STAFF)
    return UsageAnswer.of(usage.booking, usage)


@route(
    "/bookings/<int:booking_id>/check-out",
    "POST",
    summary="Check a checked-in booking out now (the facility's staff); the usage is charged",
    answer=UsageAnswer,
    answer_description="Checked out",
    body=Empty,
    errors=(409,),
)
def usage_check_out(booking_id: int, body: Empty) -> UsageAnswer:
    usage = services.check_out(security.user(), booking_id, via=UsageVia.STAFF)
    return UsageAnswer.of(usage.booking, usage)


@route(
    "/bookings/<int:booking_id>/usage/correction",
    "POST",
    summary="Set a booking's actual times with a reason (the facility's managers; audited); "
    "refused once its charge is on an issued statement",
    answer=UsageAnswer,
    answer_description="Corrected",
    body=CorrectionInput,
    errors=(409, 422),
)
def usage_correct(booking_id: int, body: CorrectionInput) -> UsageAnswer:
    usage = services.correct_usage(
        security.user(),
        booking_id,
        checked_in_at=body.checked_in_at,
        checked_out_at=body.checked_out_at,
        reason=body.reason,
    )
    return UsageAnswer.of(usage.booking, usage)


@route(
    "/facilities/<slug>/day-sheet",
    "GET",
    summary="A facility's bookings of one day with their usage (its managers; with "
    "`equipment`, a member sees their own bookings on that unit)",
    answer=DaySheet,
    answer_description="The day's bookings in time order",
    query=DaySheetQuery,
    errors=(400,),
)
def day_sheet(slug: str, query: DaySheetQuery) -> DaySheet:
    user = security.user()
    facility = routing.facility(slug)
    unit = (
        routing.unit(query.equipment, field="equipment", error=BadRequest, facility_id=facility.id)
        if query.equipment
        else None
    )
    day = query.day or dates.today_in(facility.timezone)
    rows = services.day_sheet(user, facility, day, equipment=unit)
    return DaySheet(
        facility=facility.slug,
        day=day,
        timezone=facility.timezone,
        rows=[
            SheetRow(
                booking_id=r.booking.id,
                equipment=r.booking.equipment.slug,
                project_id=r.booking.request.project_id,
                project=r.booking.request.project.name,
                title=r.booking.request.title,
                start=r.booking.start,
                end=r.booking.end,
                booking_status=(
                    "active" if r.booking.status == BookingStatus.ACTIVE.value else "cancelled"
                ),
                state=r.usage.state if r.usage else None,
                checked_in_at=r.usage.checked_in_at if r.usage else None,
                checked_out_at=r.usage.checked_out_at if r.usage else None,
            )
            for r in rows
        ],
    )


@route(
    "/facilities/<slug>/no-shows",
    "GET",
    summary="No-shows per project at a facility since a day (its managers)",
    answer=NoShowList,
    answer_description="Projects by name",
    query=NoShowQuery,
    errors=(400,),
)
def no_shows(slug: str, query: NoShowQuery) -> NoShowList:
    facility = routing.facility(slug)
    since = query.since or dates.today_in(facility.timezone) - NO_SHOW_WINDOW
    start = services.local_day_bounds(since, facility.timezone)[0]
    counts = services.no_show_counts(security.user(), facility, start)
    return NoShowList(
        facility=facility.slug,
        since=since,
        projects=[
            NoShowRow(
                project_id=c.project.id,
                project=c.project.name,
                bookings=c.bookings,
                no_shows=c.no_shows,
                share=round(c.share, 4),
            )
            for c in counts
        ],
    )
