"""Read facilities.yaml: parse with line numbers, validate, and return plain typed specs.

Validation is a JSON Schema (Draft 2020-12, closed objects) followed by the checks a schema
cannot state: unique ids, centre references, time zones, time ranges, dates and offsets. Every
problem names the file line and the path of the offending field."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import yaml
from flask_babel import gettext as _
from jsonschema import Draft202012Validator
from jsonschema import ValidationError as SchemaError

from app import dates
from app.catalog.models import (
    FAIR_SHARE_MAX_PERCENT,
    FAIR_SHARE_MIN_PERCENT,
    NO_SHOW_PENALTY_MAX_PERCENT,
    NO_SHOW_PENALTY_MIN_PERCENT,
    Direction,
    EquipmentStatus,
    FacilityKind,
)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_PROBLEMS = 10
# The matching glossary of one capability: what it is, and the words people use for it.
MAX_DESCRIPTION = 1000
MAX_KEYWORDS = 60
MAX_KEYWORD = 100


def N_(message: str) -> str:
    """Mark a message for extraction only; it is translated (with _) where it is shown."""
    return message


_SLUG = {
    "type": "string",
    "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$",
    "maxLength": 64,
    "x-message": N_("must be a slug: lower-case letters, digits and single hyphens"),
}
_DATE = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}$",
    "x-message": N_("must be a date written YYYY-MM-DD"),
}
_SPAN = {
    "type": "string",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$",
    "x-message": N_("must be a time range written HH:MM-HH:MM"),
}


def _text(max_length: int, *, required: bool = True) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, **({"minLength": 1} if required else {})}


def _both(*names: str, max_length: int, required: bool = False) -> dict[str, Any]:
    """Return the properties `name_zh` and `name_en` of each displayed text."""
    return {
        f"{name}_{language}": _text(max_length, required=required)
        for name in names
        for language in ("zh", "en")
    }


def _pairs(*names: str) -> dict[str, list[str]]:
    """Require each displayed text in both languages once it is given in one."""
    pairs: dict[str, list[str]] = {}
    for name in names:
        pairs[f"{name}_zh"] = [f"{name}_en"]
        pairs[f"{name}_en"] = [f"{name}_zh"]
    return pairs


SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "capabilities", "centres", "facilities"],
    "properties": {
        "version": {"const": 1},
        "capabilities": {
            "type": "object",
            "propertyNames": _SLUG,
            "additionalProperties": {"$ref": "#/$defs/capability"},
        },
        "centres": {"type": "array", "items": {"$ref": "#/$defs/centre"}},
        "facilities": {"type": "array", "items": {"$ref": "#/$defs/facility"}},
    },
    "$defs": {
        "weekly": {
            "type": "object",
            "additionalProperties": False,
            "properties": {day: {"type": "array", "items": _SPAN} for day in DAYS},
            "x-message": N_("must be a mapping of days (mon..sun) to time ranges"),
        },
        "capability": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name_zh", "name_en"],
            "dependentRequired": _pairs("description", "keywords"),
            "properties": {
                **_both("name", max_length=200, required=True),
                **_both("description", max_length=MAX_DESCRIPTION),
                **{
                    f"keywords_{language}": {
                        "type": "array",
                        "maxItems": MAX_KEYWORDS,
                        "uniqueItems": True,
                        "items": _text(MAX_KEYWORD),
                    }
                    for language in ("zh", "en")
                },
            },
        },
        "host": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name_zh", "name_en"],
            "properties": _both("name", max_length=200, required=True),
            "x-message": N_("must be a mapping with name_zh and name_en"),
        },
        "centre": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "name_zh", "name_en"],
            "properties": {"id": _SLUG, "name_zh": _text(200), "name_en": _text(200)},
        },
        "closure": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "date": _DATE,
                "from": _DATE,
                "to": _DATE,
                **_both("reason", max_length=200),
            },
            "dependentRequired": _pairs("reason"),
        },
        "contact": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                **_both("name", max_length=100),
                "email": {
                    "type": "string",
                    "maxLength": 200,
                    "pattern": r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$",
                    "x-message": N_("must be an e-mail address"),
                },
                "phone": _text(50, required=False),
            },
            "dependentRequired": _pairs("name"),
        },
        "maintenance": {
            "type": "object",
            "additionalProperties": False,
            "required": ["start", "end"],
            "properties": {
                "start": {"type": "string"},
                "end": {"type": "string"},
                **_both("reason", max_length=200),
            },
            "dependentRequired": _pairs("reason"),
        },
        "facility": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "id",
                "centre",
                "kind",
                "name_zh",
                "name_en",
                "city_zh",
                "city_en",
                "timezone",
            ],
            "dependentRequired": _pairs("district", "address"),
            "properties": {
                "id": _SLUG,
                "centre": _SLUG,
                "kind": {"enum": [kind.value for kind in FacilityKind]},
                "name_zh": _text(200),
                "name_en": _text(200),
                **_both("city", max_length=100, required=True),
                **_both("district", max_length=100),
                **_both("address", max_length=300),
                "host_institutions": {"type": "array", "items": {"$ref": "#/$defs/host"}},
                "directions": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"enum": [direction.value for direction in Direction]},
                },
                "timezone": {"type": "string", "maxLength": 64},
                "opening_hours": {"$ref": "#/$defs/weekly"},
                "closures": {"type": "array", "items": {"$ref": "#/$defs/closure"}},
                "contact": {"$ref": "#/$defs/contact"},
                "fair_share_percent": {
                    "if": {"type": "integer"},
                    "then": {"minimum": FAIR_SHARE_MIN_PERCENT, "maximum": FAIR_SHARE_MAX_PERCENT},
                    "else": {
                        "type": "null",
                        "x-message": N_("must be a whole number of percent, or null for no limit"),
                    },
                },
                "no_show_penalty_percent": {
                    "if": {"type": "integer"},
                    "then": {
                        "minimum": NO_SHOW_PENALTY_MIN_PERCENT,
                        "maximum": NO_SHOW_PENALTY_MAX_PERCENT,
                    },
                    "else": {
                        "type": "null",
                        "x-message": N_("must be a whole number of percent, or null for off"),
                    },
                },
                "equipment": {"type": "array", "items": {"$ref": "#/$defs/equipment"}},
            },
        },
        "equipment": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "name_zh", "name_en", "capabilities", "hourly_rate_cny"],
            "properties": {
                "id": _SLUG,
                "name_zh": _text(200),
                "name_en": _text(200),
                "capabilities": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": _SLUG,
                },
                "capacity": {"type": "integer", "minimum": 1, "maximum": 1000},
                "hourly_rate_cny": {"type": "number", "minimum": 0, "maximum": 99_999_999},
                "unattended_ok": {"type": "boolean"},
                "changeover_minutes": {"type": "integer", "minimum": 0, "maximum": 10_080},
                "training_required": {"type": "boolean"},
                "status": {"enum": [status.value for status in EquipmentStatus]},
                "opening_hours": {
                    "if": {"type": "string"},
                    "then": {
                        "const": "always",
                        "x-message": N_('must be "always" or a mapping of days to time ranges'),
                    },
                    "else": {"$ref": "#/$defs/weekly"},
                },
                "maintenance": {"type": "array", "items": {"$ref": "#/$defs/maintenance"}},
            },
        },
    },
}


# ---------------------------------------------------------------- usage and billing (issue 15)
# A facility's `billing` settings and a unit's `rates` (yuan, at most two decimals; a kind left
# out pays hourly_rate_cny). Kept in this block so other extensions of SCHEMA stay apart.
MAX_GRACE_MINUTES = 24 * 60
RATE_KINDS = ("incubated", "startup", "university", "external")
_YUAN = {"type": "number", "minimum": 0, "maximum": 99_999_999}
SCHEMA["$defs"]["billing"] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "no_show_grace_minutes": {"type": "integer", "minimum": 1, "maximum": MAX_GRACE_MINUTES},
        "charge_basis": {"enum": ["actual", "booked"]},
        "bill_changeover": {"type": "boolean"},
    },
}
SCHEMA["$defs"]["rates"] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **{kind: _YUAN for kind in RATE_KINDS},
        "assisted_surcharge": _YUAN,
        "minimum_charge": _YUAN,
    },
}
SCHEMA["$defs"]["facility"]["properties"]["billing"] = {"$ref": "#/$defs/billing"}
SCHEMA["$defs"]["equipment"]["properties"]["rates"] = {"$ref": "#/$defs/rates"}


@dataclass(frozen=True)
class BillingSpec:
    no_show_grace_minutes: int = 30
    charge_basis: str = "actual"
    bill_changeover: bool = False


def _billing(item: dict[str, Any]) -> BillingSpec:
    given = item.get("billing", {})
    return BillingSpec(
        no_show_grace_minutes=given.get("no_show_grace_minutes", 30),
        charge_basis=given.get("charge_basis", "actual"),
        bill_changeover=given.get("bill_changeover", False),
    )


def _rates(
    item: dict[str, Any], hourly: Decimal, path: str, problems: list[tuple[str, str]]
) -> dict[str, int]:
    """Return a unit's rate card in fen, named as app.billing.models.RateCard's columns."""
    given = item.get("rates", {})
    where = join_path(path, "rates")

    def fen(key: str, default: Decimal) -> int:
        value = given.get(key)
        amount = default if value is None else _rate(value, join_path(where, key), problems)
        return int(amount * 100)

    return {
        **{f"{kind}_fen": fen(kind, hourly) for kind in RATE_KINDS},
        "assisted_surcharge_fen": fen("assisted_surcharge", Decimal(0)),
        "minimum_charge_fen": fen("minimum_charge", Decimal(0)),
    }


# ---------------------------------------------------------------- end of usage and billing


# ---------------------------------------------------------------- specs


@dataclass(frozen=True)
class CentreSpec:
    slug: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class CapabilitySpec:
    slug: str
    name_zh: str
    name_en: str
    description_zh: str = ""
    description_en: str = ""
    keywords_zh: tuple[str, ...] = ()
    keywords_en: tuple[str, ...] = ()


@dataclass(frozen=True)
class MaintenanceSpec:
    start: datetime
    end: datetime
    reason_zh: str
    reason_en: str


@dataclass(frozen=True)
class EquipmentSpec:
    slug: str
    name_zh: str
    name_en: str
    capabilities: tuple[str, ...]
    capacity: int
    hourly_rate_cny: Decimal
    unattended_ok: bool
    changeover_minutes: int
    training_required: bool
    status: str
    # None: the facility's hours; "always"; or {"mon": [["08:30", "17:30"]], ...}.
    opening_hours: Any
    maintenance: tuple[MaintenanceSpec, ...]
    # The unit's rate card in fen (usage and billing).
    rates: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FacilitySpec:
    slug: str
    centre: str
    kind: str
    name_zh: str
    name_en: str
    city_zh: str
    city_en: str
    district_zh: str
    district_en: str
    address_zh: str
    address_en: str
    host_institutions: tuple[dict[str, str], ...]
    directions: tuple[str, ...]
    timezone: str
    opening_hours: dict[str, list[list[str]]]
    closures: tuple[dict[str, str], ...]
    contact_name_zh: str
    contact_name_en: str
    contact_email: str
    contact_phone: str
    equipment: tuple[EquipmentSpec, ...]
    # Whether the file names fair_share_percent: only then does a sync write it, so a
    # manager's setting on the facility page stands while the file leaves it out.
    sets_fair_share: bool = False
    fair_share_percent: int | None = None
    # The same for the no-show weight setting (app.booking.problems.no_show_factor).
    sets_no_show_penalty: bool = False
    no_show_penalty_percent: int | None = None
    # Usage and billing settings.
    billing: BillingSpec = BillingSpec()


@dataclass(frozen=True)
class Catalogue:
    capabilities: tuple[CapabilitySpec, ...]
    centres: tuple[CentreSpec, ...]
    facilities: tuple[FacilitySpec, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, where it is and what is wrong."""

    line: int | None
    path: str
    message: str

    def format(self, filename: str) -> str:
        """Return the problem as `file:LINE: path: message`."""
        where = f"{filename}:{self.line}" if self.line else filename
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass
class Problems:
    """The problems of a file, in file order."""

    filename: str
    items: list[Problem] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Return one line per problem (at most MAX_PROBLEMS), led by a summary if several."""
        shown = [p.format(self.filename) for p in self.items[:MAX_PROBLEMS]]
        if len(self.items) <= 1:
            return shown
        summary = _(
            "%(file)s: %(count)d problems; nothing was written",
            file=self.filename,
            count=len(self.items),
        )
        if len(self.items) > MAX_PROBLEMS:
            shown.append(_("... and %(more)d more", more=len(self.items) - MAX_PROBLEMS))
        return [summary, *shown]


# ---------------------------------------------------------------- parsing


class _Loader(yaml.SafeLoader):
    """YAML without implicit timestamps: dates and times stay text, validated here."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def join_path(parent: str, key: str | int) -> str:
    """Return the path of a child: `facilities[2]`, `facilities[2].equipment`."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def _line_map(node: yaml.Node, path: str, lines: dict[str, int], problems: list[Problem]) -> None:
    """Record the line of every path under node; report keys given twice."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = join_path(path, key)
            if key in seen:
                problems.append(
                    Problem(key_node.start_mark.line + 1, child, _("is given more than once"))
                )
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _line_map(value_node, child, lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, join_path(path, index), lines, problems)


