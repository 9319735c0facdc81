"""Rate limits on logins and the API, counted in one store that every worker shares."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request, session
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address

from app.accounts.security import is_token_request, token_digest
from app.extensions import limiter

F = TypeVar("F", bound=Callable[..., Any])


def login_rate() -> str:
    """Return the failed-login allowance of one account from one address."""
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def login_address_rate() -> str:
    """Return the failed-login allowance of one address across all accounts."""
    return str(current_app.config["LOGIN_ADDRESS_RATE_LIMIT"])


def api_rate() -> str:
    """Return the API allowance of one caller across all API routes."""
    return str(current_app.config["API_RATE_LIMIT"])


def login_address_key() -> str:
    """Key login attempts by the client's address."""
    return f"login-ip:{get_remote_address()}"


def login_account_key() -> str:
    """Key login attempts by the email tried and the client's address together.

    Never by the email alone: then anyone could lock a person out of their own account by
    failing ten logins with their email from elsewhere."""
    email = (request.form.get("email") or "").strip().lower()
    return f"login-account:{token_digest(email)[:24]}:{get_remote_address()}"


def api_caller_key() -> str:
    """Key API calls by bearer token, else by logged-in session, else by address.

    Neither needs the database: a token is keyed by its digest, a session by its user id."""
    if is_token_request():
        header = request.headers.get("Authorization", "")
        return f"api-token:{token_digest(header.removeprefix('Bearer ').strip())[:24]}"
    user_id = session.get("_user_id")
    if user_id:
        return f"api-user:{user_id}"
    return f"api-ip:{get_remote_address()}"


def failed_login(response: Response) -> bool:
    """Count a login attempt only when it did not log in (a success redirects)."""
    return response.status_code != 302


def seconds_until(limit: RequestLimit | None) -> int:
    """Return the whole seconds until a breached limit's window resets (at least 1)."""
    if limit is None:
        return 60
    return max(1, int(limit.reset_at - time.time()))


def limit_login(on_breach: Callable[[RequestLimit], Response | None]) -> Callable[[F], F]:
    """Limit failed logins per account and address, and per address; `on_breach` renders the
    refusal."""

    def decorate(view: F) -> F:
        for rate, key_func in (
            (login_address_rate, login_address_key),
            (login_rate, login_account_key),
        ):
            view = limiter.limit(
                rate,
                key_func=key_func,
                methods=["POST"],
                deduct_when=failed_login,
                on_breach=on_breach,
            )(view)
        return view

    return decorate


def register(app: Flask) -> None:
    """Limit every blueprint under /api with one shared per-caller allowance."""
    api_limit = limiter.shared_limit(api_rate, scope="api", key_func=api_caller_key)
    for blueprint in app.blueprints.values():
        if (blueprint.url_prefix or "").startswith("/api"):
            api_limit(blueprint)
