"""Display names of the catalogue's fixed values, translatable."""

from __future__ import annotations

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.catalog.models import Capability
from app.extensions import db
from app.i18n import localised

KINDS = {
    "proof_of_concept_centre": _l("Proof-of-concept centre"),
    "pilot_test_base": _l("Pilot-test base"),
    "public_technology_platform": _l("Public technology platform"),
}

DIRECTIONS = {
    "biomedicine": _l("Biomedicine"),
    "medical_devices": _l("Medical devices"),
    "information_communication": _l("Information and communication"),
    "integrated_circuits": _l("Integrated circuits"),
    "advanced_materials": _l("Advanced materials"),
    "new_energy": _l("New energy"),
    "environmental": _l("Environmental protection"),
    "marine": _l("Marine"),
}

DAYS = {
    "mon": _l("Monday"),
    "tue": _l("Tuesday"),
    "wed": _l("Wednesday"),
    "thu": _l("Thursday"),
    "fri": _l("Friday"),
    "sat": _l("Saturday"),
    "sun": _l("Sunday"),
}


def capability_names() -> dict[str, Capability]:
    """Return every named capability by slug, read once per request."""
    if has_request_context():
        cached = getattr(request, "_pilotslot_capabilities", None)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
    found = {c.slug: c for c in db.session.scalars(select(Capability))}
    if has_request_context():
        request._pilotslot_capabilities = found  # type: ignore[attr-defined]
    return found


def capability_name(slug: str) -> str:
    """Name a capability in the current language; a slug the catalogue does not name stays."""
    capability = capability_names().get(slug)
    return localised(capability) if capability is not None else slug
