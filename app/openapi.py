"""The API's operations and their OpenAPI document, generated from the schemas that also read
the bodies and write the answers.

Each API route is declared with `route()`: its body, query and answer schemas (pydantic
models) validate what comes in, serialise what goes out, and are what `build()` writes into
the document. Nothing in the document is written by hand."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, wraps
from typing import Annotated, Any

import pydantic
from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import PydanticUndefined, core_schema

from app.apitypes import Body, Query, refusal
from app.database import MAX_INTEGER, MIN_INTEGER
from app.errors import BadRequest

REF = "#/components/schemas/{model}"

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


class Problem(BaseModel):
    """An RFC 9457 problem body."""

    model_config = pydantic.ConfigDict(extra="allow")

    type: str = ""
    title: str
    status: int
    detail: str
    field: str = pydantic.Field("", description="the offending field or parameter")
    errors: dict[str, str] = {}


@dataclass(frozen=True)
class Operation:
    """One method on one path of the API, as declared by its route."""

    path: str
    method: str
    summary: str
    answer: type[BaseModel] | dict[str, Any] | None
    status: int
    answer_description: str
    body: type[Body] | None
    query: type[Query] | None
    errors: tuple[int, ...]
    secured: bool
    tags: tuple[str, ...]
    description: str | None
    path_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)


_OPERATIONS: list[Operation] = []


# Flask's <int:request_id> is the document's {id}; <slug> stays {slug}.
_RULE_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _document_path(rule: str) -> tuple[str, dict[str, dict[str, Any]]]:
    parameters: dict[str, dict[str, Any]] = {}

    def rename(match: re.Match[str]) -> str:
        name = "id" if match[1] == "int" else match[2]
        parameters[name] = {"type": "integer" if match[1] == "int" else "string"}
        return "{" + name + "}"

    return _RULE_PARAMETER.sub(rename, rule), parameters


AreaRoute = Callable[..., Callable[[Callable[..., Any]], Callable[..., Response]]]


def area_router(bp: Blueprint, tag: str) -> AreaRoute:
    """Return the `route` of one API area: its blueprint and tag, authenticated, with 404
    among its errors (what the caller may not see is not found)."""

    def area_route(
        rule: str, method: str, *, errors: tuple[int, ...] = (), **declared: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
        return route(bp, rule, method, errors=(404, *errors), tags=(tag,), **declared)

    return area_route


def route(
    bp: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    answer: type[BaseModel] | dict[str, Any] | None = None,
    status: int = 200,
    answer_description: str = "",
    body: type[Body] | None = None,
    query: type[Query] | None = None,
    errors: tuple[int, ...] = (),
    secured: bool = True,
    tags: tuple[str, ...] = (),
    description: str | None = None,
    path_parameters: dict[str, dict[str, Any]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Declare an API operation and register its handler on the blueprint.

    The handler gets the path's values, `body=` (a `body` model) and `query=` (a `query`
    model) when declared; an operation without a body schema takes none (an empty object at
    most). It returns an `answer` model (sent with `status`), a (model, headers) pair, or a
    ready Response."""
    path, parameters = _document_path((bp.url_prefix or "") + rule)
    operation = Operation(
        path=path.removeprefix("/api/v1"),
        method=method.lower(),
        summary=summary,
        answer=answer,
        status=status,
        answer_description=answer_description or summary,
        body=body,
        query=query,
        errors=errors,
        secured=secured,
        tags=tags,
        description=description,
        path_parameters={**parameters, **(path_parameters or {})},
    )
    _OPERATIONS.append(operation)

    def register(view: Callable[..., Any]) -> Callable[..., Response]:
        @wraps(view)
        def handle(**values: Any) -> Response:
            if secured:
                # Who asks comes first: an anonymous caller learns nothing of the schemas.
                from app.accounts.security import user

                user()
            if query is not None:
                values["query"] = _read(query, request.args.to_dict(), in_query=True)
            if body is not None:
                values["body"] = _read(body, _json_body())
            elif method != "GET":
                _read(Body, _json_body())
            return _respond(view(**values), status)

        bp.add_url_rule(rule, view_func=handle, methods=[method])
        return handle

    return register


def _json_body() -> Any:
    """Return the JSON body (an empty object when none was sent)."""
    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest(_("The body is not valid JSON."), field="body")
    return data


def _read(model: type[BaseModel], data: Any, *, in_query: bool = False) -> Any:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as error:
        raise refusal(error, in_query=in_query) from None


def dump(answer: BaseModel) -> Any:
    """Return an answer as JSON data: the fields it was given (optional parts left out)."""
    return answer.model_dump(mode="json", exclude_unset=True)


