"""Proposals: store a solve's plan as a draft, compare it with what is published, approve it
atomically, discard or expire it."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import select

import scheduler
from app import access
from app.billing import budgets
from app.billing.money import currency
from app.booking import audit, results, signals
from app.booking.conflicts import (
    conflict_error,
    describe,
    find_lane,
    lock_units,
    overlap_guard,
)
from app.booking.metrics import plan_metrics
from app.booking.models import (
    Booking,
    BookingRequest,
    BookingStatus,
    Proposal,
    ProposalItem,
    ProposalStatus,
    ProposalUnplaced,
    RequestStatus,
    RunStatus,
    SolveRun,
)
from app.booking.problems import ProblemIndex
from app.booking.requests import OPEN_STATUSES
from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import Conflict, NotFound
from app.extensions import db
from app.i18n import local_date
from app.needs import services as needs

if TYPE_CHECKING:
    from app.accounts.models import User

log = logging.getLogger(__name__)

DRAFT_LIFETIME = timedelta(days=7)


def store_proposal(run: SolveRun, result: scheduler.Result, index: ProblemIndex) -> Proposal:
    """Turn a solver result into a draft proposal; placed requests become proposed, the
    others unplaced with the solver's reason. Older drafts of the facility expire.

    Steps are stored at the Result's own times (`results.read_result`); requests that changed
    since the solve (withdrawn, cancelled) are left out."""
    _expire_drafts(run.facility_id)
    proposal = Proposal(facility_id=run.facility_id, run=run, status=ProposalStatus.DRAFT.value)
    db.session.add(proposal)
    for req in index.requests.values():
        db.session.refresh(req)
    plan = results.read_result(result, index)
    accepted = _add_items(proposal, plan)
    _add_unplaced(proposal, plan)
    for req in accepted:
        if req.status != RequestStatus.BOOKED.value:
            req.status = RequestStatus.PROPOSED.value
            req.unplaced_reason = ""
            req.unplaced_reason_detail = None
    db.session.flush()
    proposal.metrics = _proposal_metrics(proposal, result, index)
    run.status = RunStatus.SUCCEEDED.value
    run.finished_at = utcnow()
    audit.record(
        None,
        "solve.finish",
        "solve_run",
        run.id,
        facility_id=run.facility_id,
        proposal=proposal.id,
        accepted_weight=proposal.metrics["accepted_weight"],
        unplaced=len(proposal.unplaced),
    )
    return proposal


def _expire_drafts(facility_id: int) -> None:
    for stale in db.session.scalars(
        select(Proposal).where(
            Proposal.facility_id == facility_id,
            Proposal.status == ProposalStatus.DRAFT.value,
        )
    ):
        stale.status = ProposalStatus.EXPIRED.value


def _still_open(req: BookingRequest) -> bool:
    """Tell whether a request the solve saw may still be planned (it was not withdrawn or
    cancelled meanwhile)."""
    return req.status in {s.value for s in OPEN_STATUSES} or req.status == "booked"


def _add_items(proposal: Proposal, plan: results.Plan) -> set[BookingRequest]:
    """Add the plan's placed steps to the proposal; return the requests it places anew."""
    accepted: set[BookingRequest] = set()
    for placed in plan.placed:
        if not placed.pinned and not _still_open(placed.step.request):
            continue
        proposal.items.append(
            ProposalItem(
                request_id=placed.request_id,
                step_id=placed.step.id,
                equipment_id=placed.unit.id,
                start=placed.start,
                end=placed.end,
                pinned=placed.pinned,
            )
        )
        if not placed.pinned:
            accepted.add(placed.step.request)
    return accepted


def _add_unplaced(proposal: Proposal, plan: results.Plan) -> None:
    """Add the plan's unplaced requests to the proposal, and give the requests the reason."""
    for unplaced in plan.unplaced:
        req = unplaced.request
        if unplaced.seen and not _still_open(req):
            continue
        proposal.unplaced.append(
            ProposalUnplaced(
                request_id=req.id,
                reason=unplaced.reason,
                kind=unplaced.kind,
                reason_detail=unplaced.detail,
            )
        )
        if not unplaced.seen or req.status != RequestStatus.BOOKED.value:
            req.status = RequestStatus.UNPLACED.value
            req.unplaced_reason = unplaced.reason
            req.unplaced_reason_detail = unplaced.detail


