"""Who may see or change what: the rules, and the query filters that match them.

Pages, API, exports and services call these; none writes its own. Needs: a startup's members
see their project's needs only; a broker sees the needs addressed to the centres it serves (a
region-wide broker: every need); administrators see all. A need addressed to no centre is for
region-wide brokers. Refusals are 404s elsewhere, so ids leak nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import false, or_, select, true

from app.needs.models import Need, NeedState

if TYPE_CHECKING:
    from app.accounts.models import User

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
