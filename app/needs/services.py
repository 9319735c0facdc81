"""Needs: write, screen, comment, move through their states, draft campaigns and submit them.

Every state change goes through `move` and its TRANSITIONS table; every write leaves a
NeedEvent, so a need's history is its events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import access, dates
from app.accounts.models import Project
from app.booking import requests as request_service
from app.booking.models import BookingRequest
from app.catalog.models import Centre, Equipment
from app.database import write_transaction
from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.extensions import db
from app.needs import suggestions
from app.needs.models import CampaignDraft, DeclineReason, EventKind, Need, NeedEvent, NeedState

if TYPE_CHECKING:
    from app.accounts.models import User

MAX_TITLE = 200
MAX_TEXT = 2000
MAX_MATERIAL = 1000
MAX_QUANTITY = 200
MAX_CITY = 100
MAX_COMMENT = 2000
# A hundred million yuan: more is a typo, not a budget.
MAX_BUDGET_FEN = 100_000_000 * 100

# The one table of a need's life: from each state, the states it may move to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    NeedState.NEW: (NeedState.SCREENED, NeedState.MATCHED, NeedState.DECLINED),
    NeedState.SCREENED: (NeedState.MATCHED, NeedState.DECLINED),
    NeedState.MATCHED: (NeedState.REQUESTED, NeedState.DECLINED),
    NeedState.REQUESTED: (NeedState.SERVED, NeedState.DECLINED),
    NeedState.SERVED: (),
    NeedState.DECLINED: (NeedState.NEW,),
}


@dataclass
class NeedInput:
    """A need as its writer gives it; the service checks every field."""

    title: Any
    text: Any
    material: Any = ""
    quantity: Any = ""
    wanted_by: Any = None
    budget_fen: Any = None
    city: Any = ""
    centre_id: Any = None


def _text(value: Any, name: str, longest: int, *, required: bool = False) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if "\x00" in text:
        raise ValidationError(_("Remove the NUL characters."), field=name)
    if required and not text:
        raise ValidationError(_("Say what you need, in your own words."), field=name)
    if len(text) > longest:
        raise ValidationError(_("Use at most %(n)d characters.", n=longest), field=name)
    return text


def _clean(data: NeedInput) -> dict[str, Any]:
    """Return the need's columns, or raise ValidationError naming every bad field."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name, longest, required in (
        ("title", MAX_TITLE, True),
        ("text", MAX_TEXT, True),
        ("material", MAX_MATERIAL, False),
        ("quantity", MAX_QUANTITY, False),
        ("city", MAX_CITY, False),
    ):
        try:
            cleaned[name] = _text(getattr(data, name), name, longest, required=required)
        except ValidationError as error:
            errors[name] = error.detail
    wanted_by = data.wanted_by
    if wanted_by is not None and not isinstance(wanted_by, date):
        errors["wanted_by"] = dates.field_message("wanted_by")
    elif wanted_by is not None and not dates.supported(wanted_by):
        errors["wanted_by"] = dates.range_message()
    cleaned["wanted_by"] = wanted_by
    budget = data.budget_fen
    if budget is not None and (
        isinstance(budget, bool)
        or not isinstance(budget, int)
        or not 0 <= budget <= MAX_BUDGET_FEN
    ):
        errors["budget_fen"] = _(
            "Give the budget in yuan, from 0 to %(n)s.", n=f"{MAX_BUDGET_FEN // 100:,}"
        )
    cleaned["budget_fen"] = budget
    centre_id = data.centre_id
    if centre_id is not None and (
        not isinstance(centre_id, int) or db.session.get(Centre, centre_id) is None
    ):
        errors["centre_id"] = _("Choose a centre from the list.")
    cleaned["centre_id"] = centre_id
    if errors:
        raise ValidationError(next(iter(errors.values())), errors=errors)
    return cleaned


def _event(need: Need, user: User | None, kind: EventKind, **values: Any) -> NeedEvent:
    event = NeedEvent(
        need=need, user_id=user.id if user is not None else None, kind=kind.value, **values
    )
    db.session.add(event)
    return event


def _refresh_match(need: Need) -> None:
    """Keep what the matcher makes of the need's words, for the demand picture."""
    found = suggestions.match_text(matching_text(need))
    need.capabilities = [m.capability for m in found[: suggestions.DEMANDED_PER_NEED]]
    need.free_time_found = suggestions.any_free_time(found[: suggestions.DEMANDED_PER_NEED])


