"""Bring the database in line with facilities.yaml: one transaction, idempotent, all or nothing.

The file owns centres, facilities, equipment units and the maintenance windows it lists
(source "catalogue"); manual maintenance is never touched. Nothing is deleted: a unit missing
from the file is retired, a facility missing from it deactivated, and both come back when they
return to the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.billing.services import sync_rate_card
from app.catalog.models import (
    Capability,
    Centre,
    Equipment,
    EquipmentCapability,
    EquipmentStatus,
    Facility,
    FacilityDirection,
    MaintenanceWindow,
)
from app.catalog.schema import (
    Catalogue,
    EquipmentSpec,
    FacilitySpec,
    Problem,
    Problems,
    read,
)
from app.database import write_transaction
from app.dbtypes import utcnow
from app.errors import Conflict, ValidationError
from app.extensions import db

CATALOGUE_SOURCE = "catalogue"
# A sync that would retire more than this share of the active facilities, or of the active
# equipment units, is refused unless allowed: a truncated or wrong file, not a decision.
RETIRE_SHARE_LIMIT = 0.5


class CatalogueInvalid(ValidationError):
    """The catalogue file cannot be loaded; `lines` says where and why."""

    def __init__(self, problems: Problems) -> None:
        self.lines = problems.lines()
        first = problems.items[0]
        super().__init__("\n".join(self.lines), field=first.path or "file")


@dataclass
class SyncReport:
    """What a sync added, changed, retired and brought back."""

    dry_run: bool = False
    added: list[str] = field(default_factory=list)
    changed: list[tuple[str, list[str]]] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.retired or self.reactivated)

    def lines(self) -> list[str]:
        """Return the report as lines, one per thing that changed."""
        out = [_("added %(what)s", what=what) for what in self.added]
        out += [
            _("changed %(what)s: %(fields)s", what=what, fields=", ".join(fields))
            for what, fields in self.changed
        ]
        out += [_("retired %(what)s", what=what) for what in self.retired]
        out += [_("reactivated %(what)s", what=what) for what in self.reactivated]
        if not out:
            out = [_("no changes")]
        if self.dry_run:
            out.append(_("dry run: nothing was written"))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and validate a catalogue file; raise CatalogueInvalid naming every problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems = Problems(file.name)
        problems.items.append(Problem(None, "", _("cannot be read: %(e)s", e=error)))
        raise CatalogueInvalid(problems) from error
    catalogue, problems = read(text, file.name)
    if catalogue is None:
        raise CatalogueInvalid(problems)
    return catalogue


class RetireRefused(Conflict):
    """The file would retire more of the catalogue than RETIRE_SHARE_LIMIT allows."""


def _active_ids() -> tuple[set[int], set[int]]:
    facilities = set(db.session.scalars(select(Facility.id).where(Facility.active)))
    units = set(
        db.session.scalars(
            select(Equipment.id).where(Equipment.status != EquipmentStatus.RETIRED.value)
        )
    )
    return facilities, units


def _check_retire_share(before: tuple[set[int], set[int]]) -> None:
    """Refuse, naming how much would go, a sync that retires too much of the catalogue."""
    after = _active_ids()
    (facilities, units), (kept_facilities, kept_units) = before, after
    retired_facilities, retired_units = len(facilities - kept_facilities), len(units - kept_units)
    if retired_facilities > RETIRE_SHARE_LIMIT * len(
        facilities
    ) or retired_units > RETIRE_SHARE_LIMIT * len(units):
        raise RetireRefused(
            _(
                "The file would retire %(facilities)d of %(all_facilities)d facilities and "
                "%(units)d of %(all_units)d equipment units, more than %(share)d%% of either; "
                "nothing was written. If that is meant, sync with --allow-retire.",
                facilities=retired_facilities,
                all_facilities=len(facilities),
                units=retired_units,
                all_units=len(units),
                share=round(100 * RETIRE_SHARE_LIMIT),
            ),
            field="file",
        )


def sync_catalogue(
    path: str | Path, *, dry_run: bool = False, allow_retire: bool = False
) -> SyncReport:
    """Upsert the catalogue file into the database; with dry_run, report but write nothing.

    Refuse (RetireRefused) a file that would retire more than RETIRE_SHARE_LIMIT of the active
    facilities or units, unless ``allow_retire``."""
    catalogue = load_catalogue(path)
    write_transaction()
    report = SyncReport(dry_run=dry_run)
    try:
        before = _active_ids()
        # Rows are built over several statements, and a translated message may query (the
        # page's language, in a logged-in request): nothing is flushed until all are built.
        with db.session.no_autoflush:
            _apply(catalogue, report)
        db.session.flush()
        if not allow_retire:
            _check_retire_share(before)
    except Exception:
        db.session.rollback()
        raise
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return report


def _set(obj: Any, values: dict[str, Any], changed: list[str]) -> None:
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)


def _apply(catalogue: Catalogue, report: SyncReport) -> None:
    centres = {c.slug: c for c in db.session.scalars(select(Centre))}
    for spec in catalogue.centres:
        centre = centres.get(spec.slug)
        if centre is None:
            centre = centres[spec.slug] = Centre(
                slug=spec.slug, name_zh=spec.name_zh, name_en=spec.name_en
            )
            db.session.add(centre)
            report.added.append(_("centre %(id)s", id=spec.slug))
            continue
        changed: list[str] = []
        _set(centre, {"name_zh": spec.name_zh, "name_en": spec.name_en}, changed)
        if changed:
            report.changed.append((_("centre %(id)s", id=spec.slug), changed))

    facilities = {
        f.slug: f
        for f in db.session.scalars(select(Facility).options(selectinload(Facility.directions)))
    }
    units = {
        u.slug: u
        for u in db.session.scalars(
            select(Equipment).options(
                selectinload(Equipment.capabilities), selectinload(Equipment.maintenance)
            )
        )
    }
    listed_facilities: set[str] = set()
    listed_units: set[str] = set()
    for facility_spec in catalogue.facilities:
        facility = _upsert_facility(
            facility_spec, facilities.get(facility_spec.slug), centres, report
        )
        listed_facilities.add(facility_spec.slug)
        for unit_spec in facility_spec.equipment:
            _upsert_equipment(unit_spec, units.get(unit_spec.slug), facility, report)
            listed_units.add(unit_spec.slug)

    for slug, unit in sorted(units.items()):
        if slug not in listed_units and unit.status != EquipmentStatus.RETIRED.value:
            unit.status = EquipmentStatus.RETIRED.value
            report.retired.append(_("equipment %(id)s", id=slug))
    for slug, facility in sorted(facilities.items()):
        if slug not in listed_facilities and facility.active:
            facility.active = False
            report.retired.append(_("facility %(id)s", id=slug))
    _upsert_capabilities(catalogue, report)


def _upsert_capabilities(catalogue: Catalogue, report: SyncReport) -> None:
    """Name and describe every capability in both languages; one left out of the file stays."""
    existing = {c.slug: c for c in db.session.scalars(select(Capability))}
    for spec in catalogue.capabilities:
        capability = existing.get(spec.slug)
        values = {
            "name_zh": spec.name_zh,
            "name_en": spec.name_en,
            "description_zh": spec.description_zh,
            "description_en": spec.description_en,
            "keywords_zh": list(spec.keywords_zh),
            "keywords_en": list(spec.keywords_en),
        }
        if capability is None:
            db.session.add(Capability(slug=spec.slug, **values))
            report.added.append(_("capability %(id)s", id=spec.slug))
            continue
        changed: list[str] = []
        _set(capability, values, changed)
        if changed:
            report.changed.append((_("capability %(id)s", id=spec.slug), changed))


def _upsert_facility(
    spec: FacilitySpec,
    facility: Facility | None,
    centres: dict[str, Centre],
    report: SyncReport,
) -> Facility:
    what = _("facility %(id)s", id=spec.slug)
    values = {
        "centre": centres[spec.centre],
        "kind": spec.kind,
        "name_zh": spec.name_zh,
        "name_en": spec.name_en,
        "city_zh": spec.city_zh,
        "city_en": spec.city_en,
        "district_zh": spec.district_zh,
        "district_en": spec.district_en,
        "address_zh": spec.address_zh,
        "address_en": spec.address_en,
        "host_institutions": [dict(host) for host in spec.host_institutions],
        "timezone": spec.timezone,
        "opening_hours": spec.opening_hours,
        "closures": [dict(closure) for closure in spec.closures],
        "contact_name_zh": spec.contact_name_zh,
        "contact_name_en": spec.contact_name_en,
        "contact_email": spec.contact_email,
        "contact_phone": spec.contact_phone,
        # usage and billing
        "no_show_grace_minutes": spec.billing.no_show_grace_minutes,
        "charge_basis": spec.billing.charge_basis,
        "bill_changeover": spec.billing.bill_changeover,
    }
    if spec.sets_fair_share:
        values["fair_share_percent"] = spec.fair_share_percent
    if spec.sets_no_show_penalty:
        values["no_show_penalty_percent"] = spec.no_show_penalty_percent
    if facility is None:
        facility = Facility(slug=spec.slug, active=True, **values)
        facility.directions = [FacilityDirection(name=name) for name in spec.directions]
        db.session.add(facility)
        report.added.append(what)
        return facility
    changed: list[str] = []
    _set(facility, values, changed)
    if tuple(sorted(facility.direction_names)) != spec.directions:
        facility.directions = [FacilityDirection(name=name) for name in spec.directions]
        changed.append("directions")
    if changed:
        report.changed.append((what, changed))
    if not facility.active:
        facility.active = True
        report.reactivated.append(what)
    return facility


def _upsert_equipment(
    spec: EquipmentSpec, unit: Equipment | None, facility: Facility, report: SyncReport
) -> None:
    what = _("equipment %(id)s", id=spec.slug)
    values = {
        "facility": facility,
        "name_zh": spec.name_zh,
        "name_en": spec.name_en,
        "capacity": spec.capacity,
        "hourly_rate_cny": spec.hourly_rate_cny,
        "unattended_ok": spec.unattended_ok,
        "changeover_minutes": spec.changeover_minutes,
        "training_required": spec.training_required,
        "opening_hours": spec.opening_hours,
    }
    if unit is None:
        unit = Equipment(slug=spec.slug, status=spec.status, **values)
        unit.capabilities = [EquipmentCapability(name=name) for name in spec.capabilities]
        db.session.add(unit)
        _sync_maintenance(unit, spec)
        sync_rate_card(unit, spec.rates)
        report.added.append(what)
        return
    changed: list[str] = []
    _set(unit, values, changed)
    if tuple(unit.capability_names) != spec.capabilities:
        unit.capabilities = [EquipmentCapability(name=name) for name in spec.capabilities]
        changed.append("capabilities")
    if _sync_maintenance(unit, spec):
        changed.append("maintenance")
    if sync_rate_card(unit, spec.rates):
        changed.append("rates")
    if changed:
        report.changed.append((what, changed))
    if unit.status != spec.status:
        unit.status = spec.status
        if spec.status == EquipmentStatus.RETIRED.value:
            report.retired.append(what)
        else:
            report.reactivated.append(what)


def _sync_maintenance(unit: Equipment, spec: EquipmentSpec) -> bool:
    """Make the unit's catalogue maintenance match the file; tell whether anything changed.

    Windows dropped from the file are cancelled, not deleted, so calendar feeds can publish
    the cancellation; each change bumps the window's iCalendar sequence."""
    wanted = {(w.start, w.end): (w.reason_zh, w.reason_en) for w in spec.maintenance}
    existing = {(w.start, w.end): w for w in unit.maintenance}
    changed = False
    for key, window in existing.items():
        if window.source != CATALOGUE_SOURCE:
            continue
        if key not in wanted:
            if window.cancelled_at is None:
                window.cancelled_at = utcnow()
                window.sequence += 1
                changed = True
            continue
        if window.cancelled_at is not None or (window.reason_zh, window.reason_en) != wanted[key]:
            window.cancelled_at = None
            window.reason_zh, window.reason_en = wanted[key]
            window.sequence += 1
            changed = True
    for (start, end), (reason_zh, reason_en) in wanted.items():
        # A manual window on exactly the same slot already blocks it; the slot is unique.
        if (start, end) not in existing:
            unit.maintenance.append(
                MaintenanceWindow(
                    start=start,
                    end=end,
                    reason_zh=reason_zh,
                    reason_en=reason_en,
                    source=CATALOGUE_SOURCE,
                )
            )
            changed = True
    return changed
