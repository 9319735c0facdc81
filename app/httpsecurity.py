"""Request guards and response headers that apply to every route."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, request

from app.accounts.security import is_token_request
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


def register(app: Flask) -> None:
    """Check CSRF on every state change made with a session cookie, and set security headers."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False

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
