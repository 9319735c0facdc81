"""Calendar routes: secret-link feeds, one booking as .ics, the feeds page, week and month."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request
from flask import url_for as flask_url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from app import access, dataversion, dates
from app.accounts import security
from app.accounts.models import Project
from app.accounts.security import token_digest
from app.booking.models import Booking
from app.calendars import agenda, feeds, tokens
from app.calendars.ical import FeedBooking, bookings_to_ical
from app.catalog.models import Equipment, Facility
from app.database import MAX_INTEGER
from app.dbtypes import utcnow
from app.errors import NotFound, ValidationError
from app.extensions import db, limiter
from app.i18n import localised

bp = Blueprint("calendars", __name__)

CALENDAR_MIMETYPE = "text/calendar"
CACHE_CONTROL = "private, max-age=300"
# Feeds kept per worker between writes; a feed of thousands of bookings is a few MB.
FEED_CACHE_ENTRIES = 64


def _public_base() -> str:
    """Return the site's public root URL: PUBLIC_BASE_URL, else the host this request came to."""
    return (current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")


def _uid_domain() -> str:
    """Return the fixed domain of calendar UIDs (PILOTSLOT_UID_DOMAIN): not the request's host,
    which changes with the name the site is reached by and would duplicate every event."""
    return str(current_app.config["CALENDAR_UID_DOMAIN"])


# Routes are built once per feed with this id, then the id is substituted: building a URL costs
# ~20 µs, too much to repeat for each of thousands of events.
_PLACEHOLDER_ID = 987654321
_LINK_ENDPOINTS = ("booking.booking_detail", "booking.request_detail")


def _route_template(endpoint: str, argument: str) -> str | None:
    if endpoint not in current_app.view_functions:
        return None
    return flask_url_for(endpoint, **{argument: _PLACEHOLDER_ID})


def _page_links(base: str) -> Callable[[FeedBooking], str]:
    """Return a function giving each event's page: the booking's, else its request's, else the
    week that holds it (the booking pages live in the booking blueprint, when registered)."""
    booking_route = _route_template("booking.booking_detail", "booking_id")
    request_route = _route_template("booking.request_detail", "request_id")
    week_route = flask_url_for("calendars.week")
    placeholder = str(_PLACEHOLDER_ID)

    def link(booking: FeedBooking) -> str:
        if booking.booking_id is not None and booking_route:
            return base + booking_route.replace(placeholder, str(booking.booking_id))
        if booking.request_id is not None and request_route:
            return base + request_route.replace(placeholder, str(booking.request_id))
        day = booking.start.astimezone(ZoneInfo(booking.timezone)).date()
        return f"{base}{week_route}?date={day.isoformat()}"

    return link


def _feed_rate_key() -> str:
    # Per link and per address: one leaked link cannot exhaust everyone's allowance.
    raw = (request.view_args or {}).get("token", "")
    return f"feed:{token_digest(raw)[:16]}:{get_remote_address()}"


def _feed_rate() -> str:
    return str(current_app.config.get("FEED_RATE_LIMIT", "60/minute"))


def _is_fresh(version: feeds.FeedVersion) -> bool:
    """Tell whether the client's copy is current; If-Modified-Since only without If-None-Match."""
    if "If-None-Match" in request.headers:
        return request.if_none_match.contains_weak(version.etag)
    since = request.if_modified_since
    return since is not None and version.last_modified <= since


def _calendar_response(body: bytes | None, version: feeds.FeedVersion) -> Response:
    response = Response(body or b"", status=200 if body is not None else 304)
    response.mimetype = CALENDAR_MIMETYPE
    response.charset = "utf-8"
    response.set_etag(version.etag)
    response.last_modified = version.last_modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@dataclass
class _CachedFeed:
    """A feed's fingerprint and, once someone asked for it in full, its bytes."""

    version: feeds.FeedVersion
    body: bytes | None = None


@bp.get("/feeds/<token>.ics")
@limiter.limit(_feed_rate, key_func=_feed_rate_key)
def feed(token: str) -> Response:
    now = utcnow()
    base = _public_base()
    default_timezone = current_app.config["DEFAULT_TIMEZONE"]
    link_routes = tuple(sorted(e for e in _LINK_ENDPOINTS if e in current_app.view_functions))
    # Nearly any write may change a feed (its rows, its owner's rights, the link's revocation),
    # so the whole answer is kept per `feeds` version; the day is in the key as the windows are.
    cache = dataversion.cache("feeds", max_entries=FEED_CACHE_ENTRIES)
    data_token = dataversion.current(dataversion.FEEDS)
    uid_domain = _uid_domain()
    key = (
        token_digest(token),
        feeds.window_start(now),
        base,
        uid_domain,
        link_routes,
        default_timezone,
    )
    cached: _CachedFeed | None = cache.get(data_token, key)
    feed_token = None
    if cached is None:
        feed_token = tokens.resolve_token(token)
        cached = _CachedFeed(
            feeds.feed_version(
                feed_token,
                now=now,
                context=(base, uid_domain, *link_routes),
                default_timezone=default_timezone,
            )
        )
        cache.put(data_token, key, cached)
    if _is_fresh(cached.version):
        return _calendar_response(None, cached.version)
    if cached.body is None:
        feed_token = feed_token or tokens.resolve_token(token)
        content = feeds.feed_content(feed_token, now=now, default_timezone=default_timezone)
        cached.body = bookings_to_ical(
            content.bookings,
            name=content.name,
            locale=feed_token.locale,
            uid_domain=_uid_domain(),
            maintenance=content.maintenance,
            url_for_booking=_page_links(base),
            default_timezone=content.default_timezone,
        )
    return _calendar_response(cached.body, cached.version)


@bp.get("/bookings/<int:booking_id>.ics")
@login_required
def booking_ics(booking_id: int) -> Response:
    user = security.user()
    booking = db.session.get(Booking, booking_id)
    if booking is None or not access.can_see_booking(user, booking):
        raise NotFound(_("No such booking among yours."))
    locale = str(get_locale() or "zh")[:2]
    event = feeds.booking_for_download(booking, locale)
    base = _public_base()
    body = bookings_to_ical(
        [event],
        name=f"{event.equipment_name} · {event.title}",
        locale=locale,
        uid_domain=_uid_domain(),
        url_for_booking=_page_links(base),
        default_timezone=event.timezone,
    )
    response = Response(body, mimetype=CALENDAR_MIMETYPE)
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="booking-{booking_id}.ics"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _target_label(target: tokens.FeedTarget) -> str:
    if target.kind == tokens.FeedKind.USER:
        return _("All my projects")
    if target.kind == tokens.FeedKind.PROJECT:
        project = db.session.get(Project, target.target_id)
        return project.name if project else ""
    if target.kind == tokens.FeedKind.FACILITY:
        facility = db.session.get(Facility, target.target_id)
        return _("%(facility)s (all equipment)", facility=localised(facility))
    unit = db.session.get(Equipment, target.target_id)
    return f"{localised(unit)} · {localised(unit.facility)}" if unit else ""


def _render_feeds(
    *,
    created: tuple[tokens.FeedTarget, str] | None = None,
    errors: dict[str, str] | None = None,
    failed: tuple[str, int] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    user = security.user()
    targets = tokens.available_feeds(user)
    https_link = webcal_link = None
    if created is not None:
        https_link = _public_base() + flask_url_for("calendars.feed", token=created[1])
        webcal_link = "webcal://" + https_link.split("://", 1)[1]
    return (
        render_template(
            "calendars/feeds.html",
            targets=[(target, _target_label(target)) for target in targets],
            created=created[0] if created else None,
            https_link=https_link,
            webcal_link=webcal_link,
            errors=errors or {},
            failed=failed,
            current_locale=str(get_locale() or "zh")[:2],
        ),
        status,
    )


@bp.get("/calendars", endpoint="feeds")
@login_required
def feeds_page() -> tuple[str, int]:
    return _render_feeds()


@bp.post("/calendars/links")
@login_required
def create_link() -> tuple[str, int]:
    user = security.user()
    kind = request.form.get("kind", "")
    raw_target = request.form.get("target_id", "")
    # ASCII digits within the id column: "²" is a digit to isdigit() but not to int(), and a
    # larger number names no row (PostgreSQL refuses to look it up).
    if not (raw_target.isascii() and raw_target.isdigit() and int(raw_target) <= MAX_INTEGER):
        raise ValidationError(_("Choose a calendar."), field="target_id")
    try:
        token, raw = tokens.issue_token(
            user, kind, int(raw_target), locale=request.form.get("locale") or None
        )
    except ValidationError as error:
        return _render_feeds(errors=error.errors, failed=(kind, int(raw_target)), status=422)
    target = tokens.FeedTarget(tokens.FeedKind(token.kind), token.target_id, token)
    # The secret is shown in this response only; it is not stored and not put in the session.
    return _render_feeds(created=(target, raw))


@bp.post("/calendars/links/<int:token_id>/revoke")
@login_required
def revoke_link(token_id: int) -> BaseResponse:
    tokens.revoke_token(security.user(), token_id)
    flash(_("The calendar link was revoked; calendars subscribed to it stop updating."))
    return redirect(flask_url_for("calendars.feeds"))


def _within_range(day: date) -> date | None:
    """Return the day a previous/next link leads to, or None past the supported dates (the
    link would only lead to a refusal)."""
    return day if dates.supported(day) else None


@bp.get("/calendars/week")
@login_required
def week() -> str:
    user = security.user()
    today = utcnow().astimezone(ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])).date()
    day = agenda.parse_day(request.args.get("date"), today)
    days = agenda.week_days(day)
    return render_template(
        "calendars/week.html",
        days=days,
        entries=agenda.team_agenda(user, days[0], days[-1]),
        today=today,
        previous=_within_range(days[0] - timedelta(days=7)),
        following=_within_range(days[0] + timedelta(days=7)),
    )


@bp.get("/calendars/month")
@login_required
def month() -> str:
    user = security.user()
    today = utcnow().astimezone(ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])).date()
    first = agenda.parse_month(request.args.get("month"), today)
    weeks = agenda.month_weeks(first)
    return render_template(
        "calendars/month.html",
        first=first,
        weeks=weeks,
        entries=agenda.team_agenda(user, weeks[0][0], weeks[-1][-1]),
        today=today,
        previous=_within_range((first - timedelta(days=1)).replace(day=1)),
        following=_within_range((first + timedelta(days=32)).replace(day=1)),
    )
