"""Feed tokens: secret links to calendar feeds, issued, rotated, revoked and resolved here.

Only the SHA-256 of a token is stored; the raw token exists in the response that creates it.
Access (app.access.can_subscribe) is checked when a token is issued AND each time it is used,
so a feed goes dark as soon as its owner leaves the project or stops managing the facility."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from app import access
from app.accounts.models import User
from app.accounts.security import digests_equal, token_digest
from app.calendars.models import FeedKind, FeedToken
from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.i18n import LANGUAGES, user_language


@dataclass(frozen=True)
class FeedTarget:
    """A feed the user may subscribe to, and their current link to it, if any."""

    kind: FeedKind
    target_id: int
    token: FeedToken | None


def new_raw_token() -> str:
    """Return a fresh feed secret: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def available_feeds(user: User) -> list[FeedTarget]:
    """List the feeds the user may subscribe to: all their projects, each project, and each
    facility they manage with its units."""
    active = {
        (t.kind, t.target_id): t
        for t in db.session.scalars(
            select(FeedToken).where(FeedToken.owner_id == user.id, FeedToken.revoked_at.is_(None))
        )
    }
    targets: list[tuple[FeedKind, int]] = []
    projects = access.member_projects(user)
    if projects:
        targets.append((FeedKind.USER, user.id))
        targets.extend((FeedKind.PROJECT, p.id) for p in projects)
    for facility in access.managed_facilities(user):
        targets.append((FeedKind.FACILITY, facility.id))
        targets.extend((FeedKind.EQUIPMENT, unit.id) for unit in facility.equipment)
    return [FeedTarget(kind, target, active.get((kind, target))) for kind, target in targets]


def issue_token(
    user: User, kind: str, target_id: int, *, locale: str | None = None
) -> tuple[FeedToken, str]:
    """Create the user's link to a feed, revoking any link they had to it (rotation).

    The feed speaks `locale`, by default its owner's language. Returns the token row and the
    raw secret, which is never stored."""
    if not locale:
        locale = user_language(user)
    if kind not in set(FeedKind):
        raise ValidationError(_("Choose a feed kind."), field="kind")
    if locale not in LANGUAGES:
        raise ValidationError(_("Choose a language: zh or en."), field="locale")
    write_transaction()
    if not access.can_subscribe(user, kind, target_id):
        raise NotFound(_("No such calendar among yours."))
    now = utcnow()
    for old in db.session.scalars(
        select(FeedToken).where(
            FeedToken.owner_id == user.id,
            FeedToken.kind == kind,
            FeedToken.target_id == target_id,
            FeedToken.revoked_at.is_(None),
        )
    ):
        old.revoked_at = now
    raw = new_raw_token()
    token = FeedToken(
        kind=kind,
        target_id=target_id,
        token_hash=token_digest(raw),
        owner_id=user.id,
        locale=locale,
        created_at=now,
    )
    db.session.add(token)
    db.session.commit()
    return token, raw


def revoke_token(user: User, token_id: int) -> FeedToken:
    """Revoke one of the user's feed links."""
    write_transaction()
    token = db.session.get(FeedToken, token_id)
    if token is None or token.owner_id != user.id:
        raise NotFound(_("No such calendar link among yours."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token


def resolve_token(raw: str) -> FeedToken:
    """Return the live token for a raw secret; unknown, revoked or no longer allowed → 404."""
    digest = token_digest(raw)
    token = db.session.scalar(select(FeedToken).where(FeedToken.token_hash == digest))
    # The index lookup finds the row; the digest comparison itself must not leak timing.
    if (
        token is None
        or not digests_equal(token.token_hash, digest)
        or token.revoked_at is not None
    ):
        raise NotFound(_("No such calendar feed."))
    owner = db.session.get(User, token.owner_id)
    if owner is None or not access.can_subscribe(owner, token.kind, token.target_id):
        raise NotFound(_("No such calendar feed."))
    return token
