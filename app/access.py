"""Who may see or change what: every access rule, and the SQL filters that match the checks.

A startup's members see their project's requests and bookings; a facility's managers see and
act on what concerns their facilities; administrators see and manage everything. Pages, the
API, calendar feeds, the agenda, reports and exports all ask here, so a rule changed here
changes everywhere at once. Refusals are NotFound (404), so ids leak nothing.

A test (tests/test_access_in_one_place.py) fails when a module outside this one reads
memberships or managers to decide what someone sees."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, exists, false, or_, select, true

from app.accounts.models import Project, ProjectMembership, User
from app.booking.models import Booking, BookingRequest, RequestStep
from app.calendars.models import FeedKind
from app.catalog.models import Equipment, Facility
from app.errors import NotFound
from app.extensions import db
from app.needs.models import Need, NeedState

if TYPE_CHECKING:
    from flask_login import AnonymousUserMixin

    from app.billing.models import Statement
    from app.booking.models import Proposal, SolveRun
    from app.vouchers.models import Voucher


# ---------------------------------------------------------------- people


def is_member(user: User, project_id: int) -> bool:
    """Tell whether the user belongs to the project (administrators do not, by being one)."""
    return project_id in user.project_ids


def has_projects(user: User) -> bool:
    """Tell whether the user belongs to any project: the member's pages are for them."""
    return bool(user.memberships)


def member_projects(user: User) -> list[Project]:
    """Return the projects the user belongs to, by name."""
    return sorted((m.project for m in user.memberships), key=lambda p: p.name)


def project_choices(user: User) -> list[Project]:
    """Return the projects the user may act for: their own, or every one for administrators."""
    if user.is_admin:
        return list(db.session.scalars(select(Project).order_by(Project.name)))
    return member_projects(user)


def own_projects(user: User, project_column: Any) -> ColumnElement[bool]:
    """Return the WHERE clause keeping rows of the user's own projects only."""
    return project_column.in_(sorted(user.project_ids) or [-1])


def project_member_ids(project_id: int) -> Select[tuple[int]]:
    """Return a query of the ids of the project's members (to join or filter on)."""
    return select(ProjectMembership.user_id).where(ProjectMembership.project_id == project_id)


def require_member(user: User, project_id: int) -> None:
    """Raise NotFound unless the user belongs to the project (administrators pass)."""
    if not (user.is_admin or is_member(user, project_id)):
        raise NotFound(_("No such project among yours."))


def require_admin(user: User) -> None:
    """Raise NotFound unless the user is an administrator."""
    if not user.is_admin:
        raise NotFound(_("Not found."))


# ---------------------------------------------------------------- facilities


def can_manage(user: User, facility: Facility | int) -> bool:
    """Tell whether the user manages the facility (administrators manage all)."""
    facility_id = facility if isinstance(facility, int) else facility.id
    return user.is_admin or facility_id in user.facility_ids


def require_manager(user: User, facility: Facility | int) -> None:
    """Raise NotFound unless the user manages the facility; 404 so ids leak nothing."""
    if not can_manage(user, facility):
        raise NotFound(_("No such facility among those you manage."))


def managed_facilities(user: User) -> list[Facility]:
    """Return the facilities the user was made a manager of, by slug."""
    return sorted(user.managed_facilities, key=lambda f: f.slug)


def manageable_facilities(user: User) -> list[Facility]:
    """Return the facilities the user manages (every active one for administrators)."""
    if user.is_admin:
        return list(
            db.session.scalars(
                select(Facility).where(Facility.active.is_(True)).order_by(Facility.slug)
            )
        )
    return managed_facilities(user)


def reportable_facilities(user: User) -> list[Facility]:
    """Return the facilities whose reports the user may read; NotFound for anyone else."""
    if user.is_admin:
        return list(db.session.scalars(select(Facility).order_by(Facility.slug)))
    if not user.is_manager:
        raise NotFound(_("Not found."))
    return managed_facilities(user)


def can_see_maintenance_reasons(user: User | AnonymousUserMixin) -> bool:
    """Tell whether the user may read why a unit is in maintenance: managers write it freely
    (a fault, a project's name), so it is for signed-in users; the public sees only when."""
    return bool(user.is_authenticated)


