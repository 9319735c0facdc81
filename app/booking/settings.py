"""A facility's solve settings, which its managers change on the facility's page."""

from __future__ import annotations

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
    write_transaction()
    facility = db.session.get(Facility, facility_id)
    if facility is None:
        raise NotFound(_("No such facility among those you manage."))
    access.require_manager(user, facility)
    if percent is not None and (
        isinstance(percent, bool)
        or not isinstance(percent, int)
        or not FAIR_SHARE_MIN_PERCENT <= percent <= FAIR_SHARE_MAX_PERCENT
    ):
        raise ValidationError(fair_share_message(), field="fair_share_percent")
    if percent != facility.fair_share_percent:
        audit.record(
            user,
            "facility.fair_share",
            "facility",
            facility.id,
            facility_id=facility.id,
            fair_share_percent=percent,
            previous=facility.fair_share_percent,
        )
        facility.fair_share_percent = percent
    db.session.commit()
    return facility


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
    write_transaction()
    facility = db.session.get(Facility, facility_id)
    if facility is None:
        raise NotFound(_("No such facility among those you manage."))
    access.require_manager(user, facility)
    if percent is not None and (
        isinstance(percent, bool)
        or not isinstance(percent, int)
        or not NO_SHOW_PENALTY_MIN_PERCENT <= percent <= NO_SHOW_PENALTY_MAX_PERCENT
    ):
        raise ValidationError(no_show_penalty_message(), field="no_show_penalty_percent")
    if percent != facility.no_show_penalty_percent:
        audit.record(
            user,
            "facility.no_show_penalty",
            "facility",
            facility.id,
            facility_id=facility.id,
            no_show_penalty_percent=percent,
            previous=facility.no_show_penalty_percent,
        )
        facility.no_show_penalty_percent = percent
    db.session.commit()
    return facility