def matching_text(need: Need) -> str:
    """Return the words of the need the matcher reads: what, and with what material."""
    return "\n".join(part for part in (need.title, need.text, need.material) if part)


def create_need(user: User, project_id: Any, data: NeedInput) -> Need:
    """Store a new need of a project, written by a member or by a broker on its behalf."""
    write_transaction()
    project = db.session.get(Project, project_id) if isinstance(project_id, int) else None
    cleaned = _clean(data)
    member = project is not None and access.is_member(user, project.id)
    known = project is not None and (
        db.session.scalar(
            select(Project.id).where(Project.id == project.id, access.need_projects_filter(user))
        )
        is not None
    )
    if project is None or not (
        member or (known and access.serves_centre(user, cleaned["centre_id"]))
    ):
        raise ValidationError(_("Choose one of the projects in the list."), field="project_id")
    need = Need(
        project_id=project.id,
        created_by_id=user.id,
        state=NeedState.NEW.value,
        **cleaned,
    )
    db.session.add(need)
    _refresh_match(need)
    _event(need, user, EventKind.CREATED, to_state=NeedState.NEW.value)
    db.session.commit()
    return need


def update_need(user: User, need_id: int, data: NeedInput) -> Need:
    """Change a need's words while it is new or screened (its members only)."""
    write_transaction()
    need = get_need(user, need_id)
    if not access.can_edit_need(user, need):
        raise Conflict(_("Only a new or screened need can be changed, by its project."))
    cleaned = _clean(data)
    changed = sorted(k for k, v in cleaned.items() if getattr(need, k) != v)
    for key, value in cleaned.items():
        setattr(need, key, value)
    _refresh_match(need)
    _event(need, user, EventKind.EDITED, detail={"fields": changed})
    db.session.commit()
    return need


def get_need(user: User, need_id: int) -> Need:
    """Return the need, or NotFound when it does not exist or is not the user's to see."""
    need = db.session.get(Need, need_id)
    if need is None or not access.can_see_need(user, need):
        raise NotFound(_("No such need among those you can see."))
    return need


def list_needs(user: User, *, state: str | None = None, own: bool = False) -> list[Need]:
    """Return the needs the user may see, newest first; `own`: only its projects' needs."""
    query = select(Need).where(access.needs_filter(user)).order_by(Need.id.desc())
    if own:
        query = query.where(access.own_projects(user, Need.project_id))
    if state is not None:
        if state not in {s.value for s in NeedState}:
            raise ValidationError(_("Unknown state %(s)s.", s=state), field="state")
        query = query.where(Need.state == state)
    return list(db.session.scalars(query))


def _transition(need: Need, user: User | None, to_state: str, **values: Any) -> None:
    """Move the need, if TRANSITIONS allow it, and record who did it; uncommitted."""
    if to_state not in TRANSITIONS.get(need.state, ()):
        raise Conflict(
            _("A %(from)s need cannot become %(to)s.", **{"from": need.state, "to": to_state}),
            field="state",
        )
    _event(need, user, EventKind.STATE, from_state=need.state, to_state=to_state, **values)
    need.state = to_state


def move(user: User, need_id: int, to_state: Any, *, reason: Any = None, note: Any = "") -> Need:
    """Move a need to a state by hand (screen, serve, decline with a reason, reopen)."""
    write_transaction()
    need = get_need(user, need_id)
    if to_state not in {s.value for s in NeedState}:
        raise ValidationError(_("Unknown state %(s)s.", s=to_state), field="state")
    if not access.can_move_need(user, need, to_state):
        raise Forbidden(_("You may not move this need to %(s)s.", s=to_state), field="state")
    note = _text(note, "note", MAX_COMMENT)
    if to_state == NeedState.DECLINED.value:
        if reason not in {r.value for r in DeclineReason}:
            raise ValidationError(_("Say why the need is declined."), field="reason")
        _transition(need, user, to_state, body=note, detail={"reason": reason})
        need.decline_reason, need.decline_note = reason, note
    else:
        _transition(need, user, to_state, body=note)
        if to_state == NeedState.NEW.value:
            need.decline_reason, need.decline_note = None, ""
    db.session.commit()
    return need


