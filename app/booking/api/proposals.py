"""Proposals: read one with its difference to what is published, approve or discard it."""

from __future__ import annotations

from app.accounts import security
from app.booking import proposals as proposal_service
from app.booking.api import routing
from app.booking.api.schemas import Booking, Proposal, Published


@routing.route(
    "/proposals/<int:proposal_id>",
    "GET",
    summary="A proposal with its metrics and its difference to the published schedule",
    answer=Proposal,
    answer_description="The proposal",
)
def proposals_detail(proposal_id: int) -> Proposal:
    return Proposal.of(proposal_service.get_proposal(security.user(), proposal_id))


@routing.route(
    "/proposals/<int:proposal_id>/approve",
    "POST",
    summary="Publish a draft proposal: all its bookings or none (409 names the conflicts)",
    answer=Published,
    answer_description="Published",
    errors=(409,),
)
def proposals_approve(proposal_id: int) -> Published:
    published = proposal_service.approve_proposal(security.user(), proposal_id)
    return Published(proposal=proposal_id, bookings=[Booking.of(b) for b in published])


@routing.route(
    "/proposals/<int:proposal_id>/discard",
    "POST",
    summary="Discard a draft proposal",
    answer=Proposal,
    answer_description="Discarded",
    errors=(409,),
)
def proposals_discard(proposal_id: int) -> Proposal:
    return Proposal.of(proposal_service.discard_proposal(security.user(), proposal_id))