def can_see_run(user: User, run: SolveRun) -> bool:
    """Tell whether the user may see (and stop) a solve run: its facility's managers."""
    return can_manage(user, run.facility_id)


def can_see_proposal(user: User, proposal: Proposal) -> bool:
    """Tell whether the user may see (and decide) a proposal: its facility's managers."""
    return can_manage(user, proposal.facility_id)


# ---------------------------------------------------------------- bookings


def can_see_booking(user: User, booking: Booking) -> bool:
    """Tell whether the user may see the booking: its project's member, its manager, admin."""
    return (
        user.is_admin
        or is_member(user, booking.request.project_id)
        or booking.equipment.facility_id in user.facility_ids
    )


def visible_bookings(user: User) -> ColumnElement[bool]:
    """Return the filter on Booking that `can_see_booking` is row by row."""
    if user.is_admin:
        return true()
    return or_(
        Booking.request_id.in_(
            select(BookingRequest.id).where(
                BookingRequest.project_id.in_(user.project_ids or {-1})
            )
        ),
        Booking.equipment_id.in_(
            select(Equipment.id).where(Equipment.facility_id.in_(user.facility_ids or {-1}))
        ),
    )


def team_bookings(user: User) -> ColumnElement[bool]:
    """Return the filter on Booking for the bookings of the user's own projects (the team's
    agenda and dashboard; administrators and managers see theirs elsewhere)."""
    return Booking.request_id.in_(
        select(BookingRequest.id).where(BookingRequest.project_id.in_(user.project_ids or {-1}))
    )


def sees_booking_details(user: User, booking: Booking) -> bool:
    """Tell whether a unit's availability shows the user this booking's title and link: its
    own project's, or any at a facility they manage (others see only "Booked")."""
    return is_member(user, booking.request.project_id) or can_manage(
        user, booking.equipment.facility_id
    )


# ---------------------------------------------------------------- requests


def can_see_request(user: User, req: BookingRequest) -> bool:
    """Tell whether the user may see the request: its project's member, its manager, admin."""
    from app.booking.requests import request_facility

    return (
        user.is_admin
        or is_member(user, req.project_id)
        or request_facility(req).id in user.facility_ids
    )


def requests_visible_to(user: User) -> ColumnElement[bool]:
    """Return the filter on BookingRequest that `can_see_request` is row by row."""
    if user.is_admin:
        return true()
    in_managed = exists().where(
        RequestStep.request_id == BookingRequest.id,
        RequestStep.facility_id.in_(user.facility_ids or {-1}),
    )
    return or_(BookingRequest.project_id.in_(user.project_ids or {-1}), in_managed)


# ---------------------------------------------------------------- calendar feeds


def can_subscribe(user: User, kind: str, target_id: int) -> bool:
    """Tell whether the user may read the feed of this kind and target right now.

    Asked when a link is issued and each time it is used, so a feed goes dark as soon as its
    owner leaves the project or stops managing the facility."""
    if not user.active:
        return False
    if kind == FeedKind.USER:
        return target_id == user.id
    if kind == FeedKind.PROJECT:
        return is_member(user, target_id) or (
            user.is_admin and db.session.get(Project, target_id) is not None
        )
    if kind == FeedKind.EQUIPMENT:
        unit = db.session.get(Equipment, target_id)
        return unit is not None and can_manage(user, unit.facility_id)
    if kind == FeedKind.FACILITY:
        return db.session.get(Facility, target_id) is not None and can_manage(user, target_id)
    return False


def team_feed_projects(kind: str, target_id: int, owner: User | None) -> tuple[int, ...]:
    """Return the projects a team feed covers: its project, or all its owner's projects."""
    if kind == FeedKind.PROJECT:
        return (target_id,)
    return tuple(sorted(owner.project_ids)) if owner else ()


# ---------------------------------------------------------------- usage


def can_record_usage(user: User, booking: Booking) -> bool:
    """Tell whether the user may check the booking in or out from the facility's side."""
    return can_manage(user, booking.equipment.facility_id)


def can_use_kiosk(user: User, booking: Booking) -> bool:
    """Tell whether the user may check the booking in or out at the unit's kiosk: a member of
    its project, or the facility's staff."""
    return booking.request.project_id in user.project_ids or can_record_usage(user, booking)


