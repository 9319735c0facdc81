"""A facility's solve settings, which its managers change on the facility's page."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _

from app import access
from app.booking import audit
from app.catalog.models import (
    FAIR_SHARE_MAX_PERCENT,
    FAIR_SHARE_MIN_PERCENT,
    NO_SHOW_PENALTY_MAX_PERCENT,
    NO_SHOW_PENALTY_MIN_PERCENT,
    Facility,
)
from app.database import write_transaction
from app.errors import NotFound, ValidationError
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User


def fair_share_message() -> str:
    """Return the rule a fair-share setting must follow, as its error message."""
    return _(
        "Give a whole number of percent from %(low)d to %(high)d, or leave it empty for no limit.",
        low=FAIR_SHARE_MIN_PERCENT,
        high=FAIR_SHARE_MAX_PERCENT,
    )


def set_fair_share(user: User, facility_id: int, percent: Any) -> Facility:
    """Set the most one project may hold of any unit's bookable time in a solve, in percent
    (None: no limit); the next solve uses it."""
    return _set_percent(
        user,
        facility_id,
        percent,
        column="fair_share_percent",
        bounds=(FAIR_SHARE_MIN_PERCENT, FAIR_SHARE_MAX_PERCENT),
        message=fair_share_message,
        action="facility.fair_share",
    )


def no_show_penalty_message() -> str:
    """Return the rule a no-show weight setting must follow, as its error message."""
    return _(
        "Give a whole number of percent from %(low)d to %(high)d, or leave it empty to leave "
        "weights alone.",
        low=NO_SHOW_PENALTY_MIN_PERCENT,
        high=NO_SHOW_PENALTY_MAX_PERCENT,
    )


def set_no_show_penalty(user: User, facility_id: int, percent: Any) -> Facility:
    """Set how many percent each recent no-show lowers a project's request weights in the
    facility's solves (None: off); the next solve uses it."""
    return _set_percent(
        user,
        facility_id,
        percent,
        column="no_show_penalty_percent",
        bounds=(NO_SHOW_PENALTY_MIN_PERCENT, NO_SHOW_PENALTY_MAX_PERCENT),
        message=no_show_penalty_message,
        action="facility.no_show_penalty",
    )


def _set_percent(
    user: User,
    facility_id: int,
    percent: Any,
    *,
    column: str,
    bounds: tuple[int, int],
    message: Callable[[], str],
    action: str,
) -> Facility:
    """Set one of a facility's whole-percent settings (None: off), audited when it changes."""
    write_transaction()
    facility = db.session.get(Facility, facility_id)
    if facility is None:
        raise NotFound(_("No such facility among those you manage."))
    access.require_manager(user, facility)
    low, high = bounds
    if percent is not None and (
        isinstance(percent, bool) or not isinstance(percent, int) or not low <= percent <= high
    ):
        raise ValidationError(message(), field=column)
    previous = getattr(facility, column)
    if percent != previous:
        audit.record(
            user,
            action,
            "facility",
            facility.id,
            facility_id=facility.id,
            previous=previous,
            **{column: percent},
        )
        setattr(facility, column, percent)
    db.session.commit()
    return facility
