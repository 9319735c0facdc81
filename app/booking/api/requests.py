"""Requests and campaigns: ask for time, change or withdraw it, list what you may see."""

from __future__ import annotations

from app.accounts import security
from app.booking import requests as request_service
from app.booking.api import routing
from app.booking.api.schemas import (
    BookingRequest,
    RequestChange,
    RequestInput,
    RequestList,
    RequestQuery,
)
from app.errors import BadRequest


@routing.route(
    "/requests",
    "GET",
    summary="Requests you may see (your projects', and your facilities')",
    answer=RequestList,
    answer_description="Requests",
    query=RequestQuery,
    errors=(400,),
)
def requests_list(query: RequestQuery) -> RequestList:
    user = security.user()
    facility = (
        routing.facility(query.facility, field="facility", error=BadRequest)
        if query.facility
        else None
    )
    found = request_service.list_requests(
        user,
        project_id=query.project,
        facility_id=facility.id if facility else None,
        status=query.status,
    )
    return RequestList(requests=[BookingRequest.of(r) for r in found])


@routing.route(
    "/requests",
    "POST",
    summary="Ask for time: a request, or a campaign of several steps in one facility",
    answer=BookingRequest,
    status=201,
    answer_description="Created",
    body=RequestInput,
    errors=(400, 403, 422),
)
def requests_create(body: RequestInput) -> tuple[BookingRequest, dict[str, str]]:
    created = request_service.create_request(
        security.user(), body.project_id, **body.service_fields()
    )
    return BookingRequest.of(created, budgets=True), {"Location": f"/api/v1/requests/{created.id}"}


@routing.route(
    "/requests/<int:request_id>",
    "GET",
    summary="One request",
    answer=BookingRequest,
    answer_description="The request",
)
def requests_detail(request_id: int) -> BookingRequest:
    return BookingRequest.of(
        request_service.get_request(security.user(), request_id), budgets=True
    )


@routing.route(
    "/requests/<int:request_id>",
    "PATCH",
    summary="Change a pending or unplaced request (members); set its weight (managers)",
    answer=BookingRequest,
    answer_description="Changed",
    body=RequestChange,
    errors=(403, 409, 422),
)
def requests_update(request_id: int, body: RequestChange) -> BookingRequest:
    changed = request_service.update_request(security.user(), request_id, **body.service_fields())
    return BookingRequest.of(changed, budgets=True)


@routing.route(
    "/requests/<int:request_id>/withdraw",
    "POST",
    summary="Withdraw a request not yet booked",
    answer=BookingRequest,
    answer_description="Withdrawn",
    errors=(409,),
)
def requests_withdraw(request_id: int) -> BookingRequest:
    return BookingRequest.of(request_service.withdraw_request(security.user(), request_id))