def can_correct_usage(user: User, booking: Booking) -> bool:
    """Tell whether the user may correct recorded usage: the facility's managers."""
    return can_manage(user, booking.equipment.facility_id)


def can_see_no_shows(user: User, facility: Facility | int) -> bool:
    """Tell whether the user may see a facility's no-show counts per project: its managers."""
    return can_manage(user, facility)


# ---------------------------------------------------------------- billing


def can_edit_rates(user: User) -> bool:
    """Tell whether the user may edit rate cards and projects' customer kinds."""
    return user.is_admin


def can_manage_claims(user: User) -> bool:
    """Tell whether the user may see, prepare, submit and mark paid the centre's voucher
    claims: administrators only (a claim spans every facility and project)."""
    return user.is_admin


def can_issue_statements(user: User, facility: Facility | int) -> bool:
    """Tell whether the user may issue statements and notes for the facility."""
    return can_manage(user, facility)


def can_see_statement(user: User, statement: Statement) -> bool:
    """Tell whether the user may see a statement: its project's members, the facility's
    managers, administrators."""
    return statement.project_id in user.project_ids or can_manage(user, statement.facility_id)


def statement_filter(user: User, facility_column: Any, project_column: Any) -> Any:
    """Return the WHERE clause that keeps only the statements or charges the user may see."""
    if user.is_admin:
        return or_(facility_column.is_not(None))
    clauses = []
    if user.project_ids:
        clauses.append(project_column.in_(sorted(user.project_ids)))
    if user.facility_ids:
        clauses.append(facility_column.in_(sorted(user.facility_ids)))
    return or_(*clauses) if clauses else false()


def can_set_caps(user: User, project_id: int) -> bool:
    """Tell whether the user may state or remove a project's spending caps: its members and
    administrators."""
    return user.is_admin or is_member(user, project_id)


def projects_booking_at(facility_ids: Any) -> Select[tuple[int]]:
    """Return a query of the ids of projects with a request at one of these facilities."""
    return (
        select(BookingRequest.project_id)
        .join(RequestStep, RequestStep.request_id == BookingRequest.id)
        .where(RequestStep.facility_id.in_(facility_ids))
    )


def can_see_caps(user: User, project_id: int) -> bool:
    """Tell whether the user may see a project's spending caps: its members, administrators,
    and the managers of the facilities it books (has a request at)."""
    if can_set_caps(user, project_id):
        return True
    if not user.facility_ids:
        return False
    found = db.session.scalar(
        projects_booking_at(sorted(user.facility_ids))
        .where(BookingRequest.project_id == project_id)
        .limit(1)
    )
    return found is not None


def caps_filter(user: User, project_column: Any) -> Any:
    """Return the WHERE clause on a project column that `can_see_caps` is row by row."""
    if user.is_admin:
        return true()
    clauses = []
    if user.project_ids:
        clauses.append(project_column.in_(sorted(user.project_ids)))
    if user.facility_ids:
        clauses.append(project_column.in_(projects_booking_at(sorted(user.facility_ids))))
    return or_(*clauses) if clauses else false()


# ---------------------------------------------------------------- vouchers


def can_manage_vouchers(user: User) -> bool:
    """Tell whether the user may record and edit innovation vouchers: administrators."""
    return user.is_admin


def can_see_voucher(user: User, voucher: Voucher) -> bool:
    """Tell whether the user may see a voucher and its draws: its project's members and
    administrators (read-only for members)."""
    return user.is_admin or voucher.project_id in user.project_ids


def voucher_filter(user: User, project_column: Any) -> Any:
    """Return the WHERE clause that keeps only the vouchers the user may see."""
    if user.is_admin:
        return true()
    return own_projects(user, project_column)


# ---------------------------------------------------------------- needs and brokers

# States a need's own members may still change its words in.
EDITABLE_NEED_STATES = (NeedState.NEW.value, NeedState.SCREENED.value)


def broker_centre_ids(user: User) -> set[int] | None:
    """Return the ids of the centres the user serves as a broker; None: every centre."""
    if user.is_admin or any(a.centre_id is None for a in user.broker_assignments):
        return None
    return {a.centre_id for a in user.broker_assignments if a.centre_id is not None}


