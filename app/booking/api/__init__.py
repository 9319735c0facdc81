"""The booking JSON API under /api/v1, one module per area; each handler loads, checks access,
calls a service and serialises with the schema of its object (`schemas`)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("booking_api", __name__, url_prefix="/api/v1")

from app.booking.api import (  # noqa: E402,F401  (each module adds its routes to bp)
    bookings,
    proposals,
    requests,
    runs,
    units,
)
