"""Request guards and response headers that apply to every route."""

from __future__ import annotations

from flask import Flask, Response, request

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


def register(app: Flask) -> None:
    """Check CSRF on every state change made with a session cookie, and set security headers."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False

    @app.before_request
    def _csrf_guard() -> None:
        if request.method in SAFE_METHODS or not app.config.get("WTF_CSRF_ENABLED", True):
            return
        # A bearer token is not sent by browsers on their own, so it cannot be forged cross-site.
        if request.headers.get("Authorization", "").startswith("Bearer "):
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
