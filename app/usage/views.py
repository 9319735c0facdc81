"""Usage pages: check-in and check-out on the booking page, the facility's day sheet, the
unit's kiosk page and its QR code, and a manager's correction. Thin handlers."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Flask, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from app import access, dates
from app.accounts import security
from app.booking import bookings as booking_service
from app.booking.forms import to_local, to_utc
from app.booking.models import Booking
from app.catalog.models import Equipment, Facility
from app.dbtypes import utcnow
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.usage import services
from app.usage.forms import CorrectionForm
from app.usage.models import Usage, UsageVia
from app.usage.qr import kiosk_qr_svg

bp = Blueprint("usage", __name__)

# How far back the no-show counts on the day sheet reach.
NO_SHOW_WINDOW = timedelta(days=90)


def _back(default: str) -> BaseResponse:
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(default)


def _via() -> UsageVia:
    return UsageVia.KIOSK if request.form.get("via") == UsageVia.KIOSK.value else UsageVia.STAFF


@bp.post("/bookings/<int:booking_id>/check-in")
@login_required
def check_in(booking_id: int) -> BaseResponse:
    services.check_in(security.user(), booking_id, via=_via())
    flash(_("Checked in."))
    return _back(url_for("booking.booking_detail", booking_id=booking_id))


@bp.post("/bookings/<int:booking_id>/check-out")
@login_required
def check_out(booking_id: int) -> BaseResponse:
    services.check_out(security.user(), booking_id, via=_via())
    flash(_("Checked out; the usage is recorded for billing."))
    return _back(url_for("booking.booking_detail", booking_id=booking_id))


@bp.route("/bookings/<int:booking_id>/usage", methods=["GET", "POST"])
@login_required
def correct(booking_id: int) -> str | tuple[str, int] | BaseResponse:
    user = security.user()
    booking = booking_service.get_booking(user, booking_id)
    if not access.can_correct_usage(user, booking):
        raise NotFound(_("No such booking among those you can see."))
    tz = booking.equipment.facility.timezone
    form = CorrectionForm()
    usage = services.usage_of(booking)
    if request.method == "GET":
        form.checked_in_at.data = to_local(
            usage.checked_in_at if usage and usage.checked_in_at else booking.start, tz
        )
        form.checked_out_at.data = to_local(
            usage.checked_out_at if usage and usage.checked_out_at else booking.end, tz
        )
    status = 200
    if form.validate_on_submit():
        try:
            services.correct_usage(
                user,
                booking.id,
                checked_in_at=to_utc(form.checked_in_at.data, tz),
                checked_out_at=to_utc(form.checked_out_at.data, tz),
                reason=form.reason.data or "",
            )
        except ValidationError as error:
            for name, message in error.errors.items():
                getattr(form, name).errors = [*getattr(form, name).errors, message]
            status = 422
        else:
            flash(_("Usage corrected; the audit log keeps the reason."))
            return redirect(url_for("booking.booking_detail", booking_id=booking.id))
    elif request.method == "POST":
        status = 422
    page = render_template("usage/correct.html", booking=booking, usage=usage, form=form, tz=tz)
    return page if status == 200 else (page, status)


def _day(tz: str) -> date:
    text = request.args.get("day", "")
    if text:
        try:
            return dates.parse_day(text, "day")
        except ValidationError:
            pass
    return dates.today_in(tz)


@bp.get("/manage/<slug>/day-sheet")
@login_required
def day_sheet(slug: str) -> str:
    user = security.user()
    facility = db.session.scalar(select(Facility).where(Facility.slug == slug))
    if facility is None or not access.can_manage(user, facility):
        raise NotFound(_("No such facility among those you manage."))
    day = _day(facility.timezone)
    return render_template(
        "usage/day_sheet.html",
        facility=facility,
        day=day,
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
        rows=services.day_sheet(user, facility, day),
        no_shows=services.no_show_counts(user, facility, utcnow() - NO_SHOW_WINDOW),
        window_days=NO_SHOW_WINDOW.days,
        now=utcnow(),
        early=services.EARLY_CHECK_IN,
    )


def _unit(slug: str) -> Equipment:
    unit = db.session.scalar(select(Equipment).where(Equipment.slug == slug))
    if unit is None:
        raise NotFound(_("No such unit."))
    return unit


@bp.get("/equipment/<slug>/kiosk")
@login_required
def kiosk(slug: str) -> str:
    user = security.user()
    unit = _unit(slug)
    facility = unit.facility
    day = dates.today_in(facility.timezone)
    return render_template(
        "usage/kiosk.html",
        unit=unit,
        facility=facility,
        day=day,
        rows=services.day_sheet(user, facility, day, equipment=unit),
        now=utcnow(),
        early=services.EARLY_CHECK_IN,
    )


@bp.get("/equipment/<slug>/kiosk.svg")
def kiosk_qr(slug: str) -> Response:
    unit = _unit(slug)
    svg = kiosk_qr_svg(url_for("usage.kiosk", slug=unit.slug, _external=True))
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def _booking_usage(booking: Booking) -> Usage | None:
    return services.usage_of(booking)


def register(app: Flask) -> None:
    """Give templates a booking's usage and the check-in window."""
    app.jinja_env.globals.update(
        booking_usage=_booking_usage,
        check_in_opens=lambda booking: booking.start - services.EARLY_CHECK_IN,
        check_in_early=services.EARLY_CHECK_IN,
        utcnow=utcnow,
        can_record_usage=lambda user, booking: access.can_record_usage(user, booking),
        can_correct_usage=lambda user, booking: access.can_correct_usage(user, booking),
    )
