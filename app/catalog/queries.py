"""Reading the catalogue: filters shared by the pages and the API, lookups by slug."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.catalog.labels import capability_names
from app.catalog.models import (
    Direction,
    Equipment,
    EquipmentStatus,
    Facility,
    FacilityKind,
    MaintenanceWindow,
)
from app.errors import BadRequest, NotFound
from app.extensions import db
from app.i18n import localised

MAX_TEXT = 100


@dataclass(frozen=True)
class CatalogueFilter:
    """What a visitor narrows the facility list by; empty fields do not filter."""

    kind: str = ""
    direction: str = ""
    city: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> CatalogueFilter:
        """Read the filter from query parameters; raise BadRequest naming a bad one.

        Empty means "any" (the pages' form sends empty fields); the API refuses an empty
        choice before this, from its OpenAPI document (app/api.py)."""
        kind = args.get("kind", "").strip()
        direction = args.get("direction", "").strip()
        city = args.get("city", "").strip()
        q = args.get("q", "").strip()
        if kind and kind not in {k.value for k in FacilityKind}:
            raise BadRequest(
                _(
                    "The parameter kind must be one of: %(values)s.",
                    values=", ".join(FacilityKind),
                ),
                field="kind",
            )
        if direction and direction not in {d.value for d in Direction}:
            raise BadRequest(
                _(
                    "The parameter direction must be one of: %(values)s.",
                    values=", ".join(Direction),
                ),
                field="direction",
            )
        for name, value in (("city", city), ("q", q)):
            if len(value) > MAX_TEXT:
                raise BadRequest(
                    _(
                        "The parameter %(name)s takes at most %(n)d characters.",
                        name=name,
                        n=MAX_TEXT,
                    ),
                    field=name,
                )
        return cls(kind=kind, direction=direction, city=city, q=q)

    @property
    def active(self) -> bool:
        return bool(self.kind or self.direction or self.city or self.q)


def _active_units(facility: Facility) -> list[Equipment]:
    return [unit for unit in facility.equipment if unit.is_active]


def _matches_text(facility: Facility, needle: str) -> bool:
    haystack = [facility.name_zh, facility.name_en]
    haystack += [name for host in facility.host_institutions for name in host.values()]
    named = capability_names()
    for unit in _active_units(facility):
        haystack += [unit.name_zh, unit.name_en, *unit.capability_names]
        haystack += [
            name
            for slug in unit.capability_names
            if slug in named
            for name in (named[slug].name_zh, named[slug].name_en)
        ]
    return any(needle in text.casefold() for text in haystack)


def search_facilities(wanted: CatalogueFilter) -> list[Facility]:
    """Return the active facilities that match every given filter, by centre then name."""
    facilities = db.session.scalars(
        select(Facility)
        .where(Facility.active.is_(True))
        .options(
            selectinload(Facility.centre),
            selectinload(Facility.directions),
            selectinload(Facility.equipment).selectinload(Equipment.capabilities),
        )
        .order_by(Facility.slug)
    ).all()
    # The catalogue is tens of facilities: filtering in Python keeps JSON lists and free text
    # the same on SQLite and PostgreSQL.
    found = []
    needle = wanted.q.casefold()
    for facility in facilities:
        if wanted.kind and facility.kind != wanted.kind:
            continue
        if wanted.direction and wanted.direction not in facility.direction_names:
            continue
        if wanted.city and wanted.city.casefold() not in (
            facility.city_zh.casefold(),
            facility.city_en.casefold(),
        ):
            continue
        if needle and not _matches_text(facility, needle):
            continue
        found.append(facility)
    return found


def cities() -> list[tuple[str, str]]:
    """Return the cities of active facilities as (value, name in the current language).

    The value is the English name, the same in both languages' links and in the API."""
    rows = db.session.execute(
        select(Facility.city_zh, Facility.city_en).where(Facility.active.is_(True)).distinct()
    )
    pairs = {
        (city_en, localised({"name_zh": city_zh, "name_en": city_en})) for city_zh, city_en in rows
    }
    return sorted(pairs, key=lambda pair: pair[1])


def capabilities_of(facility: Facility) -> list[str]:
    """Return the capabilities the facility's active units offer, sorted."""
    return sorted({name for unit in _active_units(facility) for name in unit.capability_names})


def active_unit_count(facility: Facility) -> int:
    """Return how many of the facility's units can be booked."""
    return len(_active_units(facility))


def get_facility(slug: str) -> Facility:
    """Return the facility with this slug, or raise NotFound."""
    facility = db.session.scalar(
        select(Facility)
        .where(Facility.slug == slug)
        .options(
            selectinload(Facility.centre),
            selectinload(Facility.directions),
            selectinload(Facility.equipment).selectinload(Equipment.capabilities),
        )
    )
    if facility is None:
        raise NotFound(_("No facility %(slug)s.", slug=slug[:64]))
    return facility


def get_equipment(slug: str) -> Equipment:
    """Return the equipment unit with this slug, or raise NotFound."""
    unit = db.session.scalar(select(Equipment).where(Equipment.slug == slug))
    if unit is None:
        raise NotFound(_("No equipment unit %(slug)s.", slug=slug[:64]))
    return unit


def upcoming_maintenance(unit: Equipment, now: datetime) -> list[MaintenanceWindow]:
    """Return the unit's maintenance that has not ended and is not cancelled."""
    return list(
        db.session.scalars(
            select(MaintenanceWindow)
            .where(
                MaintenanceWindow.equipment_id == unit.id,
                MaintenanceWindow.cancelled_at.is_(None),
                MaintenanceWindow.end > now,
            )
            .order_by(MaintenanceWindow.start)
        )
    )


@dataclass(frozen=True)
class CapabilitySummary:
    name: str
    unit_count: int
    facilities: list[Facility]


def capability_summaries() -> list[CapabilitySummary]:
    """Return each capability of an active unit with its unit count and its facilities."""
    units = db.session.scalars(
        select(Equipment)
        .join(Equipment.facility)
        .where(
            Equipment.status == EquipmentStatus.ACTIVE.value,
            Facility.active.is_(True),
        )
        .options(selectinload(Equipment.capabilities), selectinload(Equipment.facility))
    ).all()
    counts: dict[str, int] = {}
    places: dict[str, dict[str, Facility]] = {}
    for unit in units:
        for name in unit.capability_names:
            counts[name] = counts.get(name, 0) + 1
            places.setdefault(name, {})[unit.facility.slug] = unit.facility
    return [
        CapabilitySummary(name, counts[name], [places[name][s] for s in sorted(places[name])])
        for name in sorted(counts)
    ]


def upcoming_closures(facility: Facility, now: datetime) -> list[dict[str, str]]:
    """Return the facility's closures whose last day is today or later in its time zone."""
    today = now.astimezone(ZoneInfo(facility.timezone)).date().isoformat()
    return sorted(
        (c for c in facility.closures or [] if c["to"] >= today), key=lambda c: c["from"]
    )
