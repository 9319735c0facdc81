"""Turn errors into an HTML page, or an application/problem+json body under /api."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from app import ratelimits
from app.accounts.security import request_user
from app.errors import AppError, ServiceUnavailable, Unauthorized
from app.extensions import db, limiter, login_manager
from app.httpsecurity import local_path

log = logging.getLogger(__name__)

# Titles and explanations of the HTTP errors Werkzeug raises for us (unknown URL, wrong method).
_HTTP_TEXTS = {
    400: (_l("Bad request"), _l("The request could not be understood; check it and retry.")),
    404: (
        _l("Not found"),
        _l("There is no page at this address. Check the address, or start from the start page."),
    ),
    405: (_l("Method not allowed"), _l("This address does not accept that method.")),
    413: (_l("Request too large"), _l("The request is too large; send less at once.")),
    415: (_l("Unsupported media type"), _l("Send the request body as JSON.")),
}


def wants_json() -> bool:
    """Tell whether the current request is an API call."""
    return request.path.startswith("/api/")


def problem_response(body: dict[str, object], status: int) -> Response:
    """Return an RFC 9457 problem response."""
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _to_login() -> Response:
    """Send a visitor who must log in to the login page, and from there back to where they were.

    After a GET that is the page itself; after a form sent from a page (the session ended
    meanwhile) it is that page, since a login cannot resend the form."""
    if request.method in ("GET", "HEAD"):
        back = request.full_path if request.query_string else request.path
    else:
        referrer = urlsplit(request.referrer or "")
        same_site = referrer.netloc == request.host
        back = (
            (referrer.path + (f"?{referrer.query}" if referrer.query else "")) if same_site else ""
        )
    flash(_("Log in to continue."))
    target = local_path(back)
    return redirect(
        url_for("accounts.login", next=target) if target else url_for("accounts.login")
    )


def _render(error: AppError) -> Response | tuple[str, int]:
    if isinstance(error, Unauthorized) and not wants_json():
        return _to_login()
    # The error's language and the page's navigation need the user; while the database is
    # down that falls back to an anonymous one instead of failing the error page itself.
    request_user()
    if wants_json():
        return problem_response(error.problem(), error.status)
    return render_template("error.html", error=error), error.status


def database_problem(error: DBAPIError) -> ServiceUnavailable:
    """Name what is wrong with the database: read-only, full, or unreachable."""
    message = str(error.orig).lower()
    if "readonly" in message or "read-only" in message:
        return ServiceUnavailable(
            _("The database is read-only, so nothing can be saved; tell the administrator.")
        )
    if "full" in message and ("disk" in message or "database" in message):
        return ServiceUnavailable(
            _("The database is full, so nothing can be saved; tell the administrator.")
        )
    return ServiceUnavailable(_("The database is not reachable right now; retry in a moment."))


def _database_error(error: DBAPIError) -> Response | tuple[str, int]:
    log.error("database error: %s", error.orig)
    try:
        db.session.rollback()
    except SQLAlchemyError:
        log.warning("rollback failed on a broken database connection")
    # The page's language and navigation would load the user from the failing database.
    login_manager._update_request_context_with_user()
    return _render(database_problem(error))


def register(app: Flask) -> None:
    """Install the handlers."""

    @app.errorhandler(AppError)
    def _app_error(error: AppError) -> Response | tuple[str, int]:
        db.session.rollback()
        return _render(error)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Response | tuple[str, int]:
        return _render(
            AppError(_("The form expired or was sent from elsewhere; reload the page and retry."))
        )

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(error: RateLimitExceeded) -> Response:
        if error.response is not None:
            return error.response
        seconds = ratelimits.seconds_until(limiter.current_limit)
        app_error = AppError(
            _("Too many requests; retry in %(seconds)d seconds.", seconds=seconds)
        )
        app_error.status = 429
        app_error.title = _l("Too many requests")
        response = make_response(_render(app_error))
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response | tuple[str, int]:
        title, detail = _HTTP_TEXTS.get(error.code or 500, (None, None))
        # Werkzeug's own descriptions are English; ours are translated. A description a view
        # chose itself is kept.
        own = error.description != type(error).description
        app_error = AppError(str(error.description if own or detail is None else detail))
        app_error.status = error.code or 500
        app_error.title = title or error.name
        response = _render(app_error)
        if isinstance(response, Response) and error.code == 405:
            allowed = error.get_response().headers.get("Allow")
            if allowed:
                response.headers["Allow"] = allowed
        return response

    @app.errorhandler(OperationalError)
    def _database_unavailable(error: OperationalError) -> Response | tuple[str, int]:
        return _database_error(error)

    @app.errorhandler(DBAPIError)
    def _database_failed(error: DBAPIError) -> Response | tuple[str, int]:
        # A connection closed under us (server restart) surfaces as an InterfaceError.
        if not (error.connection_invalidated or isinstance(error, InterfaceError)):
            return _unexpected(error)
        return _database_error(error)

    @app.errorhandler(PendingRollbackError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeoutError)
    def _database_lost(error: SQLAlchemyError) -> Response | tuple[str, int]:
        db.session.rollback()
        return _render(
            ServiceUnavailable(_("The database is not reachable right now; retry in a moment."))
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response | tuple[str, int]:
        log.exception("unhandled error")
        db.session.rollback()
        app_error = AppError(_("Something went wrong on our side; it has been logged."))
        app_error.status = 500
        app_error.title = _l("Internal server error")
        return _render(app_error)
