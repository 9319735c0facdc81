"""What every booking API route shares: its blueprint, its tag, and the lookups by slug."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import openapi
from app.booking.api import bp
from app.catalog.models import Equipment, Facility
from app.errors import AppError, BadRequest, NotFound, ValidationError
from app.extensions import db

# Declare a booking operation: authenticated, 404 for what the caller may not see.
route = openapi.area_router(bp, "booking")


def facility(slug: str, *, field: str | None = None, error: type[AppError] = NotFound) -> Facility:
    """Return the facility with this slug; without one, 404 (or `error` naming `field`)."""
    found = db.session.scalar(select(Facility).where(Facility.slug == slug))
    if found is None:
        if field is None:
            raise NotFound(_("No such facility."))
        raise error(_("No such facility: %(s)s", s=slug[:64]), field=field)
    return found


def unit(
    slug: str,
    *,
    field: str | None = None,
    error: type[AppError] = ValidationError,
    facility_id: int | None = None,
) -> Equipment:
    """Return the unit with this slug (in the facility, if given); without one, 404 (or `error`
    naming `field`)."""
    query = select(Equipment).where(Equipment.slug == slug).options(joinedload(Equipment.facility))
    if facility_id is not None:
        query = query.where(Equipment.facility_id == facility_id)
    found = db.session.scalar(query)
    if found is None:
        if field is None:
            raise NotFound(_("No such unit."))
        if facility_id is not None:
            raise error(_("No such unit in this facility."), field=field)
        if error is BadRequest:
            raise error(_("No such unit: %(s)s", s=slug[:64]), field=field)
        raise error(_("No such unit."), field=field)
    return found
