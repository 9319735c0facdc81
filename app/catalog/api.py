"""The public catalogue JSON API under /api/v1: facilities, equipment units, capabilities.

Each operation is declared with `openapi.route`; its query and answer schemas are in
`app.catalog.apischemas`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import BaseModel

from app import access, dataversion, openapi
from app.accounts import security
from app.catalog import matching, queries
from app.catalog.apischemas import Capability as CapabilityAnswer
from app.catalog.apischemas import (
    CapabilityList,
    CapabilityMatch,
    CapabilityMatches,
    EquipmentDetail,
    Facility,
    FacilityList,
    FacilityQuery,
    FacilitySummary,
    MatchQuery,
    UpcomingMaintenance,
)
from app.catalog.apischemas import Equipment as EquipmentAnswer
from app.dbtypes import utcnow

bp = Blueprint("catalog_api", __name__, url_prefix="/api/v1")

# A slug as the catalogue stores it.
_SLUG = {"slug": {"type": "string", "maxLength": 64}}


def _route(rule: str, **declared: Any) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Declare a catalogue operation: public, read only."""
    return openapi.route(bp, rule, "GET", secured=False, **declared)


def _cached_json(key: Hashable, build: Callable[[], BaseModel]) -> Response:
    """Answer JSON serialised once per catalogue version, with an ETag of its bytes."""

    def encode() -> tuple[bytes, str]:
        body = (current_app.json.dumps(openapi.dump(build())) + "\n").encode()
        return body, hashlib.sha256(body).hexdigest()[:32]

    body, etag = dataversion.cache("catalogue-json").get_or_compute(
        dataversion.CATALOGUE, key, encode
    )
    response = current_app.response_class(body, mimetype="application/json")
    response.set_etag(etag)
    # Clients may keep a copy but must ask again; the answer is a cheap 304 while it holds.
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


@_route(
    "/facilities",
    summary="Facilities of the catalogue, filtered",
    description="Active facilities matching every given filter. Public.",
    answer=FacilityList,
    answer_description="The matching facilities",
    query=FacilityQuery,
    errors=(400,),
)
def facilities(query: FacilityQuery) -> Response:
    wanted = query.catalogue_filter()
    return _cached_json(
        ("facilities", wanted),
        lambda: FacilityList(
            facilities=[FacilitySummary.of(f) for f in queries.search_facilities(wanted)]
        ),
    )


@_route(
    "/facilities/<slug>",
    summary="One facility with its hours, closures and equipment",
    answer=Facility,
    answer_description="The facility",
    errors=(404,),
    path_parameters=_SLUG,
)
def facility(slug: str) -> Response:
    return _cached_json(("facility", slug), lambda: Facility.of(queries.get_facility(slug)))


@_route(
    "/equipment/<slug>",
    summary="One equipment unit with its upcoming maintenance",
    answer=EquipmentDetail,
    answer_description="The equipment unit",
    errors=(404,),
    path_parameters=_SLUG,
)
def equipment(slug: str) -> Response:
    unit = queries.get_equipment(slug)
    with_reason = access.can_see_maintenance_reasons(security.request_user())
    answer = EquipmentDetail(
        **EquipmentAnswer.fields(unit),
        effective_opening_hours=unit.opening_hours or unit.facility.opening_hours,
        timezone=unit.facility.timezone,
        maintenance=[
            UpcomingMaintenance.of(w, with_reason=with_reason)
            for w in queries.upcoming_maintenance(unit, utcnow())
        ],
    )
    response = jsonify(openapi.dump(answer))
    response.vary.update(("Cookie", "Authorization"))
    return response


@_route(
    "/capabilities",
    summary="Every capability with its active unit count and facilities",
    answer=CapabilityList,
    answer_description="The capabilities",
)
def capabilities() -> Response:
    return _cached_json(
        ("capabilities",), lambda: CapabilityList(capabilities=CapabilityAnswer.all())
    )


@_route(
    "/capabilities/match",
    summary="Capabilities and units that fit a need described in words",
    description="Ranks the capabilities (and the active units offering them) for a need "
    "written in Chinese, English or both, best first, each with the words that matched. "
    "Public.",
    answer=CapabilityMatches,
    answer_description="The fitting capabilities, best first",
    query=MatchQuery,
    errors=(400,),
)
def capability_match(query: MatchQuery) -> CapabilityMatches:
    found = matching.current_matcher().match(query.q, query.limit)
    return CapabilityMatches(matches=[CapabilityMatch.of(m) for m in found])
