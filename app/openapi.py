"""The OpenAPI document, assembled from what each API module declares."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from app.database import MAX_INTEGER, MIN_INTEGER

_PATHS: dict[str, dict[str, Any]] = {}
_SCHEMAS: dict[str, Any] = {}

PROBLEM = {
    "type": "object",
    "required": ["title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "the offending field or parameter"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def problem_responses(*codes: int) -> dict[str, Any]:
    """Return response entries for the given error codes, all problem+json bodies."""
    return {
        str(code): {
            "description": _DESCRIPTIONS.get(code, "Error"),
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for code in codes
    }


_DESCRIPTIONS = {
    400: "Bad request (a parameter is invalid; `field` names it)",
    401: "Not authenticated",
    403: "Not yours to set (`field` names it)",
    404: "Not found, or not yours",
    409: "Conflict with the current state",
    422: "Invalid body (`field` and `errors` name the fields)",
    429: "Too many requests (`Retry-After` says when to retry)",
    503: "The database is unavailable, read-only or full; retry later",
}


def document(paths: dict[str, dict[str, Any]], schemas: dict[str, Any] | None = None) -> None:
    """Declare paths (and component schemas) of an API module."""
    for path, operations in paths.items():
        _PATHS.setdefault(path, {}).update(operations)
    _SCHEMAS.update(schemas or {})


def _with_common_problems(operations: dict[str, Any]) -> dict[str, Any]:
    """Add the answers any operation can give: 400 (an unknown query parameter, or a path or
    parameter with a character no database stores: NUL, a lone surrogate), 429 (every API
    route is rate limited), 503 (the database is unavailable), and 422 for a body that is not
    the declared one."""
    completed = {}
    for method, operation in operations.items():
        if not isinstance(operation, dict) or "responses" not in operation:
            completed[method] = operation
            continue
        codes = [400, 429, 503] + ([422] if "requestBody" in operation else [])
        extra = {
            code: entry
            for code, entry in problem_responses(*codes).items()
            if code not in operation["responses"]
        }
        completed[method] = {**operation, "responses": {**operation["responses"], **extra}}
    return completed


@cache
def _query_parameters() -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """Map (path shape, method) to its declared query parameters and their schemas."""
    declared = {}
    for path, operations in build()["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict):
                declared[(_PARAMETER.sub("{}", path), method.upper())] = {
                    p["name"]: p.get("schema", {})
                    for p in operation.get("parameters", [])
                    if p["in"] == "query"
                }
    return declared


def allows_empty(schema: dict[str, Any]) -> bool:
    """Tell whether an empty value fits a parameter's schema: a plain string only."""
    constrained = {"format", "enum", "pattern", "minLength", "const"} & schema.keys()
    return schema.get("type", "string") == "string" and not constrained


_PARAMETER = re.compile(r"\{[^}]*\}|<[^>]*>")


def declared_query_parameters(rule: str, method: str) -> dict[str, dict[str, Any]] | None:
    """Return the query parameters (and schemas) declared for a URL rule of the API, None if
    the operation is not in the document."""
    shape = _PARAMETER.sub("{}", rule.removeprefix("/api/v1"))
    return _query_parameters().get((shape, "GET" if method == "HEAD" else method))


def _bounded_integers(node: Any) -> Any:
    """Give every integer without bounds the database's: values beyond them are refused."""
    if isinstance(node, list):
        return [_bounded_integers(item) for item in node]
    if not isinstance(node, dict):
        return node
    bounded = {key: _bounded_integers(value) for key, value in node.items()}
    kind = node.get("type")
    if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
        bounded.setdefault("minimum", MIN_INTEGER)
        bounded.setdefault("maximum", MAX_INTEGER)
    return bounded


def build() -> dict[str, Any]:
    """Return the whole OpenAPI 3.1 document."""
    return _bounded_integers(_document())


def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pilotslot API",
            "version": "1",
            "description": (
                "Catalogue, booking requests, proposals and bookings of Pilotslot. "
                "Authenticate with a personal access token from your account page: "
                "`Authorization: Bearer <token>`. Errors are RFC 9457 problem bodies."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {path: _with_common_problems(ops) for path, ops in sorted(_PATHS.items())},
        "components": {
            "schemas": {"Problem": PROBLEM, **_SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