def serve_booked(request_ids: set[int]) -> list[Need]:
    """Move to served, by the system, each requested need one of these requests was made from;
    in the caller's transaction (the approval that booked them). Return the needs served."""
    if not request_ids:
        return []
    served = []
    for draft in db.session.scalars(
        select(CampaignDraft)
        .where(CampaignDraft.request_id.in_(sorted(request_ids)))
        .order_by(CampaignDraft.id)
    ):
        need = draft.need
        if need.state == NeedState.REQUESTED:
            _transition(
                need, None, NeedState.SERVED.value, detail={"booked_request": draft.request_id}
            )
            served.append(need)
    return served


def comment(user: User, need_id: int, body: Any) -> NeedEvent:
    """Add a comment to the need's history."""
    write_transaction()
    need = get_need(user, need_id)
    if not access.can_comment_need(user, need):
        raise NotFound(_("No such need among those you can see."))
    text = _text(body, "body", MAX_COMMENT)
    if not text:
        raise ValidationError(_("Write the comment first."), field="body")
    event = _event(need, user, EventKind.COMMENT, body=text)
    db.session.commit()
    return event


# ---------------------------------------------------------------- campaign drafts


def create_draft(user: User, need_id: int, chosen: list[tuple[str, int]]) -> CampaignDraft:
    """Turn chosen (capability, unit id) suggestions into a campaign draft of one facility.

    Steps follow the need's own words: a capability whose matched word comes first in the text
    comes first (what to make before what to test), ties in the matcher's order. The need
    becomes matched when it was new or screened."""
    write_transaction()
    need = get_need(user, need_id)
    if not access.can_draft_for_need(user, need):
        raise NotFound(_("No such need among those you can see."))
    if need.state not in (NeedState.NEW, NeedState.SCREENED, NeedState.MATCHED):
        raise Conflict(_("A %(s)s need takes no new drafts.", s=need.state), field="units")
    chosen = list(dict.fromkeys(chosen))
    if not chosen:
        raise ValidationError(_("Choose at least one suggested unit."), field="units")
    request_service.check_step_count(len(chosen))
    units: dict[int, Equipment] = {}
    for capability, unit_id in chosen:
        unit = db.session.get(Equipment, unit_id)
        if unit is None or not unit.is_active or capability not in unit.capability_names:
            raise ValidationError(_("Choose units from the suggestions."), field="units")
        units[unit_id] = unit
    facilities = {u.facility_id for u in units.values()}
    if len(facilities) > 1:
        raise ValidationError(
            _(
                "A campaign runs in one facility: choose units of one facility, or make one "
                "draft per facility."
            ),
            field="units",
        )
    order = suggestions.step_order(matching_text(need), [c for c, _u in chosen])
    steps = [
        {"capability": capability, "unit_id": unit_id}
        for _position, (capability, unit_id) in sorted(
            zip(order, chosen, strict=True), key=lambda pair: pair[0]
        )
    ]
    draft = CampaignDraft(
        need=need, facility_id=facilities.pop(), created_by_id=user.id, steps=steps
    )
    db.session.add(draft)
    db.session.flush()
    _event(need, user, EventKind.DRAFT, detail={"draft": draft.id, "steps": len(steps)})
    if need.state != NeedState.MATCHED:
        _transition(need, user, NeedState.MATCHED.value)
    db.session.commit()
    return draft


def get_draft(user: User, need_id: int, draft_id: int) -> CampaignDraft:
    """Return the need's draft, or NotFound."""
    need = get_need(user, need_id)
    draft = db.session.get(CampaignDraft, draft_id)
    if draft is None or draft.need_id != need.id:
        raise NotFound(_("No such draft of this need."))
    return draft


def submit_draft(user: User, draft: CampaignDraft, **fields: Any) -> BookingRequest:
    """Send the draft as a request through the booking service, as the startup confirmed it.

    `fields` are create_request's: title, window, steps with their durations."""
    need = draft.need
    if not access.can_confirm_draft(user, need):
        raise Forbidden(_("Only the startup's members confirm and send its drafts."))
    if draft.submitted:
        raise Conflict(_("This draft was sent already."))
    created = request_service.create_request(user, need.project_id, **fields)
    write_transaction()
    draft = db.session.get(CampaignDraft, draft.id)  # type: ignore[assignment]
    need = draft.need
    draft.request_id = created.id
    _event(need, user, EventKind.REQUEST, detail={"draft": draft.id, "request": created.id})
    if need.state == NeedState.MATCHED:
        _transition(need, user, NeedState.REQUESTED.value)
    db.session.commit()
    return created
