"""The catalogue API's objects, one schema each: the query parameters it reads and the
facilities, units and capabilities it answers.

The same classes serialise the rows (`of()`) and are the OpenAPI document's components. The
query parameters are read by the catalogue's own readers (`CatalogueFilter.from_args`,
`matching.read_need`, `matching.read_limit`), which the pages share, so a bad value is refused
with the same message everywhere; the schemas state the same limits."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator

from app.apitypes import Answer, Moment, Query
from app.catalog import labels, matching, queries
from app.catalog.models import Direction, FacilityKind, MaintenanceWindow
from app.catalog.models import Equipment as EquipmentRow
from app.catalog.models import Facility as FacilityRow

Kind = Literal[tuple(kind.value for kind in FacilityKind)]  # type: ignore[valid-type]
DirectionName = Literal[tuple(direction.value for direction in Direction)]  # type: ignore[valid-type]

_KIND = {"type": "string", "enum": [kind.value for kind in FacilityKind]}
_DIRECTION = {"type": "string", "enum": [direction.value for direction in Direction]}
_FILTER_TEXT = {"type": "string", "maxLength": queries.MAX_TEXT}

# ---------------------------------------------------------------- query parameters


class FacilityQuery(Query):
    """The filters of the facility list; each is read by `CatalogueFilter.from_args`."""

    kind: Annotated[str | None, WithJsonSchema(_KIND)] = Field(
        None, description="Only facilities of this kind"
    )
    direction: Annotated[str | None, WithJsonSchema(_DIRECTION)] = Field(
        None, description="Only facilities serving this industry direction"
    )
    city: Annotated[str | None, WithJsonSchema(_FILTER_TEXT)] = Field(
        None,
        description="Only facilities in this city, in English (case-insensitive) or Chinese",
    )
    q: Annotated[str | None, WithJsonSchema(_FILTER_TEXT)] = Field(
        None,
        description="Free text matched against capabilities, facility and equipment names "
        "and host institutions",
    )

    def catalogue_filter(self) -> queries.CatalogueFilter:
        """Return the filter these parameters ask for; BadRequest names a bad one."""
        return queries.CatalogueFilter.from_args(self.model_dump(exclude_none=True))


class MatchQuery(Query):
    """A need in words and how many capabilities to suggest for it."""

    q: Annotated[
        str,
        PlainValidator(matching.read_need),
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": matching.MAX_NEED,
                "pattern": matching.NEED_PATTERN,
            }
        ),
    ] = Field(description="The need, in the founder's own words")
    limit: Annotated[
        int,
        PlainValidator(matching.read_limit),
        WithJsonSchema({"type": "integer", "minimum": 1, "maximum": matching.MAX_LIMIT}),
    ] = Field(matching.DEFAULT_LIMIT, description="At most this many capabilities")

    @model_validator(mode="before")
    @classmethod
    def _absent_need_is_empty(cls, data: Any) -> Any:
        # A missing need is refused as an empty one is, by `read_need`, with its message.
        return {"q": None, **data} if isinstance(data, dict) else data


# ---------------------------------------------------------------- hours

Span = Annotated[
    list[Annotated[str, Field(pattern=r"^\d\d:\d\d$")]], Field(min_length=2, max_length=2)
]


class WeeklyHours(Answer):
    """Local wall-clock ranges per weekday, e.g. {"mon": [["08:30", "17:30"]]}; no day: closed."""

    mon: list[Span] = []
    tue: list[Span] = []
    wed: list[Span] = []
    thu: list[Span] = []
    fri: list[Span] = []
    sat: list[Span] = []
    sun: list[Span] = []


# ---------------------------------------------------------------- facilities and units


class FacilityRef(Answer):
    slug: str
    name_zh: str
    name_en: str

    @classmethod
    def of(cls, row: Any) -> FacilityRef:
        return cls(slug=row.slug, name_zh=row.name_zh, name_en=row.name_en)


class FacilitySummary(Answer):
    """A facility as listed: where it is, what it does, how many units."""

    slug: str
    name_zh: str
    name_en: str
    kind: Kind
    centre: FacilityRef
    city_zh: str
    city_en: str
    district_zh: str
    district_en: str
    directions: list[DirectionName]
    unit_count: Annotated[int, Field(ge=0)]
    capabilities: list[str]
    active: bool

    @staticmethod
    def fields(facility: FacilityRow) -> dict[str, Any]:
        return {
            "slug": facility.slug,
            "name_zh": facility.name_zh,
            "name_en": facility.name_en,
            "kind": facility.kind,
            "centre": FacilityRef.of(facility.centre),
            "city_zh": facility.city_zh,
            "city_en": facility.city_en,
            "district_zh": facility.district_zh,
            "district_en": facility.district_en,
            "directions": facility.direction_names,
            "unit_count": queries.active_unit_count(facility),
            "capabilities": queries.capabilities_of(facility),
            "active": facility.active,
        }

    @classmethod
    def of(cls, facility: FacilityRow) -> FacilitySummary:
        return cls(**cls.fields(facility))


class FacilityList(Answer):
    facilities: list[FacilitySummary]


class Equipment(Answer):
    """An equipment unit with everything a request needs to know about it."""

    slug: str
    name_zh: str
    name_en: str
    facility: str = Field(description="the facility's slug")
    capabilities: list[str]
    capacity: Annotated[int, Field(ge=1)]
    hourly_rate_cny: Annotated[float, Field(ge=0)]
    unattended_ok: bool
    changeover_minutes: Annotated[int, Field(ge=0)]
    training_required: bool
    status: Literal["active", "retired"]
    opening_hours: Literal["always"] | WeeklyHours | None = Field(
        description="null: the facility's hours; \"always\": around the clock; else the unit's "
        "own weekly hours"
    )

    @staticmethod
    def fields(unit: EquipmentRow) -> dict[str, Any]:
        return {
            "slug": unit.slug,
            "name_zh": unit.name_zh,
            "name_en": unit.name_en,
            "facility": unit.facility.slug,
            "capabilities": unit.capability_names,
            "capacity": unit.capacity,
            "hourly_rate_cny": float(unit.hourly_rate_cny),
            "unattended_ok": unit.unattended_ok,
            "changeover_minutes": unit.changeover_minutes,
            "training_required": unit.training_required,
            "status": unit.status,
            "opening_hours": unit.opening_hours,
        }

    @classmethod
    def of(cls, unit: EquipmentRow) -> Equipment:
        return cls(**cls.fields(unit))


class HostInstitution(Answer):
    name_zh: str
    name_en: str


class FacilityClosure(Answer):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    start: Annotated[str, WithJsonSchema({"type": "string", "format": "date"})] = Field(
        alias="from"
    )
    end: Annotated[str, WithJsonSchema({"type": "string", "format": "date"})] = Field(alias="to")
    reason_zh: str
    reason_en: str


class FacilityContact(Answer):
    name_zh: str
    name_en: str
    email: str
    phone: str


class Facility(FacilitySummary):
    """A facility with its hours, closures, contact and every unit (retired too)."""

    address_zh: str
    address_en: str
    host_institutions: list[HostInstitution]
    timezone: str = Field(description="IANA time zone of the hours and closures")
    opening_hours: WeeklyHours
    closures: list[FacilityClosure]
    contact: FacilityContact
    equipment: list[Equipment]

    @classmethod
    def of(cls, facility: FacilityRow) -> Facility:
        return cls(
            **FacilitySummary.fields(facility),
            address_zh=facility.address_zh,
            address_en=facility.address_en,
            host_institutions=[HostInstitution(**host) for host in facility.host_institutions],
            timezone=facility.timezone,
            opening_hours=facility.opening_hours,
            closures=[
                FacilityClosure(
                    start=closure["from"],
                    end=closure["to"],
                    reason_zh=closure.get("reason_zh", ""),
                    reason_en=closure.get("reason_en", ""),
                )
                for closure in facility.closures
            ],
            contact=FacilityContact(
                name_zh=facility.contact_name_zh,
                name_en=facility.contact_name_en,
                email=facility.contact_email,
                phone=facility.contact_phone,
            ),
            equipment=[Equipment.of(unit) for unit in facility.equipment],
        )


class UpcomingMaintenance(Answer):
    start: Moment
    end: Moment
    reason_zh: str | None = Field(
        description="why, in Chinese as its manager wrote it; empty when written in English "
        "only; null unless signed in"
    )
    reason_en: str | None = Field(
        description="why, in English as its manager wrote it; empty when written in Chinese "
        "only; null unless signed in"
    )

    @classmethod
    def of(cls, window: MaintenanceWindow, *, with_reason: bool) -> UpcomingMaintenance:
        return cls(
            start=window.start,
            end=window.end,
            reason_zh=window.reason_zh if with_reason else None,
            reason_en=window.reason_en if with_reason else None,
        )


class EquipmentDetail(Equipment):
    """An equipment unit with the hours that apply to it and its upcoming maintenance."""

    effective_opening_hours: Literal["always"] | WeeklyHours = Field(
        description="the hours that apply: the unit's own, else the facility's"
    )
    timezone: str
    maintenance: list[UpcomingMaintenance]


# ---------------------------------------------------------------- capabilities


class Capability(Answer):
    name: str = Field(description="the slug a request step asks for")
    name_zh: str
    name_en: str
    unit_count: Annotated[int, Field(ge=1)]
    facilities: list[FacilityRef]

    @classmethod
    def all(cls) -> list[Capability]:
        """Return every capability with its active units, named in both languages."""
        named = labels.capability_names()
        listed = []
        for summary in queries.capability_summaries():
            capability = named.get(summary.name)
            listed.append(
                cls(
                    name=summary.name,
                    name_zh=capability.name_zh if capability else summary.name,
                    name_en=capability.name_en if capability else summary.name,
                    unit_count=summary.unit_count,
                    facilities=[FacilityRef.of(f) for f in summary.facilities],
                )
            )
        return listed


class CapabilityList(Answer):
    capabilities: list[Capability]


class CapabilityMatch(Answer):
    """One suggested capability: its score, the units offering it, and why."""

    capability: str = Field(description="the capability's slug")
    score: Annotated[float, Field(ge=0)] = Field(
        description="how well it fits the need (BM25); only the order means something"
    )
    units: list[str] = Field(
        description="slugs of the active units offering it, the best fitting first"
    )
    why: list[str] = Field(description="the words of the need that matched it")

    @classmethod
    def of(cls, match: matching.Match) -> CapabilityMatch:
        return cls(
            capability=match.capability,
            score=match.score,
            units=list(match.units),
            why=list(match.why),
        )


class CapabilityMatches(Answer):
    matches: list[CapabilityMatch]
