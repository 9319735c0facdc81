"""Password hashing, sessions and API token authentication: who the request's user is.

What that user may see or change is decided in app/access.py."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import g, request, session
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin, current_user, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import Unauthorized
from app.extensions import db, login_manager

if TYPE_CHECKING:
    from app.accounts.models import User

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Return an argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Tell whether the password matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_password_hash() -> str:
    """Return a hash no password matches, made with the same parameters as real ones.

    Checking a login for an unknown email against it takes as long as checking a real one, so
    the time of the answer does not tell which emails have accounts."""
    return hash_password(secrets.token_urlsafe(32))


def token_digest(token: str) -> str:
    """Return the SHA-256 hex digest under which a secret token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret_token(prefix: str) -> str:
    """Return a fresh URL-safe secret with 256 bits of randomness."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digests_equal(a: str, b: str) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


class Anonymous(AnonymousUserMixin):
    is_admin = False
    project_ids: set[int] = set()
    facility_ids: set[int] = set()
    is_manager = False


login_manager.anonymous_user = Anonymous
login_manager.login_view = "accounts.login"
login_manager.session_protection = "basic"


# The browser session's entry holding the secret of its `UserSession` row.
SESSION_KEY = "session_key"


def is_token_request() -> bool:
    """Tell whether the request is one for a bearer token: an API call that sends one.

    Such a request is authenticated by its token alone and ignores the session cookie (so it
    needs no CSRF token); any other request ignores the header, and pages never open by it."""
    return request.path.startswith("/api/") and request.headers.get(
        "Authorization", ""
    ).startswith("Bearer ")


def log_in(user: User) -> None:
    """Start a new session of the user in this browser, ending the one it had."""
    from app.accounts.services import end_session, start_session

    previous = session.get(SESSION_KEY)
    if isinstance(previous, str):
        end_session(previous)
    key = start_session(user)
    login_user(user)
    session[SESSION_KEY] = key


def log_out() -> None:
    """End this browser's session, so that a copy of its cookie opens nothing afterwards."""
    from app.accounts.services import end_session

    key = session.pop(SESSION_KEY, None)
    if isinstance(key, str):
        end_session(key)
    logout_user()


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    from app.accounts.models import UserSession

    key = session.get(SESSION_KEY)
    if is_token_request() or not user_id.isdigit() or not isinstance(key, str):
        return None
    from app.accounts.services import session_cutoff

    row = db.session.scalar(
        select(UserSession)
        .where(
            UserSession.key_hash == token_digest(key),
            UserSession.created_at > session_cutoff(utcnow()),
        )
        .options(joinedload(UserSession.user))
    )
    if row is None or row.user_id != int(user_id) or not row.user.active:
        return None
    return row.user


@login_manager.request_loader
def _load_user_from_bearer(req: object) -> User | None:
    from app.accounts.models import ApiToken, User

    if not is_token_request():
        return None
    header = request.headers.get("Authorization", "")
    digest = token_digest(header.removeprefix("Bearer ").strip())
    # The user's memberships come in the same statement: nearly every API call asks whether
    # the caller belongs to a project, and a second round trip per call is not free.
    token = (
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
            .options(joinedload(ApiToken.user).joinedload(User.memberships))
        )
        .unique()
        .one_or_none()
    )
    if token is None or not token.user.active:
        return None
    # Recording every use would turn each API read into a write; a few minutes' precision does.
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_PRECISION:
        write_transaction()
        token.last_used_at = now
        db.session.commit()
    g.api_token_auth = True
    return token.user


TOKEN_USE_PRECISION = timedelta(minutes=5)


def request_user() -> User | Anonymous:
    """Return the request's user, or an anonymous one when the database cannot say who it is.

    For what must answer even while the database is down: the language of an error page, the
    navigation around it. Views that need the user use `user()` and let the error surface."""
    try:
        return current_user._get_current_object()  # type: ignore[no-any-return]
    except SQLAlchemyError:
        try:
            db.session.rollback()
        except SQLAlchemyError:
            pass
        login_manager._update_request_context_with_user()
        return current_user._get_current_object()  # type: ignore[no-any-return]


@login_manager.unauthorized_handler
def _unauthorized() -> None:
    raise Unauthorized(_("Log in, or send 'Authorization: Bearer <token>'."))


def user() -> User:
    """Return the logged-in user or raise Unauthorized."""
    if not current_user.is_authenticated:
        raise Unauthorized(_("Log in, or send 'Authorization: Bearer <token>'."))
    return current_user._get_current_object()  # type: ignore[no-any-return]