def _respond(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    headers: dict[str, str] = {}
    if isinstance(result, tuple):
        result, headers = result
    response = jsonify(dump(result))
    response.status_code = status
    response.headers.update(headers)
    return response


# ---------------------------------------------------------------- the document


class _Schemas(GenerateJsonSchema):
    """JSON Schema 2020-12 as OpenAPI 3.1 reads it: no generated titles, and an optional value
    as one type list (`["integer", "null"]`) that keeps its bounds beside it."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        # An absent optional field is left out, not null: no default to state.
        if schema.get("default", PydanticUndefined) is None:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        if isinstance(inner.get("type"), str) and "$ref" not in inner:
            return {**inner, "type": [inner["type"], "null"]}
        return super().nullable_schema(schema)


def problem_responses(*codes: int) -> dict[str, Any]:
    """Return response entries for the given error codes, all problem+json bodies."""
    return {
        str(code): {
            "description": _DESCRIPTIONS.get(code, "Error"),
            "content": {
                "application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}
            },
        }
        for code in codes
    }


def _untitled(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    schema.pop("title", None)
    return schema


@cache
def _components() -> tuple[dict[str, Any], dict[tuple[type[BaseModel], str], Any]]:
    """Return every schema the operations name, and how each operation refers to its own."""
    models: list[tuple[type[BaseModel], Any]] = [(Problem, "serialization")]
    for op in _OPERATIONS:
        if op.body is not None:
            models.append((op.body, "validation"))
        if isinstance(op.answer, type):
            models.append((op.answer, "serialization"))
    refs, definitions = models_json_schema(
        list(dict.fromkeys(models)), ref_template=REF, schema_generator=_Schemas
    )
    schemas = {name: _untitled(s) for name, s in definitions.get("$defs", {}).items()}
    return schemas, dict(refs)


def _plain_parameter(schema: dict[str, Any]) -> dict[str, Any]:
    """Write a query parameter's schema without local definitions or a null choice: a query
    value is never null, and a `$defs` reference inside a parameter confuses clients."""
    definitions = schema.pop("$defs", {})
    choices = [c for c in schema.pop("anyOf", []) if c != {"type": "null"}]
    if len(choices) == 1:
        schema = {**choices[0], **schema}
    elif choices:
        schema["anyOf"] = choices
    reference = schema.pop("$ref", None)
    if reference is not None:
        schema = {**definitions[reference.rsplit("/", 1)[-1]], **schema}
    schema.pop("title", None)
    return schema


def _parameters(op: Operation) -> list[dict[str, Any]]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in op.path_parameters.items()
    ]
    if op.query is None:
        return parameters
    for name, info in op.query.model_fields.items():
        # The parameter's own type (a date's range), its description beside it.
        kind = TypeAdapter(
            Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        )
        schema = _plain_parameter(kind.json_schema(schema_generator=_Schemas))
        if isinstance(schema.get("type"), list):
            kinds = [k for k in schema["type"] if k != "null"]
            schema["type"] = kinds[0] if len(kinds) == 1 else kinds
        if info.default not in (None, PydanticUndefined):
            schema["default"] = info.default
        entry: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": info.is_required(),
            "schema": schema,
        }
        if info.description:
            entry["description"] = info.description
        parameters.append(entry)
    return parameters


def _operation(op: Operation) -> dict[str, Any]:
    schemas, refs = _components()
    if op.answer is None:
        answered: dict[str, Any] = {"description": op.answer_description}
    else:
        schema = op.answer if isinstance(op.answer, dict) else refs[(op.answer, "serialization")]
        answered = {
            "description": op.answer_description,
            "content": {"application/json": {"schema": schema}},
        }
    codes = [*([401] if op.secured else []), *op.errors]
    entry: dict[str, Any] = {"summary": op.summary}
    if op.description:
        entry["description"] = op.description
    if op.tags:
        entry["tags"] = list(op.tags)
    if op.secured:
        entry["security"] = [{"bearer": []}]
    parameters = _parameters(op)
    if parameters:
        entry["parameters"] = parameters
    if op.body is not None:
        entry["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    entry["responses"] = {str(op.status): answered, **problem_responses(*codes)}
    return entry


def _with_common_problems(operation: dict[str, Any]) -> dict[str, Any]:
    """Add the answers any operation can give: 400 (an unknown query parameter, or a path or
    parameter with a character no database stores: NUL, a lone surrogate), 429 (every API
    route is rate limited), 503 (the database is unavailable), and 422 for a body that is not
    the declared one."""
    codes = [400, 429, 503] + ([422] if "requestBody" in operation else [])
    extra = {
        code: entry
        for code, entry in problem_responses(*codes).items()
        if code not in operation["responses"]
    }
    return {**operation, "responses": {**operation["responses"], **extra}}


@cache
def _query_parameters() -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """Map (path shape, method) to its declared query parameters and their schemas."""
    declared = {}
    for path, operations in build()["paths"].items():
        for method, operation in operations.items():
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
    paths: dict[str, dict[str, Any]] = {}
    for op in _OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _with_common_problems(_operation(op))
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
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": _components()[0],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