def parse(text: str) -> tuple[Any, dict[str, int], list[Problem]]:
    """Parse YAML text; return the data, the line of each path and any problems."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, [Problem(1, "", _("the file is empty"))]
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        return None, {}, [Problem(line, "", _("not valid YAML: %(e)s", e=error.problem or error))]
    except yaml.YAMLError as error:
        return None, {}, [Problem(None, "", _("not valid YAML: %(e)s", e=error))]
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    problems: list[Problem] = []
    _line_map(node, "", lines, problems)
    return data, lines, problems


# ---------------------------------------------------------------- schema errors

_TYPE_WORDS = {
    "string": N_("text"),
    "integer": N_("a whole number"),
    "number": N_("a number"),
    "boolean": N_("true or false"),
    "array": N_("a list"),
    "object": N_("a mapping"),
}


def _path_of(error: SchemaError) -> str:
    path = ""
    for key in error.absolute_path:
        path = join_path(path, key)
    return path


def _schema_problems(error: SchemaError) -> Iterator[tuple[str, str]]:
    """Yield (path, message) for one JSON Schema error, in the catalogue's words."""
    path = _path_of(error)
    kind, expected = error.validator, error.validator_value
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if kind == "required":
        # A text given in one language ("city") is reported once, as such, not as two
        # missing fields.
        missing = [
            name
            for name in expected
            if name not in error.instance and name[:-3] not in error.instance
        ]
        for name in missing:
            yield join_path(path, name), _("is required")
    elif kind == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        for name in error.instance:
            if name in known:
                continue
            if f"{name}_zh" in known:
                yield (
                    join_path(path, str(name)),
                    _(
                        "is written in one language: shown text needs %(zh)s and %(en)s",
                        zh=f"{name}_zh",
                        en=f"{name}_en",
                    ),
                )
            else:
                yield join_path(path, str(name)), _("is not a known field")
    elif kind == "dependentRequired":
        for given, needed in expected.items():
            if given in error.instance:
                for name in needed:
                    if name not in error.instance:
                        yield (
                            join_path(path, given),
                            _(
                                "is given without %(other)s: shown text needs both languages",
                                other=name,
                            ),
                        )
    elif custom and kind in ("pattern", "const", "type", "propertyNames"):
        yield path, _(custom)
    elif kind == "type":
        yield path, _("must be %(what)s", what=_(_TYPE_WORDS.get(str(expected), str(expected))))
    elif kind == "minimum":
        yield path, _("must be at least %(n)s", n=expected)
    elif kind == "maximum":
        yield path, _("must be at most %(n)s", n=expected)
    elif kind == "enum":
        yield path, _("must be one of: %(values)s", values=", ".join(map(str, expected)))
    elif kind == "const":
        yield path, _("must be %(value)s", value=expected)
    elif kind == "minLength":
        yield path, _("must not be empty")
    elif kind == "maxLength":
        yield path, _("must be at most %(n)s characters", n=expected)
    elif kind == "minItems":
        yield path, _("must list at least %(n)s", n=expected)
    elif kind == "uniqueItems":
        yield path, _("must not list an item twice")
    else:
        yield path, error.message


