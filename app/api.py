"""The API's root: its index, the OpenAPI document and its browsable page, the caller."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request
from flask_babel import gettext as _

from app import openapi
from app.accounts import security
from app.apitypes import Answer
from app.errors import BadRequest

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_app_request
def refuse_undeclared_query_parameters() -> None:
    """Refuse a query parameter the operation does not declare, as bodies refuse unknown fields
    (a misspelt filter would otherwise silently return the unfiltered list), and an empty value
    where the document asks for a number, date, flag or choice."""
    rule = request.url_rule
    if rule is None or not request.path.startswith("/api/"):
        return
    declared = openapi.declared_query_parameters(rule.rule, request.method)
    if declared is None:
        return
    for name, value in request.args.items(multi=True):
        if name not in declared:
            raise BadRequest(_("Unknown query parameter."), field=name[:64])
        schema = declared[name]
        if not value.strip() and not openapi.allows_empty(schema):
            if "enum" in schema:
                message = _(
                    "The parameter %(name)s must be one of: %(values)s.",
                    name=name,
                    values=", ".join(map(str, schema["enum"])),
                )
            else:
                message = _("Give a value, or leave the parameter out.")
            raise BadRequest(message, field=name)


@bp.get("/")
def index() -> Response:
    return jsonify({"openapi": "/api/v1/openapi.json", "docs": "/api/v1/docs"})


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(openapi.build())


@bp.get("/docs")
def docs() -> str:
    return render_template("api_docs.html", spec=openapi.build())


class Membership(Answer):
    id: int
    name: str
    role: str


class User(Answer):
    """The authenticated user, their projects and the facilities they manage."""

    id: int
    email: str
    name: str
    is_admin: bool
    projects: list[Membership]
    managed_facilities: list[str]


@openapi.route(
    bp,
    "/me",
    "GET",
    summary="The authenticated user, their projects and facilities",
    answer=User,
    answer_description="The caller",
)
def me() -> User:
    user = security.user()
    return User(
        id=user.id,
        email=user.email,
        name=user.name,
        is_admin=user.is_admin,
        projects=[
            Membership(id=m.project.id, name=m.project.name, role=m.role) for m in user.memberships
        ],
        managed_facilities=[f.slug for f in user.managed_facilities],
    )
