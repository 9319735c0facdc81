"""Pages that belong to no single domain: the home page and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from app import schemaversion
from app.extensions import db

bp = Blueprint("web", __name__)


@bp.get("/")
def index() -> Response:
    if current_user.is_authenticated:
        return redirect(url_for("accounts.dashboard"))
    return redirect(url_for("catalog.facility_list"))


@bp.get("/healthz")
def health() -> tuple[Response, int]:
    # One query when healthy: reading the stamped revision also proves the database answers.
    stamped = schemaversion.database_revisions()
    if stamped is None:
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001  (any failure means unhealthy)
            db.session.rollback()
            return jsonify({"status": "unavailable", "database": type(error).__name__}), 503
    heads = schemaversion.code_heads()
    if stamped != heads:
        # A database the migrations have not (fully) reached: every page would fail.
        body = {
            "status": "unavailable",
            "database": "ok",
            "schema": "missing" if stamped is None else "behind",
            "database_revision": sorted(stamped or ()),
            "code_revision": sorted(heads),
            "fix": "flask --app app db upgrade",
        }
        return jsonify(body), 503
    return jsonify({"status": "ok", "database": "ok"}), 200