def is_broker(user: User) -> bool:
    """Tell whether the user serves at least one centre as a broker (or is an administrator)."""
    return bool(user.is_admin or user.broker_assignments)


def serves_need(user: User, need: Need) -> bool:
    """Tell whether the user is a broker of the need's centre (administrators serve all)."""
    if not is_broker(user):
        return False
    centres = broker_centre_ids(user)
    return centres is None or (need.centre_id is not None and need.centre_id in centres)


def serves_centre(user: User, centre_id: int | None) -> bool:
    """Tell whether the user may write a need for this centre on a startup's behalf."""
    if not is_broker(user):
        return False
    centres = broker_centre_ids(user)
    return centres is None or (centre_id is not None and centre_id in centres)


def need_projects_filter(user: User) -> Any:
    """Return the WHERE clause on projects the user may write needs for.

    Members: their projects. A broker: also the projects already known at the centres it
    serves (a need addressed to one, or a request at one of its facilities); a region-wide
    broker: every project. No one else's project name is offered to a broker of elsewhere."""
    from app.accounts.models import Project
    from app.booking.models import BookingRequest, RequestStep
    from app.catalog.models import Facility

    own = Project.id.in_(user.project_ids) if user.project_ids else false()
    if not is_broker(user):
        return own
    centres = broker_centre_ids(user)
    if centres is None:
        return true()
    if not centres:
        return own
    with_need = select(Need.project_id).where(Need.centre_id.in_(centres))
    with_request = (
        select(BookingRequest.project_id)
        .join(RequestStep, RequestStep.request_id == BookingRequest.id)
        .join(Facility, Facility.id == RequestStep.facility_id)
        .where(Facility.centre_id.in_(centres))
    )
    return or_(own, Project.id.in_(with_need), Project.id.in_(with_request))


def is_need_member(user: User, need: Need) -> bool:
    """Tell whether the user belongs to the need's project."""
    return need.project_id in user.project_ids


def can_see_need(user: User, need: Need) -> bool:
    """Tell whether the user may read the need: its project's members and its brokers."""
    return is_need_member(user, need) or serves_need(user, need)


def needs_filter(user: User) -> Any:
    """Return the WHERE clause that keeps only the needs the user may see."""
    own = Need.project_id.in_(user.project_ids) if user.project_ids else false()
    if not is_broker(user):
        return own
    centres = broker_centre_ids(user)
    if centres is None:
        return true()
    return or_(own, Need.centre_id.in_(centres)) if centres else own


def can_edit_need(user: User, need: Need) -> bool:
    """Tell whether the user may change the need's words: its members, before it is matched."""
    return (is_need_member(user, need) or user.is_admin) and need.state in EDITABLE_NEED_STATES


def can_comment_need(user: User, need: Need) -> bool:
    """Tell whether the user may comment: whoever may read the need."""
    return can_see_need(user, need)


def can_move_need(user: User, need: Need, to_state: str) -> bool:
    """Tell whether the user may move the need to the state by hand.

    Brokers screen, serve, decline and reopen; a member may decline (withdraw) its own need.
    Matched and requested follow from drafts and requests, never from a button."""
    if to_state in (NeedState.MATCHED.value, NeedState.REQUESTED.value):
        return False
    if serves_need(user, need):
        return True
    return to_state == NeedState.DECLINED.value and is_need_member(user, need)


def can_draft_for_need(user: User, need: Need) -> bool:
    """Tell whether the user may turn suggestions into a campaign draft: members and brokers."""
    return can_see_need(user, need)


def can_confirm_draft(user: User, need: Need) -> bool:
    """Tell whether the user may confirm a draft and so send a request: the startup only."""
    return is_need_member(user, need) or user.is_admin


def demand_centre_ids(user: User) -> set[int] | None:
    """Return the centres whose demand picture the user may see; None: every centre.

    Brokers see the centres they serve, managers the centres of their facilities."""
    centres = broker_centre_ids(user) if is_broker(user) else set()
    if centres is None:
        return None
    return centres | {f.centre_id for f in user.managed_facilities}


def can_see_demand(user: User) -> bool:
    """Tell whether the user may open the demand picture at all."""
    centres = demand_centre_ids(user)
    return centres is None or bool(centres)
