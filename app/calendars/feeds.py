"""What a calendar feed contains: the rows behind each kind of feed, read as plain data.

A feed holds active bookings that ended at most HISTORY_DAYS ago, cancelled bookings for
CANCELLED_KEPT_DAYS after their cancellation (so subscribed clients learn of it), maintenance
windows in unit and facility feeds, and, in a team's own feeds, the steps that each facility's
current draft proposal places for the team's proposed requests (STATUS:TENTATIVE, UID
`proposal-step-<step id>`: one UID per step, so a later solve moves the tentative event instead of
adding another; it disappears when the proposal is approved, expires or is discarded, and the
booking that replaces it has its own UID `booking-<id>`).

Both windows are cut at the start of a UTC day, so the feed's content, and hence its version,
changes at most once a day by the passage of time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import force_locale, gettext
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import aliased

from app import access
from app.accounts.models import Project, User
from app.booking.models import (
    Booking,
    BookingRequest,
    BookingStatus,
    Proposal,
    ProposalItem,
    ProposalStatus,
    RequestStatus,
    RequestStep,
)
from app.calendars.ical import CANCELLED, CONFIRMED, TENTATIVE, FeedBooking, FeedMaintenance
from app.calendars.models import FeedKind, FeedToken
from app.catalog.models import Equipment, Facility, MaintenanceWindow
from app.extensions import db

HISTORY_DAYS = 180
CANCELLED_KEPT_DAYS = 30
# Bump when the serialised form changes, so cached copies are not answered with 304.
FORMAT_VERSION = "2"


@dataclass(frozen=True)
class FeedVersion:
    """A cheap fingerprint of a feed: it changes whenever the feed's bytes would."""

    etag: str
    last_modified: datetime


@dataclass(frozen=True)
class FeedContent:
    name: str
    bookings: list[FeedBooking]
    maintenance: list[FeedMaintenance]
    default_timezone: str


@dataclass(frozen=True)
class _Scope:
    """Which rows a feed reads, and what it may show."""

    booking_filter: ColumnElement[bool]
    maintenance_filter: ColumnElement[bool] | None
    # Team feeds: the projects whose draft proposals appear as tentative events.
    team_projects: tuple[int, ...]
    names: tuple[str, ...]
    default_timezone: str
    # A project's own feed need not repeat its name on every event.
    show_project: bool = True


