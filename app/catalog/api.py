"""The public catalogue JSON API under /api/v1: facilities, equipment units, capabilities."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from app import access, dataversion, openapi
from app.accounts import security
from app.catalog import labels, matching, queries
from app.catalog.models import Direction, Equipment, Facility, FacilityKind, MaintenanceWindow
from app.dbtypes import utcnow

bp = Blueprint("catalog_api", __name__, url_prefix="/api/v1")


# ---------------------------------------------------------------- serialisers


def _facility_ref(facility: Facility) -> dict[str, Any]:
    return {"slug": facility.slug, "name_zh": facility.name_zh, "name_en": facility.name_en}


def facility_summary_json(facility: Facility) -> dict[str, Any]:
    """Return a facility as listed: where it is, what it does, how many units."""
    return {
        **_facility_ref(facility),
        "kind": facility.kind,
        "centre": {
            "slug": facility.centre.slug,
            "name_zh": facility.centre.name_zh,
            "name_en": facility.centre.name_en,
        },
        "city_zh": facility.city_zh,
        "city_en": facility.city_en,
        "district_zh": facility.district_zh,
        "district_en": facility.district_en,
        "directions": facility.direction_names,
        "unit_count": queries.active_unit_count(facility),
        "capabilities": queries.capabilities_of(facility),
        "active": facility.active,
    }


def _maintenance_json(window: MaintenanceWindow, *, with_reason: bool) -> dict[str, Any]:
    return {
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "reason_zh": window.reason_zh if with_reason else None,
        "reason_en": window.reason_en if with_reason else None,
    }


def equipment_json(unit: Equipment) -> dict[str, Any]:
    """Return an equipment unit with everything a request needs to know about it."""
    return {
        "slug": unit.slug,
        "name_zh": unit.name_zh,
        "name_en": unit.name_en,
        "facility": unit.facility.slug,
        "capabilities": unit.capability_names,
        "capacity": unit.capacity,
        "hourly_rate_cny": float(unit.hourly_rate_cny),
        "unattended_ok": unit.unattended_ok,
        "changeover_minutes": unit.changeover_minutes,
        "training_required": unit.training_required,
        "status": unit.status,
        "opening_hours": unit.opening_hours,
    }


def facility_json(facility: Facility) -> dict[str, Any]:
    """Return a facility with its hours, closures, contact and every unit (retired too)."""
    return {
        **facility_summary_json(facility),
        "address_zh": facility.address_zh,
        "address_en": facility.address_en,
        "host_institutions": [dict(host) for host in facility.host_institutions],
        "timezone": facility.timezone,
        "opening_hours": facility.opening_hours,
        "closures": [
            {
                "from": closure["from"],
                "to": closure["to"],
                "reason_zh": closure.get("reason_zh", ""),
                "reason_en": closure.get("reason_en", ""),
            }
            for closure in facility.closures
        ],
        "contact": {
            "name_zh": facility.contact_name_zh,
            "name_en": facility.contact_name_en,
            "email": facility.contact_email,
            "phone": facility.contact_phone,
        },
        "equipment": [equipment_json(unit) for unit in facility.equipment],
    }


# ---------------------------------------------------------------- routes


def _cached_json(key: Hashable, build: Callable[[], Any]) -> Response:
    """Answer JSON serialised once per catalogue version, with an ETag of its bytes."""

    def encode() -> tuple[bytes, str]:
        body = (current_app.json.dumps(build()) + "\n").encode()
        return body, hashlib.sha256(body).hexdigest()[:32]

    body, etag = dataversion.cache("catalogue-json").get_or_compute(
        dataversion.CATALOGUE, key, encode
    )
    response = current_app.response_class(body, mimetype="application/json")
    response.set_etag(etag)
    # Clients may keep a copy but must ask again; the answer is a cheap 304 while it holds.
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


@bp.get("/facilities")
def facilities() -> Response:
    wanted = queries.CatalogueFilter.from_args(request.args)
    return _cached_json(
        ("facilities", wanted),
        lambda: {
            "facilities": [facility_summary_json(f) for f in queries.search_facilities(wanted)]
        },
    )


@bp.get("/facilities/<slug>")
def facility(slug: str) -> Response:
    return _cached_json(("facility", slug), lambda: facility_json(queries.get_facility(slug)))


@bp.get("/equipment/<slug>")
def equipment(slug: str) -> Response:
    unit = queries.get_equipment(slug)
    with_reason = access.can_see_maintenance_reasons(security.request_user())
    response = jsonify(
        {
            **equipment_json(unit),
            "effective_opening_hours": unit.opening_hours or unit.facility.opening_hours,
            "timezone": unit.facility.timezone,
            "maintenance": [
                _maintenance_json(w, with_reason=with_reason)
                for w in queries.upcoming_maintenance(unit, utcnow())
            ],
        }
    )
    response.vary.update(("Cookie", "Authorization"))
    return response


@bp.get("/capabilities")
def capabilities() -> Response:
    return _cached_json(("capabilities",), _capabilities_json)


@bp.get("/capabilities/match")
def capability_match() -> Response:
    need = matching.read_need(request.args.get("q"))
    limit = matching.read_limit(request.args.get("limit"))
    return jsonify(
        {"matches": [match_json(m) for m in matching.current_matcher().match(need, limit)]}
    )


def match_json(match: matching.Match) -> dict[str, Any]:
    """Return one suggested capability: its score, the units offering it, and why."""
    return {
        "capability": match.capability,
        "score": match.score,
        "units": list(match.units),
        "why": list(match.why),
    }


def _capabilities_json() -> dict[str, Any]:
    named = labels.capability_names()
    listed = []
    for summary in queries.capability_summaries():
        capability = named.get(summary.name)
        listed.append(
            {
                "name": summary.name,
                "name_zh": capability.name_zh if capability else summary.name,
                "name_en": capability.name_en if capability else summary.name,
                "unit_count": summary.unit_count,
                "facilities": [_facility_ref(f) for f in summary.facilities],
            }
        )
    return {"capabilities": listed}


# ---------------------------------------------------------------- OpenAPI


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """Return a closed object schema whose every property is always present."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }


_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}
_SPAN = {
    "type": "array",
    "items": {"type": "string", "pattern": r"^\d\d:\d\d$"},
    "minItems": 2,
    "maxItems": 2,
}
_WEEKLY = {
    "type": "object",
    "description": 'Local wall-clock ranges per weekday, e.g. {"mon": [["08:30", "17:30"]]}; '
    "a missing day is closed.",
    "additionalProperties": False,
    "properties": {
        day: {"type": "array", "items": _SPAN}
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    },
}
_KIND = {"type": "string", "enum": [kind.value for kind in FacilityKind]}
_DIRECTION = {"type": "string", "enum": [direction.value for direction in Direction]}
_REF = _object({"slug": _STRING, "name_zh": _STRING, "name_en": _STRING})

SCHEMAS: dict[str, Any] = {
    "FacilityRef": _REF,
    "FacilitySummary": _object(
        {
            "slug": _STRING,
            "name_zh": _STRING,
            "name_en": _STRING,
            "kind": _KIND,
            "centre": _REF,
            "city_zh": _STRING,
            "city_en": _STRING,
            "district_zh": _STRING,
            "district_en": _STRING,
            "directions": {"type": "array", "items": _DIRECTION},
            "unit_count": {"type": "integer", "minimum": 0},
            "capabilities": _STRINGS,
            "active": {"type": "boolean"},
        }
    ),
    "Equipment": _object(
        {
            "slug": _STRING,
            "name_zh": _STRING,
            "name_en": _STRING,
            "facility": {**_STRING, "description": "the facility's slug"},
            "capabilities": _STRINGS,
            "capacity": {"type": "integer", "minimum": 1},
            "hourly_rate_cny": {"type": "number", "minimum": 0},
            "unattended_ok": {"type": "boolean"},
            "changeover_minutes": {"type": "integer", "minimum": 0},
            "training_required": {"type": "boolean"},
            "status": {"type": "string", "enum": ["active", "retired"]},
            "opening_hours": {
                "description": 'null: the facility\'s hours; "always": around the clock; '
                "else the unit's own weekly hours",
                "oneOf": [{"type": "null"}, {"const": "always"}, _WEEKLY],
            },
        }
    ),
}

