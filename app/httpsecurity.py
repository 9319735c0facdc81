"""Request guards and response headers that apply to every route."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _

from app.accounts.security import is_token_request
from app.errors import AppError, BadRequest, ValidationError
from app.extensions import csrf

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Browsers drop tabs and newlines from a URL and read a backslash as a slash, so "/\t/evil"
# and "/\\evil" lead off the site; no local path needs either, nor any other control character.
_NOT_IN_LOCAL_PATHS = re.compile(r"[\x00-\x1f\x7f\\]")


def local_path(target: str | None) -> str | None:
    """Return the target if it is a path on this site ("/requests?x=1"), else None.

    For redirects to a place the request names (`next=`): anything that could lead a browser
    to another site (a scheme, "//host", tricks hidden by encoding) is refused."""
    if not target:
        return None
    decoded = unquote(target)
    if _NOT_IN_LOCAL_PATHS.search(target) or _NOT_IN_LOCAL_PATHS.search(decoded):
        return None
    if not target.startswith("/") or decoded.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but a body nested deeper than the parser can follow is invalid JSON.

    The parser recurses per level: 100,000 `[` raise RecursionError, which Flask does not
    take for a parse failure; as a ValueError it becomes the API's "not valid JSON" 400."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def storable(text: str) -> bool:
    """Tell whether a database can store the text: PostgreSQL refuses NUL, and neither
    database can encode a lone surrogate (which JSON's \\ud800 escape can carry)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(name: str) -> str:
    """Return a field name that can itself be shown and stored."""
    return name.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def _unstorable_in_json(data: Any) -> str | None:
    """Return the path of the first string (or key) that cannot be stored, named as the API
    names fields (`steps[0].note`); walked without recursion, however deep the body."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if not storable(node):
                return path or "body"
        elif isinstance(node, dict):
            children = []
            for key, value in node.items():
                child = f"{path}.{key}" if path else key
                if not storable(key):
                    return child
                children.append((child, value))
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed([(f"{path}[{i}]", item) for i, item in enumerate(node)]))
    return None


def unstorable_text() -> AppError | None:
    """Return the error for a request carrying text no database can store, naming where: the
    path, a query parameter (400), a form or JSON body field (422)."""

    def refused(name: str, error: type[AppError]) -> AppError:
        shown = _shown(name)
        return error(
            _(
                "%(name)s contains a character that cannot be stored (NUL or an unpaired "
                "surrogate); remove it.",
                name=shown,
            ),
            field=shown,
        )

    if not storable(request.path):
        return refused("path", BadRequest)
    for name, value in request.args.items(multi=True):
        if not (storable(name) and storable(value)):
            return refused(name, BadRequest)
    if request.method in SAFE_METHODS:
        return None
    for name, value in request.form.items(multi=True):
        if not (storable(name) and storable(value)):
            return refused(name, ValidationError)
    if request.is_json:
        field = _unstorable_in_json(request.get_json(silent=True))
        if field is not None:
            return refused(field, ValidationError)
    return None


def register(app: Flask) -> None:
    """Refuse text no database can store, check CSRF on every state change made with a session
    cookie, and set security headers."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.json = SafeJSONProvider(app)

    @app.before_request
    def _refuse_unstorable_text() -> None:
        # Before anything reads the database with it: PostgreSQL fails on a NUL in a query.
        error = unstorable_text()
        if error is not None:
            raise error

    @app.before_request
    def _csrf_guard() -> None:
        if request.method in SAFE_METHODS or not app.config.get("WTF_CSRF_ENABLED", True):
            return
        # An API call with a bearer token is authenticated by the token alone and never by the
        # cookie; browsers do not add the header on their own, so it cannot be forged cross-site.
        if is_token_request():
            return
        csrf.protect()

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