def window_start(now: datetime) -> datetime:
    """Return the start of `now`'s UTC day: the reference for both feed windows."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def pick(zh: str, en: str, locale: str) -> str:
    """Return the English name for an English subscriber when there is one, else the Chinese."""
    return en if locale == "en" and en else zh


def pick_marked(zh: str, en: str, locale: str) -> str:
    """Return the text in the subscriber's language, else the other one with its language named.

    A manager may write a maintenance reason in one language only."""
    wanted, other = (en, zh) if locale == "en" else (zh, en)
    if wanted or not other:
        return wanted
    with force_locale(locale):
        language = gettext("in Chinese") if locale == "en" else gettext("in English")
    return f"{other} ({language})"


def _scope(token: FeedToken, default_timezone: str) -> _Scope:
    owner = db.session.get(User, token.owner_id)
    if token.kind in (FeedKind.PROJECT, FeedKind.USER):
        project_ids = access.team_feed_projects(token.kind, token.target_id, owner)
        names = tuple(
            db.session.scalars(
                select(Project.name).where(Project.id.in_(project_ids)).order_by(Project.id)
            )
        )
        return _Scope(
            BookingRequest.project_id.in_(project_ids),
            None,
            project_ids,
            names,
            default_timezone,
            show_project=token.kind == FeedKind.USER,
        )
    if token.kind == FeedKind.EQUIPMENT:
        unit = db.session.get(Equipment, token.target_id)
        timezone = unit.facility.timezone if unit else default_timezone
        return _Scope(
            Booking.equipment_id == token.target_id,
            MaintenanceWindow.equipment_id == token.target_id,
            (),
            (unit.name_zh, unit.name_en) if unit else (),
            timezone,
        )
    facility = db.session.get(Facility, token.target_id)
    return _Scope(
        Equipment.facility_id == token.target_id,
        Equipment.facility_id == token.target_id,
        (),
        (facility.name_zh, facility.name_en) if facility else (),
        facility.timezone if facility else default_timezone,
    )


def _booking_window(now: datetime) -> ColumnElement[bool]:
    day = window_start(now)
    return or_(
        and_(
            Booking.status == BookingStatus.ACTIVE.value,
            Booking.end >= day - timedelta(days=HISTORY_DAYS),
        ),
        and_(
            Booking.status == BookingStatus.CANCELLED.value,
            func.coalesce(Booking.cancelled_at, Booking.updated_at)
            >= day - timedelta(days=CANCELLED_KEPT_DAYS),
        ),
    )


def _maintenance_window(now: datetime) -> ColumnElement[bool]:
    day = window_start(now)
    return or_(
        and_(
            MaintenanceWindow.cancelled_at.is_(None),
            MaintenanceWindow.end >= day - timedelta(days=HISTORY_DAYS),
        ),
        MaintenanceWindow.cancelled_at >= day - timedelta(days=CANCELLED_KEPT_DAYS),
    )


def _current_draft_items(project_ids: tuple[int, ...]) -> ColumnElement[bool]:
    later = aliased(Proposal)
    latest_draft = (
        select(func.max(later.id))
        .where(
            later.facility_id == Proposal.facility_id,
            later.status == ProposalStatus.DRAFT.value,
        )
        .scalar_subquery()
    )
    return and_(
        Proposal.status == ProposalStatus.DRAFT.value,
        Proposal.id == latest_draft,
        ProposalItem.pinned.is_(False),
        BookingRequest.status == RequestStatus.PROPOSED.value,
        BookingRequest.project_id.in_(project_ids),
    )


def feed_version(
    token: FeedToken, *, now: datetime, context: tuple[str, ...], default_timezone: str
) -> FeedVersion:
    """Fingerprint a feed with a few aggregate queries, without reading its rows.

    `context` names what outside the database shapes the bytes: the public URL, the UID
    domain, which pages the events link to."""
    scope = _scope(token, default_timezone)
    parts: list[Any] = [
        FORMAT_VERSION,
        token.id,
        token.locale,
        context,
        window_start(now).date().isoformat(),
        scope.names,
        scope.team_projects,
    ]
    stamps: list[datetime] = [token.created_at, window_start(now)]
    booking_stats = db.session.execute(
        select(
            func.count(Booking.id),
            func.max(Booking.updated_at),
            func.max(Booking.sequence),
            func.max(BookingRequest.updated_at),
            func.max(Equipment.updated_at),
            func.max(Facility.updated_at),
        )
        .select_from(Booking)
        .join(BookingRequest, Booking.request_id == BookingRequest.id)
        .join(Equipment, Booking.equipment_id == Equipment.id)
        .join(Facility, Equipment.facility_id == Facility.id)
        .where(scope.booking_filter, _booking_window(now))
    ).one()
    parts.append(tuple(booking_stats))
    stamps.extend(value for value in booking_stats[1:] if isinstance(value, datetime))
    if scope.maintenance_filter is not None:
        maintenance_stats = db.session.execute(
            select(
                func.count(MaintenanceWindow.id),
                func.max(MaintenanceWindow.updated_at),
                func.max(MaintenanceWindow.sequence),
            )
            .join(Equipment, MaintenanceWindow.equipment_id == Equipment.id)
            .where(scope.maintenance_filter, _maintenance_window(now))
        ).one()
        parts.append(tuple(maintenance_stats))
        stamps.extend(value for value in maintenance_stats if isinstance(value, datetime))
    if scope.team_projects:
        proposal_stats = db.session.execute(
            select(
                func.count(ProposalItem.id),
                func.max(Proposal.id),
                func.max(Proposal.created_at),
                func.max(BookingRequest.updated_at),
            )
            .select_from(ProposalItem)
            .join(Proposal, ProposalItem.proposal_id == Proposal.id)
            .join(BookingRequest, ProposalItem.request_id == BookingRequest.id)
            .where(_current_draft_items(scope.team_projects))
        ).one()
        parts.append(tuple(proposal_stats))
        stamps.extend(value for value in proposal_stats if isinstance(value, datetime))
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return FeedVersion(etag=digest, last_modified=max(stamps).replace(microsecond=0))


def _step_counts() -> tuple[Any, Any]:
    sibling = aliased(RequestStep)
    count = (
        select(func.count(sibling.id))
        .where(sibling.request_id == RequestStep.request_id)
        .scalar_subquery()
    )
    position = (
        select(func.count(sibling.id))
        .where(
            sibling.request_id == RequestStep.request_id, sibling.position <= RequestStep.position
        )
        .scalar_subquery()
    )
    return position, count


_PLACE_COLUMNS = (
    Equipment.name_zh.label("unit_zh"),
    Equipment.name_en.label("unit_en"),
    Facility.name_zh.label("facility_zh"),
    Facility.name_en.label("facility_en"),
    Facility.address_zh,
    Facility.address_en,
    Facility.city_zh,
    Facility.city_en,
    Facility.district_zh,
    Facility.district_en,
    Facility.timezone,
    Facility.contact_name_zh,
    Facility.contact_name_en,
    Facility.contact_email,
    Facility.contact_phone,
    BookingRequest.id.label("request_id"),
    BookingRequest.title,
    Project.name.label("project_name"),
)


def _feed_booking(
    row: Any,
    *,
    key: str,
    status: str,
    sequence: int,
    updated_at: datetime,
    locale: str,
    show_project: bool,
    booking_id: int | None,
) -> FeedBooking:
    address = pick(row.address_zh, row.address_en, locale) or " ".join(
        part
        for part in (
            pick(row.city_zh, row.city_en, locale),
            pick(row.district_zh, row.district_en, locale),
        )
        if part
    )
    return FeedBooking(
        key=key,
        start=row.start,
        end=row.end,
        timezone=row.timezone,
        sequence=sequence,
        updated_at=updated_at,
        status=status,
        equipment_name=pick(row.unit_zh, row.unit_en, locale),
        title=row.title,
        facility_name=pick(row.facility_zh, row.facility_en, locale),
        facility_address=address,
        contact_name=pick(row.contact_name_zh, row.contact_name_en, locale),
        contact_email=row.contact_email,
        contact_phone=row.contact_phone,
        step_position=row.step_position,
        step_count=row.step_count,
        project_name=row.project_name if show_project else None,
        booking_id=booking_id,
        request_id=row.request_id,
    )


def _booking_rows(condition: ColumnElement[bool]) -> Any:
    position, count = _step_counts()
    return db.session.execute(
        select(
            Booking.id.label("booking_id"),
            Booking.start,
            Booking.end,
            Booking.status,
            Booking.sequence,
            Booking.updated_at,
            position.label("step_position"),
            count.label("step_count"),
            *_PLACE_COLUMNS,
        )
        .select_from(Booking)
        .join(BookingRequest, Booking.request_id == BookingRequest.id)
        .join(RequestStep, Booking.step_id == RequestStep.id)
        .join(Project, BookingRequest.project_id == Project.id)
        .join(Equipment, Booking.equipment_id == Equipment.id)
        .join(Facility, Equipment.facility_id == Facility.id)
        .where(condition)
        .order_by(Booking.start, Booking.id)
    )


def _bookings(
    condition: ColumnElement[bool], locale: str, *, show_project: bool = True
) -> list[FeedBooking]:
    return [
        _feed_booking(
            row,
            key=f"booking-{row.booking_id}",
            status=CANCELLED if row.status == BookingStatus.CANCELLED.value else CONFIRMED,
            sequence=row.sequence,
            updated_at=row.updated_at,
            locale=locale,
            show_project=show_project,
            booking_id=row.booking_id,
        )
        for row in _booking_rows(condition)
    ]


def _proposed(
    project_ids: tuple[int, ...], locale: str, *, show_project: bool
) -> list[FeedBooking]:
    position, count = _step_counts()
    rows = db.session.execute(
        select(
            ProposalItem.step_id,
            ProposalItem.start,
            ProposalItem.end,
            Proposal.created_at,
            position.label("step_position"),
            count.label("step_count"),
            *_PLACE_COLUMNS,
        )
        .select_from(ProposalItem)
        .join(Proposal, ProposalItem.proposal_id == Proposal.id)
        .join(BookingRequest, ProposalItem.request_id == BookingRequest.id)
        .join(RequestStep, ProposalItem.step_id == RequestStep.id)
        .join(Project, BookingRequest.project_id == Project.id)
        .join(Equipment, ProposalItem.equipment_id == Equipment.id)
        .join(Facility, Equipment.facility_id == Facility.id)
        .where(_current_draft_items(project_ids))
    )
    # SEQUENCE stays 0: a later proposal's DTSTAMP is later, which is what orders the versions
    # of an event with equal sequence numbers (RFC 5546 §2.1.5).
    return [
        _feed_booking(
            row,
            key=f"proposal-step-{row.step_id}",
            status=TENTATIVE,
            sequence=0,
            updated_at=row.created_at,
            locale=locale,
            show_project=show_project,
            booking_id=None,
        )
        for row in rows
    ]


def _maintenance(condition: ColumnElement[bool], locale: str) -> list[FeedMaintenance]:
    rows = db.session.execute(
        select(
            MaintenanceWindow.id,
            MaintenanceWindow.start,
            MaintenanceWindow.end,
            MaintenanceWindow.sequence,
            MaintenanceWindow.updated_at,
            MaintenanceWindow.cancelled_at,
            MaintenanceWindow.reason_zh,
            MaintenanceWindow.reason_en,
            Equipment.name_zh.label("unit_zh"),
            Equipment.name_en.label("unit_en"),
            Facility.name_zh.label("facility_zh"),
            Facility.name_en.label("facility_en"),
            Facility.address_zh,
            Facility.address_en,
            Facility.timezone,
        )
        .join(Equipment, MaintenanceWindow.equipment_id == Equipment.id)
        .join(Facility, Equipment.facility_id == Facility.id)
        .where(condition)
    )
    return [
        FeedMaintenance(
            id=row.id,
            start=row.start,
            end=row.end,
            timezone=row.timezone,
            sequence=row.sequence,
            updated_at=row.updated_at,
            cancelled=row.cancelled_at is not None,
            equipment_name=pick(row.unit_zh, row.unit_en, locale),
            reason=pick_marked(row.reason_zh, row.reason_en, locale),
            facility_name=pick(row.facility_zh, row.facility_en, locale),
            facility_address=pick(row.address_zh, row.address_en, locale),
        )
        for row in rows
    ]


def feed_content(token: FeedToken, *, now: datetime, default_timezone: str) -> FeedContent:
    """Read everything a feed shows, as plain data for the serialiser."""
    scope = _scope(token, default_timezone)
    locale = token.locale
    bookings = _bookings(
        and_(scope.booking_filter, _booking_window(now)), locale, show_project=scope.show_project
    )
    maintenance: list[FeedMaintenance] = []
    if scope.maintenance_filter is not None:
        maintenance = _maintenance(
            and_(scope.maintenance_filter, _maintenance_window(now)), locale
        )
    if scope.team_projects:
        bookings.extend(_proposed(scope.team_projects, locale, show_project=scope.show_project))
    return FeedContent(
        name=_feed_name(token, scope),
        bookings=bookings,
        maintenance=maintenance,
        default_timezone=scope.default_timezone,
    )


def _feed_name(token: FeedToken, scope: _Scope) -> str:
    if token.kind in (FeedKind.EQUIPMENT, FeedKind.FACILITY) and scope.names:
        name = pick(scope.names[0], scope.names[1], token.locale)
    else:
        name = ", ".join(scope.names)
    return f"Pilotslot · {name}" if name else "Pilotslot"


def booking_for_download(booking: Booking, locale: str) -> FeedBooking:
    """Return one booking as plain data, for a single-event download."""
    return _bookings(Booking.id == booking.id, locale)[0]
