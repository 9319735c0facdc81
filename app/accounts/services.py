"""Account operations shared by pages, API and CLI."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from app.accounts.models import ApiToken, Project, ProjectMembership, User, UserSession
from app.accounts.security import (
    dummy_password_hash,
    hash_password,
    new_secret_token,
    token_digest,
    verify_password,
)
from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db

MIN_PASSWORD_LENGTH = 10


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with this email and password, or None.

    An unknown email costs one password check too, against a dummy hash, so that how long the
    answer takes does not tell whether the email has an account."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    matches = verify_password(
        user.password_hash if user is not None else dummy_password_hash(), password
    )
    if user is None or not matches or not user.active:
        return None
    # The write lock only for the write: not while the password hash is checked.
    write_transaction()
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def create_user(
    email: str, name: str, password: str, *, is_admin: bool = False, locale: str | None = None
) -> User:
    """Create an account; the email must be new and the password long enough."""
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationError(_("Enter an email address."), field="email")
    if not name.strip():
        raise ValidationError(_("Enter a name."), field="name")
    # The command line has no form to bound them; PostgreSQL would refuse longer ones.
    for field, value in (("email", email), ("name", name.strip())):
        longest = User.__table__.c[field].type.length
        if len(value) > longest:
            raise ValidationError(_("Use at most %(n)d characters.", n=longest), field=field)
    check_password(password)
    password_hash = hash_password(password)
    write_transaction()
    if db.session.scalar(select(User).where(func.lower(User.email) == email)):
        raise Conflict(_("An account for %(email)s exists already.", email=email), field="email")
    user = User(
        email=email,
        name=name.strip(),
        password_hash=password_hash,
        is_admin=is_admin,
        locale=locale,
    )
    db.session.add(user)
    db.session.commit()
    return user


def check_password(password: str) -> None:
    """Raise ValidationError for a password that is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), field="password"
        )


def set_password(user: User, password: str) -> None:
    """Change the password and end every session of the account."""
    check_password(password)
    # Hashed before the write lock is taken: the lock is only for the write.
    password_hash = hash_password(password)
    write_transaction()
    user.password_hash = password_hash
    _delete_sessions(user)
    db.session.commit()


def start_session(user: User) -> str:
    """Record a new logged-in session of the user and return its secret for the cookie."""
    key = secrets.token_urlsafe(32)
    write_transaction()
    db.session.add(UserSession(user_id=user.id, key_hash=token_digest(key)))
    db.session.commit()
    return key


def session_cutoff(now: datetime) -> datetime:
    """Return the login time before which a session has ended (the configured lifetime)."""
    return now - timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"])


def prune_sessions(now: datetime) -> int:
    """Delete the rows of sessions past their lifetime; return how many went."""
    write_transaction()
    gone = db.session.execute(
        delete(UserSession).where(UserSession.created_at <= session_cutoff(now))
    ).rowcount
    db.session.commit()
    return int(gone or 0)


def end_session(key: str) -> None:
    """End the session whose cookie carries this secret (nothing if it ended already)."""
    write_transaction()
    db.session.execute(delete(UserSession).where(UserSession.key_hash == token_digest(key)))
    db.session.commit()


def end_sessions(user: User) -> None:
    """End every session of the account, in every browser."""
    write_transaction()
    _delete_sessions(user)
    db.session.commit()


def _delete_sessions(user: User) -> None:
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def set_active(user: User, active: bool) -> None:
    """Enable or disable the account; disabling ends its sessions and revokes its API tokens.

    Tokens stay revoked when the account is enabled again: its owner makes new ones, so a
    token copied while the account was in doubt never comes back to life."""
    write_transaction()
    user.active = active
    if not active:
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        _delete_sessions(user)
    db.session.commit()


def add_member(project: Project, user: User, role: str = "member") -> None:
    """Make the user a member of the project (idempotent)."""
    write_transaction()
    if db.session.get(ProjectMembership, (user.id, project.id)) is None:
        db.session.add(ProjectMembership(user_id=user.id, project_id=project.id, role=role))
        db.session.commit()


def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a personal access token; the secret is returned once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationError(
            _("Name the token, e.g. after the script that uses it."), field="name"
        )
    secret = new_secret_token("pst")
    write_transaction()
    token = ApiToken(
        user_id=user.id, name=name, token_hash=token_digest(secret), prefix=secret[:8]
    )
    db.session.add(token)
    db.session.commit()
    return token, secret


def revoke_api_token(user: User, token_id: int) -> None:
    """Revoke one of the user's tokens."""
    write_transaction()
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("No such token."))
    token.revoked_at = token.revoked_at or utcnow()
    db.session.commit()
