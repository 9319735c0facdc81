"""The reports JSON API under /api/v1/reports: the tables of the report pages, as data.

Managers read their facilities, administrators all; everyone else gets 404. The figures come
from the same `queries.load()` and `report.compute()` as the pages and the exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _

from app import dates, openapi
from app.accounts import security
from app.errors import NotFound
from app.reports import queries
from app.reports.report import TABLE_KEYS, Report, Table, compute

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")


def _report() -> Report:
    """Compute the report the query string asks for; 400 names a bad parameter."""
    timezone = current_app.config["DEFAULT_TIMEZONE"]
    scope = queries.read_scope(
        security.user(),
        request.args.to_dict(),
        today=datetime.now(ZoneInfo(timezone)).date(),
        default_timezone=timezone,
    )
    return compute(scope, queries.load(scope))


def table_json(table: Table) -> dict[str, Any]:
    """Return a table with each row as an object keyed by its column keys."""
    keys = [c.key for c in table.columns]
    return {
        "key": table.key,
        "title": table.title,
        "columns": [{"key": c.key, "title": c.title, "kind": c.kind} for c in table.columns],
        "rows": [dict(zip(keys, row, strict=True)) for row in table.rows],
    }


def _envelope(report: Report) -> dict[str, Any]:
    scope = report.scope
    return {
        "period": {
            "start": scope.period.first_day.isoformat(),
            "end": scope.period.last_day.isoformat(),
            "timezone": scope.period.timezone,
        },
        "facility": scope.facility.slug if scope.facility else None,
        "facilities": [f.slug for f in scope.facilities],
    }


@bp.get("")
def whole() -> Response:
    report = _report()
    return jsonify({**_envelope(report), "tables": [table_json(t) for t in report.tables]})


@bp.get("/<key>")
def one_table(key: str) -> Response:
    if key not in TABLE_KEYS:
        raise NotFound(_("No such report table."))
    report = _report()
    return jsonify({**_envelope(report), "table": table_json(report.table(key))})


# ---------------------------------------------------------------- OpenAPI

_CELL = {"type": ["string", "number", "null"]}
_TABLE = {
    "type": "object",
    "required": ["key", "title", "columns", "rows"],
    "properties": {
        "key": {"type": "string", "enum": list(TABLE_KEYS)},
        "title": {"type": "string"},
        "columns": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "title", "kind"],
                "properties": {
                    "key": {"type": "string"},
                    "title": {"type": "string"},
                    "kind": {
                        "type": "string",
                        "enum": ["text", "int", "hours", "percent", "number"],
                        "description": "percent cells are fractions (0.4 is 40 %)",
                    },
                },
            },
        },
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "description": "one cell per column, keyed by the column's key",
                "additionalProperties": _CELL,
            },
        },
    },
}
_ENVELOPE_PROPERTIES: dict[str, Any] = {
    "period": {
        "type": "object",
        "required": ["start", "end", "timezone"],
        "properties": {
            "start": {"type": "string", "format": "date"},
            "end": {"type": "string", "format": "date"},
            "timezone": {"type": "string"},
        },
    },
    "facility": {"type": ["string", "null"]},
    "facilities": {"type": "array", "items": {"type": "string"}},
}
_DAY = {"type": "string", "format": "date", "description": dates.openapi_description()}
_PARAMETERS = [
    {
        "name": "start",
        "in": "query",
        "required": False,
        "schema": _DAY,
        "description": "first day, YYYY-MM-DD (default: three weeks before this Monday)",
    },
    {
        "name": "end",
        "in": "query",
        "required": False,
        "schema": _DAY,
        "description": "last day, YYYY-MM-DD, inclusive (default: this Sunday); at most 366 days",
    },
    {
        "name": "facility",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "one facility's slug (default: every facility you may report on)",
    },
]


def _operation(summary: str, schema: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "summary": summary,
        "tags": ["reports"],
        "security": [{"bearer": []}],
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "The report",
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                },
            },
            **openapi.problem_responses(400, 401, 404),
        },
    }


openapi.document(
    {
        "/reports": {
            "get": _operation(
                "Every report table over a period: utilisation per facility, unit, capability "
                "and week; demand; solver vs first come first served; waiting time; no-shows "
                "and cancellations (managers: their facilities; administrators: all)",
                "Report",
                _PARAMETERS,
            )
        },
        "/reports/{table}": {
            "get": _operation(
                "One report table over a period",
                "ReportTable",
                [
                    {
                        "name": "table",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": list(TABLE_KEYS)},
                    },
                    *_PARAMETERS,
                ],
            )
        },
    },
    {
        "Report": {
            "type": "object",
            "required": ["period", "facility", "facilities", "tables"],
            "properties": {
                **_ENVELOPE_PROPERTIES,
                "tables": {"type": "array", "items": _TABLE},
            },
        },
        "ReportTable": {
            "type": "object",
            "required": ["period", "facility", "facilities", "table"],
            "properties": {**_ENVELOPE_PROPERTIES, "table": _TABLE},
        },
    },
)