def _line(lines: dict[str, int], path: str) -> int | None:
    """Return the line of a path, or of its nearest ancestor in the file."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return lines.get("")


# ---------------------------------------------------------------- semantic checks


def _spans(spans: list[str], path: str, problems: list[tuple[str, str]]) -> list[list[str]]:
    pairs = sorted([span.split("-") for span in spans])
    for index, (opens, closes) in enumerate(pairs):
        if opens >= closes:
            problems.append(
                (path, _("%(span)s: the start must come before the end", span=f"{opens}-{closes}"))
            )
        elif index and opens < pairs[index - 1][1]:
            problems.append((path, _("time ranges must not overlap")))
    return pairs


def _weekly(hours: dict[str, list[str]], path: str, problems: list[tuple[str, str]]) -> Any:
    return {
        day: _spans(hours[day], join_path(path, day), problems) for day in DAYS if hours.get(day)
    }


def _outside_range(path: str, problems: list[tuple[str, str]]) -> None:
    problems.append(
        (
            path,
            _(
                "must be a date from %(first)s to %(last)s",
                first=dates.FIRST_DAY.isoformat(),
                last=dates.LAST_DAY.isoformat(),
            ),
        )
    )


def _date(text: str, path: str, problems: list[tuple[str, str]]) -> date | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        problems.append((path, _("%(value)s is not a calendar date", value=text)))
        return None
    if not dates.supported(day):
        _outside_range(path, problems)
        return None
    return day


def _moment(text: str, path: str, problems: list[tuple[str, str]]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(
            (path, _("must be an ISO 8601 date and time, like 2027-01-18T08:30+08:00"))
        )
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        problems.append((path, _("must carry its UTC offset, like 2027-01-18T08:30+08:00")))
        return None
    if not dates.supported(moment):
        _outside_range(path, problems)
        return None
    return moment.astimezone(UTC)


def _closures(
    items: list[dict[str, str]], path: str, problems: list[tuple[str, str]]
) -> tuple[dict[str, str], ...]:
    closures = []
    for index, item in enumerate(items):
        where = join_path(path, index)
        if "date" in item and ("from" in item or "to" in item):
            problems.append((where, _("give either date, or from and to")))
            continue
        if "date" not in item and not ("from" in item and "to" in item):
            problems.append((where, _("give either date, or from and to")))
            continue
        if "date" in item:
            first = last = _date(item["date"], join_path(where, "date"), problems)
        else:
            first = _date(item["from"], join_path(where, "from"), problems)
            last = _date(item["to"], join_path(where, "to"), problems)
        if first and last and last < first:
            problems.append((join_path(where, "to"), _("must not come before from")))
        if first and last:
            closures.append(
                {
                    "from": first.isoformat(),
                    "to": last.isoformat(),
                    "reason_zh": item.get("reason_zh", ""),
                    "reason_en": item.get("reason_en", ""),
                }
            )
    return tuple(closures)


def _rate(value: float, path: str, problems: list[tuple[str, str]]) -> Decimal:
    rate = Decimal(str(value))
    if rate != rate.quantize(Decimal("0.01")):
        problems.append((path, _("must have at most two decimal places")))
    return rate.quantize(Decimal("0.01"))


def _equipment(item: dict[str, Any], path: str, problems: list[tuple[str, str]]) -> EquipmentSpec:
    hours = item.get("opening_hours")
    if isinstance(hours, dict):
        # An empty weekly map says nothing of its own: the facility's hours apply.
        hours = _weekly(hours, join_path(path, "opening_hours"), problems) or None
    windows = []
    for index, window in enumerate(item.get("maintenance", [])):
        where = join_path(join_path(path, "maintenance"), index)
        start = _moment(window["start"], join_path(where, "start"), problems)
        end = _moment(window["end"], join_path(where, "end"), problems)
        if start and end and end <= start:
            problems.append((join_path(where, "end"), _("must come after start")))
        elif start and end:
            windows.append(
                MaintenanceSpec(
                    start, end, window.get("reason_zh", ""), window.get("reason_en", "")
                )
            )
    return EquipmentSpec(
        slug=item["id"],
        name_zh=item["name_zh"],
        name_en=item["name_en"],
        capabilities=tuple(sorted(item["capabilities"])),
        capacity=item.get("capacity", 1),
        hourly_rate_cny=_rate(
            item["hourly_rate_cny"], join_path(path, "hourly_rate_cny"), problems
        ),
        unattended_ok=item.get("unattended_ok", False),
        changeover_minutes=item.get("changeover_minutes", 0),
        training_required=item.get("training_required", False),
        status=item.get("status", EquipmentStatus.ACTIVE.value),
        opening_hours=hours,
        maintenance=tuple(windows),
        rates=_rates(item, _rate(item["hourly_rate_cny"], "", []), path, problems),
    )


def _timezone(name: str, path: str, problems: list[tuple[str, str]]) -> None:
    if name not in _zones():
        problems.append((path, _("%(zone)s is not an IANA time zone", zone=name)))


@cache
def _zones() -> frozenset[str]:
    # The zones zoneinfo can load; a file path or "localtime" is not a zone name.
    return frozenset(available_timezones())


def _capabilities(data: dict[str, Any]) -> tuple[CapabilitySpec, ...]:
    return tuple(
        CapabilitySpec(
            slug,
            item["name_zh"],
            item["name_en"],
            item.get("description_zh", ""),
            item.get("description_en", ""),
            tuple(item.get("keywords_zh", ())),
            tuple(item.get("keywords_en", ())),
        )
        for slug, item in sorted(data["capabilities"].items())
    )


def _centres(data: dict[str, Any], problems: list[tuple[str, str]]) -> tuple[CentreSpec, ...]:
    centres = []
    centre_ids: set[str] = set()
    for index, item in enumerate(data["centres"]):
        if item["id"] in centre_ids:
            problems.append((f"centres[{index}].id", _("%(id)s is used twice", id=item["id"])))
        centre_ids.add(item["id"])
        centres.append(CentreSpec(item["id"], item["name_zh"], item["name_en"]))
    return tuple(centres)


def _units(
    item: dict[str, Any],
    path: str,
    declared: set[str],
    equipment_ids: set[str],
    problems: list[tuple[str, str]],
) -> tuple[EquipmentSpec, ...]:
    """Return a facility's units; report ids used twice across the file and unknown
    capabilities."""
    units = []
    for unit_index, unit in enumerate(item.get("equipment", [])):
        unit_path = f"{path}.equipment[{unit_index}]"
        if unit["id"] in equipment_ids:
            problems.append((f"{unit_path}.id", _("%(id)s is used twice", id=unit["id"])))
        equipment_ids.add(unit["id"])
        for cap_index, name in enumerate(unit["capabilities"]):
            if name not in declared:
                problems.append(
                    (
                        f"{unit_path}.capabilities[{cap_index}]",
                        _(
                            "%(name)s is not in the capabilities section, which names "
                            "it in both languages",
                            name=name,
                        ),
                    )
                )
        units.append(_equipment(unit, unit_path, problems))
    return tuple(units)


def _facility(
    item: dict[str, Any],
    path: str,
    units: tuple[EquipmentSpec, ...],
    problems: list[tuple[str, str]],
) -> FacilitySpec:
    contact = item.get("contact", {})
    fair_share = item.get("fair_share_percent")
    no_show_penalty = item.get("no_show_penalty_percent")
    return FacilitySpec(
        slug=item["id"],
        centre=item["centre"],
        kind=item["kind"],
        name_zh=item["name_zh"],
        name_en=item["name_en"],
        city_zh=item["city_zh"],
        city_en=item["city_en"],
        district_zh=item.get("district_zh", ""),
        district_en=item.get("district_en", ""),
        address_zh=item.get("address_zh", ""),
        address_en=item.get("address_en", ""),
        host_institutions=tuple(
            {"name_zh": host["name_zh"], "name_en": host["name_en"]}
            for host in item.get("host_institutions", [])
        ),
        directions=tuple(sorted(item.get("directions", []))),
        timezone=item["timezone"],
        opening_hours=_weekly(item.get("opening_hours", {}), f"{path}.opening_hours", problems),
        closures=_closures(item.get("closures", []), f"{path}.closures", problems),
        contact_name_zh=contact.get("name_zh", ""),
        contact_name_en=contact.get("name_en", ""),
        contact_email=contact.get("email", ""),
        contact_phone=contact.get("phone", ""),
        equipment=units,
        sets_fair_share="fair_share_percent" in item,
        # JSON Schema counts 50.0 as a whole number; the column holds an integer.
        fair_share_percent=None if fair_share is None else int(fair_share),
        sets_no_show_penalty="no_show_penalty_percent" in item,
        no_show_penalty_percent=None if no_show_penalty is None else int(no_show_penalty),
        billing=_billing(item),
    )


def _catalogue(data: dict[str, Any], problems: list[tuple[str, str]]) -> Catalogue:
    capabilities = _capabilities(data)
    declared = {capability.slug for capability in capabilities}
    centres = _centres(data, problems)
    centre_ids = {centre.slug for centre in centres}
    facilities = []
    facility_ids: set[str] = set()
    equipment_ids: set[str] = set()
    for index, item in enumerate(data["facilities"]):
        path = f"facilities[{index}]"
        if item["id"] in facility_ids:
            problems.append((f"{path}.id", _("%(id)s is used twice", id=item["id"])))
        facility_ids.add(item["id"])
        if item["centre"] not in centre_ids:
            problems.append(
                (f"{path}.centre", _("no centre has the id %(id)s", id=item["centre"]))
            )
        _timezone(item["timezone"], f"{path}.timezone", problems)
        units = _units(item, path, declared, equipment_ids, problems)
        facilities.append(_facility(item, path, units, problems))
    return Catalogue(capabilities, centres, tuple(facilities))


_VALIDATOR = Draft202012Validator(SCHEMA)


def _nul_problems(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Name every text holding a NUL (YAML's "\\0"), which PostgreSQL cannot store."""
    if isinstance(node, str) and "\x00" in node:
        yield path, _("must not contain a NUL character")
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _nul_problems(value, join_path(path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _nul_problems(item, join_path(path, index))


def read(text: str, filename: str) -> tuple[Catalogue | None, Problems]:
    """Parse and validate a catalogue; return it, or None and what is wrong with it."""
    problems = Problems(filename)
    data, lines, parse_problems = parse(text)
    problems.items.extend(parse_problems)
    if problems.items:
        return None, problems
    found: list[tuple[str, str]] = []
    for error in _VALIDATOR.iter_errors(data):
        found.extend(_schema_problems(error))
    found.extend(_nul_problems(data, ""))
    catalogue = None if found else _catalogue(data, found)
    problems.items.extend(Problem(_line(lines, path), path, message) for path, message in found)
    problems.items.sort(key=lambda p: (p.line or 0, p.path))
    if problems.items:
        return None, problems
    return catalogue, problems