def _proposal_metrics(
    proposal: Proposal, result: scheduler.Result, index: ProblemIndex
) -> dict[str, Any]:
    """Return what the proposal page shows of a plan: its measures beside first come, first
    served, the solver's status and bounds, and how it changes what is published."""
    assert index.problem is not None
    mine = plan_metrics(index.problem, result, index)
    fcfs = plan_metrics(index.problem, scheduler.first_come_first_served(index.problem), index)
    diff = diff_against_published(proposal)
    return {
        **mine,
        "status": result.status.value,
        "objective": result.objective,
        "bound": result.bound,
        "fcfs": fcfs,
        "ratio": (
            round(mine["accepted_weight"] / fcfs["accepted_weight"], 3)
            if fcfs["accepted_weight"]
            else None
        ),
        "added": len(diff["added"]),
        "moved": len(diff["moved"]),
        "dropped": len(diff["dropped"]),
        # What the page says of the solve's inputs beyond the problem file: each capped
        # project's budget and how it was reached, and the weights no-shows lowered.
        "budgets": [b.as_json() for _pid, b in sorted(index.budgets.items())],
        "no_show_weights": [
            {
                "project_id": pid,
                "no_shows": index.no_shows[pid],
                "factor": index.weight_factors[pid],
                "percent": index.no_show_percent,
            }
            for pid in sorted(index.weight_factors)
        ],
    }


