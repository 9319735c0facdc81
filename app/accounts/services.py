"""Account operations shared by pages, API and CLI."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.accounts.models import ApiToken, Project, ProjectMembership, User
from app.accounts.security import hash_password, new_secret_token, token_digest, verify_password
from app.dbtypes import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db

MIN_PASSWORD_LENGTH = 10


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with this email and password, or None."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        return None
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
    if db.session.scalar(select(User).where(func.lower(User.email) == email)):
        raise Conflict(_("An account for %(email)s exists already.", email=email), field="email")
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
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
    """Change the password and end every other session of the account."""
    check_password(password)
    user.password_hash = hash_password(password)
    user.session_version += 1
    db.session.commit()


def add_member(project: Project, user: User, role: str = "member") -> None:
    """Make the user a member of the project (idempotent)."""
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
    token = ApiToken(
        user_id=user.id, name=name, token_hash=token_digest(secret), prefix=secret[:8]
    )
    db.session.add(token)
    db.session.commit()
    return token, secret


def revoke_api_token(user: User, token_id: int) -> None:
    """Revoke one of the user's tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("No such token."))
    token.revoked_at = token.revoked_at or utcnow()
    db.session.commit()