_FACILITY_DETAIL_EXTRA = {
    "address_zh": _STRING,
    "address_en": _STRING,
    "host_institutions": {
        "type": "array",
        "items": _object({"name_zh": _STRING, "name_en": _STRING}),
    },
    "timezone": {**_STRING, "description": "IANA time zone of the hours and closures"},
    "opening_hours": _WEEKLY,
    "closures": {
        "type": "array",
        "items": _object(
            {
                "from": {"type": "string", "format": "date"},
                "to": {"type": "string", "format": "date"},
                "reason_zh": _STRING,
                "reason_en": _STRING,
            }
        ),
    },
    "contact": _object(
        {"name_zh": _STRING, "name_en": _STRING, "email": _STRING, "phone": _STRING}
    ),
    "equipment": {"type": "array", "items": {"$ref": "#/components/schemas/Equipment"}},
}
_summary = SCHEMAS["FacilitySummary"]
SCHEMAS["Facility"] = _object({**_summary["properties"], **_FACILITY_DETAIL_EXTRA})
SCHEMAS["EquipmentDetail"] = _object(
    {
        **SCHEMAS["Equipment"]["properties"],
        "effective_opening_hours": {
            "description": "the hours that apply: the unit's own, else the facility's",
            "oneOf": [{"const": "always"}, _WEEKLY],
        },
        "timezone": _STRING,
        "maintenance": {
            "type": "array",
            "items": _object(
                {
                    "start": {"type": "string", "format": "date-time"},
                    "end": {"type": "string", "format": "date-time"},
                    "reason_zh": {
                        "type": ["string", "null"],
                        "description": "why, in Chinese as its manager wrote it; empty when "
                        "written in English only; null unless signed in",
                    },
                    "reason_en": {
                        "type": ["string", "null"],
                        "description": "why, in English as its manager wrote it; empty when "
                        "written in Chinese only; null unless signed in",
                    },
                }
            ),
        },
    }
)
SCHEMAS["Capability"] = _object(
    {
        "name": {**_STRING, "description": "the slug a request step asks for"},
        "name_zh": _STRING,
        "name_en": _STRING,
        "unit_count": {"type": "integer", "minimum": 1},
        "facilities": {"type": "array", "items": {"$ref": "#/components/schemas/FacilityRef"}},
    }
)

SCHEMAS["CapabilityMatch"] = _object(
    {
        "capability": {**_STRING, "description": "the capability's slug"},
        "score": {
            "type": "number",
            "minimum": 0,
            "description": "how well it fits the need (BM25); only the order means something",
        },
        "units": {
            "type": "array",
            "items": _STRING,
            "description": "slugs of the active units offering it, the best fitting first",
        },
        "why": {
            "type": "array",
            "items": _STRING,
            "description": "the words of the need that matched it",
        },
    }
)


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _list_of(key: str, ref: str) -> dict[str, Any]:
    return _object({key: {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}}})


_SLUG_PARAMETER = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 64},
}

openapi.document(
    {
        "/facilities": {
            "get": {
                "summary": "Facilities of the catalogue, filtered",
                "description": "Active facilities matching every given filter. Public.",
                "parameters": [
                    {
                        "name": "kind",
                        "in": "query",
                        "schema": _KIND,
                        "description": "Only facilities of this kind",
                    },
                    {
                        "name": "direction",
                        "in": "query",
                        "schema": _DIRECTION,
                        "description": "Only facilities serving this industry direction",
                    },
                    {
                        "name": "city",
                        "in": "query",
                        "schema": {"type": "string", "maxLength": queries.MAX_TEXT},
                        "description": "Only facilities in this city, in English "
                        "(case-insensitive) or Chinese",
                    },
                    {
                        "name": "q",
                        "in": "query",
                        "schema": {"type": "string", "maxLength": queries.MAX_TEXT},
                        "description": "Free text matched against capabilities, facility and "
                        "equipment names and host institutions",
                    },
                ],
                "responses": {
                    "200": _json(
                        "The matching facilities", _list_of("facilities", "FacilitySummary")
                    ),
                    **openapi.problem_responses(400),
                },
            }
        },
        "/facilities/{slug}": {
            "get": {
                "summary": "One facility with its hours, closures and equipment",
                "parameters": [_SLUG_PARAMETER],
                "responses": {
                    "200": _json("The facility", {"$ref": "#/components/schemas/Facility"}),
                    **openapi.problem_responses(404),
                },
            }
        },
        "/equipment/{slug}": {
            "get": {
                "summary": "One equipment unit with its upcoming maintenance",
                "parameters": [_SLUG_PARAMETER],
                "responses": {
                    "200": _json(
                        "The equipment unit", {"$ref": "#/components/schemas/EquipmentDetail"}
                    ),
                    **openapi.problem_responses(404),
                },
            }
        },
        "/capabilities/match": {
            "get": {
                "summary": "Capabilities and units that fit a need described in words",
                "description": "Ranks the capabilities (and the active units offering them) "
                "for a need written in Chinese, English or both, best first, each with the "
                "words that matched. Public.",
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": matching.MAX_NEED,
                            "pattern": matching.NEED_PATTERN,
                        },
                        "description": "The need, in the founder's own words",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": matching.MAX_LIMIT,
                            "default": matching.DEFAULT_LIMIT,
                        },
                        "description": "At most this many capabilities",
                    },
                ],
                "responses": {
                    "200": _json(
                        "The fitting capabilities, best first",
                        _list_of("matches", "CapabilityMatch"),
                    ),
                    **openapi.problem_responses(400),
                },
            }
        },
        "/capabilities": {
            "get": {
                "summary": "Every capability with its active unit count and facilities",
                "responses": {
                    "200": _json("The capabilities", _list_of("capabilities", "Capability")),
                },
            }
        },
    },
    SCHEMAS,
)