def get_proposal(user: User, proposal_id: int) -> Proposal:
    """Return the proposal, or NotFound unless the user manages its facility."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or not access.can_see_proposal(user, proposal):
        raise NotFound(_("No such proposal among your facilities."))
    return proposal


def _published_by_step(step_ids: set[int]) -> dict[int, Booking]:
    if not step_ids:
        return {}
    return {
        b.step_id: b
        for b in db.session.scalars(
            select(Booking).where(
                Booking.step_id.in_(step_ids), Booking.status == BookingStatus.ACTIVE.value
            )
        )
    }


def diff_against_published(proposal: Proposal) -> dict[str, list[dict[str, Any]]]:
    """Compare the proposal with what is published: new bookings, released bookings it moves,
    and released bookings it no longer places."""
    free_items = [i for i in proposal.items if not i.pinned]
    placed_steps = {i.step_id for i in proposal.items}
    published = _published_by_step({i.step_id for i in free_items})
    added: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    for item in free_items:
        booking = published.get(item.step_id)
        entry = {
            "title": f"#{item.request_id} {item.request.title}",
            "request_id": item.request_id,
            "step_id": item.step_id,
            "item": item,
        }
        if booking is None:
            added.append(entry)
        elif (booking.equipment_id, booking.start, booking.end) != (
            item.equipment_id,
            item.start,
            item.end,
        ):
            moved.append({**entry, "booking": booking})
    unplaced_requests = {u.request_id for u in proposal.unplaced}
    dropped = [
        {
            "title": f"#{b.request_id} {b.request.title}",
            "request_id": b.request_id,
            "step_id": b.step_id,
            "booking": b,
        }
        for b in db.session.scalars(
            select(Booking).where(
                Booking.request_id.in_(unplaced_requests or {-1}),
                Booking.status == BookingStatus.ACTIVE.value,
                Booking.pinned.is_(False),
            )
        )
        if b.step_id not in placed_steps
    ]
    return {"added": added, "moved": moved, "dropped": dropped}


def approve_proposal(user: User | None, proposal_id: int) -> list[Booking]:
    """Publish a draft proposal: every booking is created (or moved) or none is.

    A booking or maintenance made since the solve that collides with the plan is a 409 naming
    it, and nothing is written; the approved requests become booked, their bookings pinned.
    `user` None is the scheduler publishing for a facility that opted in (auto-publish)."""
    write_transaction()
    proposal = _draft_to_decide(user, proposal_id)
    now = utcnow()
    free_items = [i for i in proposal.items if not i.pinned]
    if any(i.start < now for i in free_items):
        raise Conflict(_("This proposal starts in the past; nothing was published. Solve again."))
    diff = diff_against_published(proposal)
    moving = {d["booking"].step_id: d["booking"] for d in diff["moved"]}
    unchanged = _published_by_step({i.step_id for i in free_items})
    _check_requests_unchanged(free_items, unchanged)
    lock_units({i.equipment_id for i in free_items} | {b.equipment_id for b in moving.values()})
    dropped = [d["booking"] for d in diff["dropped"]]
    with overlap_guard():
        # Lift the moving and the dropped bookings out of the schedule first, so that neither
        # the checks nor the exclusion constraint see them at their old places (the plan may
        # give a dropped booking's time to another request); nobody else sees this state.
        for booking in [*moving.values(), *dropped]:
            booking.status = BookingStatus.CANCELLED.value
        db.session.flush()
        published = _publish_items(proposal, free_items, moving, unchanged, now)
        _check_budgets(proposal, published)
        _settle_requests(free_items, dropped, now)
        # A need whose request is now booked is served (issue 16), in this same commit.
        needs.serve_booked({i.request_id for i in free_items})
        proposal.status = ProposalStatus.APPROVED.value
        proposal.decided_by_id = user.id if user is not None else None
        proposal.decided_at = now
        audit.record(
            user,
            "proposal.approve",
            "proposal",
            proposal.id,
            facility_id=proposal.facility_id,
            automatic=user is None,
            published=len(published),
            moved=len(moving),
            dropped=[b.id for b in dropped],
        )
        db.session.commit()
    signals.proposal_approved.send(proposal, bookings=published, moved=list(moving.values()))
    for booking in dropped:
        signals.booking_cancelled.send(booking, by=user, proposal=proposal)
    return published


def _draft_to_decide(user: User | None, proposal_id: int) -> Proposal:
    """Return the draft the user (None: the scheduler) decides; 404 or 409 otherwise."""
    if user is None:
        found = db.session.get(Proposal, proposal_id)
        if found is None:
            raise NotFound(_("No such proposal."))
        proposal = found
    else:
        proposal = get_proposal(user, proposal_id)
    if proposal.status != ProposalStatus.DRAFT.value:
        raise Conflict(_("This proposal is %(s)s, not a draft.", s=proposal.status))
    return proposal


def _check_requests_unchanged(
    free_items: list[ProposalItem], unchanged: dict[int, Booking]
) -> None:
    """Refuse a plan whose requests changed since the solve (withdrawn, booked meanwhile)."""
    for item in free_items:
        expected = (
            RequestStatus.BOOKED.value
            if item.step_id in unchanged
            else RequestStatus.PROPOSED.value
        )
        if item.request.status != expected:
            raise Conflict(
                _(
                    "Request #%(id)d changed since the solve (it is now %(s)s); "
                    "nothing was published. Solve again.",
                    id=item.request_id,
                    s=item.request.status,
                ),
                request=item.request_id,
            )


def _publish_items(
    proposal: Proposal,
    free_items: list[ProposalItem],
    moving: dict[int, Booking],
    unchanged: dict[int, Booking],
    now: datetime,
) -> list[Booking]:
    """Create or move the booking of each free item, all pinned; if any collides, roll back
    and raise the 409 that names every collision."""
    published: list[Booking] = []
    conflicts: list[dict[str, Any]] = []
    first_error: Conflict | None = None
    for item in free_items:
        if item.step_id in unchanged and item.step_id not in moving:
            unchanged[item.step_id].pinned = True
            continue
        lane, blocking, maintenance = find_lane(
            item.equipment, item.start, item.end, item.request.project_id
        )
        if lane is None:
            error = conflict_error(item.equipment, blocking, maintenance)
            first_error = first_error or error
            conflicts.extend(describe(b) for b in blocking)
            continue
        booking = moving.get(item.step_id)
        if booking is None:
            booking = Booking(request_id=item.request_id, step_id=item.step_id, source="proposal")
            db.session.add(booking)
        else:
            booking.status = BookingStatus.ACTIVE.value
            booking.sequence += 1
            booking.updated_at = now
        booking.equipment_id = item.equipment_id
        booking.lane = lane
        booking.start, booking.end = item.start, item.end
        booking.proposal_id = proposal.id
        booking.pinned = True
        booking.released_by_id = None
        booking.release_reason = ""
        db.session.flush()
        published.append(booking)
    if first_error is not None:
        db.session.rollback()
        raise Conflict(
            _(
                "Bookings or maintenance made since the solve collide with this proposal; "
                "nothing was published. Solve again. %(first)s",
                first=first_error.detail,
            ),
            conflicts=conflicts,
            maintenance=first_error.extra.get("maintenance", []),
        )
    return published


def _check_budgets(proposal: Proposal, published: list[Booking]) -> None:
    """Refuse, rolling back, a plan that its projects' spending since the solve made too dear
    (rules in app.billing.budgets)."""
    over = budgets.approval_over_budget(proposal.facility, published)
    if not over:
        return
    db.session.rollback()
    first = over[0]
    raise Conflict(
        _(
            "Project %(project)s has committed more since the solve: this plan's bookings cost "
            "%(cost)s, and its spending cap for %(first)s to %(last)s now leaves %(left)s. "
            "Nothing was published. Solve again.",
            project=first["project"],
            cost=currency(first["cost_fen"]),
            first=local_date(date.fromisoformat(first["period_start"])),
            last=local_date(date.fromisoformat(first["period_end"])),
            left=currency(first["remaining_fen"]),
        ),
        budgets=over,
    )


def _settle_requests(
    free_items: list[ProposalItem], dropped: list[Booking], now: datetime
) -> None:
    """Cancel the bookings the plan drops and mark the requests booked or, with nothing left,
    cancelled."""
    for booking in dropped:
        booking.cancelled_at = now
        booking.sequence += 1
        booking.updated_at = now
    for item in free_items:
        item.request.status = RequestStatus.BOOKED.value
    for booking in dropped:
        if all(b.status == BookingStatus.CANCELLED.value for b in booking.request.bookings):
            booking.request.status = RequestStatus.CANCELLED.value


def _return_to_pending(proposal: Proposal) -> None:
    for item in proposal.items:
        if not item.pinned and item.request.status == RequestStatus.PROPOSED.value:
            item.request.status = RequestStatus.PENDING.value


def discard_proposal(user: User, proposal_id: int) -> Proposal:
    """Throw a draft proposal away; its proposed requests are pending again."""
    write_transaction()
    proposal = get_proposal(user, proposal_id)
    if proposal.status != ProposalStatus.DRAFT.value:
        raise Conflict(_("This proposal is %(s)s, not a draft.", s=proposal.status))
    proposal.status = ProposalStatus.DISCARDED.value
    proposal.decided_by_id = user.id
    proposal.decided_at = utcnow()
    _return_to_pending(proposal)
    audit.record(
        user, "proposal.discard", "proposal", proposal.id, facility_id=proposal.facility_id
    )
    db.session.commit()
    return proposal


def expire_stale_proposals(now: datetime) -> int:
    """Expire drafts older than a week or whose plan has begun; their requests are pending."""
    write_transaction()
    drafts = list(
        db.session.scalars(select(Proposal).where(Proposal.status == ProposalStatus.DRAFT.value))
    )
    expired = 0
    for proposal in drafts:
        started = any(i.start < now for i in proposal.items if not i.pinned)
        if started or proposal.created_at < now - DRAFT_LIFETIME:
            proposal.status = ProposalStatus.EXPIRED.value
            _return_to_pending(proposal)
            audit.record(
                None, "proposal.expire", "proposal", proposal.id, facility_id=proposal.facility_id
            )
            expired += 1
    db.session.commit()
    return expired
