"""The building blocks of the API's schemas: strict JSON types bounded as the database stores
them, dates and times in the supported range, and the translation of a schema's refusal into
the problem body that names the field.

Bodies are strict (a number is not a string, `true` is not 1, no unknown field); query
parameters arrive as text and are read by the `Query*` types, as strictly."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

import pydantic
from flask_babel import gettext as _
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from app import dates
from app.database import MAX_INTEGER, MIN_INTEGER
from app.errors import AppError, BadRequest, ValidationError


class Body(BaseModel):
    """A request body: strict JSON types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """The query parameters of an operation; each field is a parameter, read from text."""

    model_config = ConfigDict(extra="forbid")


class Answer(BaseModel):
    """A response object: every field is always given, and nothing else."""

    model_config = ConfigDict(extra="forbid")


Int = Annotated[StrictInt, Field(ge=MIN_INTEGER, le=MAX_INTEGER)]
Text = StrictStr
Flag = StrictBool
# Strict floats take JSON integers too (never true or "5"); one type, so a refusal names the
# field itself, not a member of a union.
Number = StrictFloat


# ---------------------------------------------------------------- dates and times

# RFC 3339, the date-time of the OpenAPI document: Python alone would also take "2027-03-01
# 09:00+0800" or "20270301T0900", which other clients of the same document would refuse.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _refuse(message: str) -> PydanticCustomError:
    # The message is already translated; braces would be read as placeholders.
    return PydanticCustomError("pilotslot", message.replace("{", "{{").replace("}", "}}"))


def parse_moment(value: Any, name: str) -> datetime:
    """Read an RFC 3339 date and time with its UTC offset, in the supported range."""
    if not isinstance(value, str):
        raise _refuse(_("Give an ISO 8601 date and time with offset."))
    try:
        if not _RFC3339.fullmatch(value):
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _refuse(_("Not an ISO 8601 date and time: %(v)s", v=value[:40])) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _refuse(_("Give the time with its UTC offset, e.g. 2027-03-01T09:00:00+08:00."))
    if not dates.supported(moment):
        raise _refuse(dates.field_message(name))
    return moment


def _moment(value: Any, info: ValidationInfo) -> datetime:
    if isinstance(value, datetime):  # a row's own value, on its way out
        return value
    return parse_moment(value, info.field_name or "value")


def _day(value: Any, info: ValidationInfo) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    name = info.field_name or "value"
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise _refuse(_("%(name)s must be a date written YYYY-MM-DD.", name=name))
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _refuse(_("%(name)s must be a date written YYYY-MM-DD.", name=name)) from None
    if not dates.supported(day):
        raise _refuse(dates.field_message(name))
    return day


def _iso(value: date) -> str:
    return value.isoformat()


Moment = Annotated[
    datetime,
    PlainValidator(_moment),
    PlainSerializer(_iso, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "description": dates.openapi_description()}
    ),
]
"""A date and time with its UTC offset (RFC 3339), from 2000-01-01 to 2100-12-31."""

Day = Annotated[
    date,
    PlainValidator(_day),
    PlainSerializer(_iso, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "format": "date", "description": dates.openapi_description()}
    ),
]
"""A calendar date written YYYY-MM-DD, from 2000-01-01 to 2100-12-31."""


_ISO_MONTH = re.compile(r"(20\d{2}|2100)-(0[1-9]|1[0-2])")


def _month(value: Any, info: ValidationInfo) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.replace(day=1)
    name = info.field_name or "value"
    if not isinstance(value, str) or not _ISO_MONTH.fullmatch(value):
        raise _refuse(
            _("%(name)s must be a month written YYYY-MM, from 2000-01 to 2100-12.", name=name)
        )
    return date(int(value[:4]), int(value[5:]), 1)


def _iso_month(value: date) -> str:
    return f"{value:%Y-%m}"


Month = Annotated[
    date,
    PlainValidator(_month),
    PlainSerializer(_iso_month, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^" + _ISO_MONTH.pattern + "$",
            "description": "a calendar month written YYYY-MM, from 2000-01 to 2100-12",
        }
    ),
]
"""A calendar month written YYYY-MM (the first day of it, as a date), 2000-01 to 2100-12."""


# ---------------------------------------------------------------- query parameters


def _query_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    # isdigit() alone takes "²", which int() then refuses.
    if not (isinstance(value, str) and value.isascii() and value.isdigit()):
        raise _refuse(_("Must be a whole number."))
    if int(value) > MAX_INTEGER:
        raise _refuse(_("Must be at most %(n)d.", n=MAX_INTEGER))
    return int(value)


def _query_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text not in ("true", "false", "1", "0"):
        raise _refuse(_("Must be true or false."))
    return text in ("true", "1")


QueryInt = Annotated[
    int,
    PlainValidator(_query_int),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_INTEGER}),
]
"""A whole number in ASCII digits."""

QueryFlag = Annotated[bool, PlainValidator(_query_flag), WithJsonSchema({"type": "boolean"})]
"""true or false (1 or 0)."""


# ---------------------------------------------------------------- refusals


# Fields whose limits have a message of their own, said alike by form, service and API.
_LIMIT_MESSAGES: dict[tuple[str, str], Any] = {}
_BELOW = ("greater_than_equal", "greater_than", "too_short")
_ABOVE = ("less_than_equal", "less_than", "too_long", "string_too_long")


def limit_message(field: str, message: Any, *, below: bool = True, above: bool = True) -> None:
    """Refuse a value of `field` outside its limits with the limit's own (lazy) message."""
    for kind in (_BELOW if below else ()) + (_ABOVE if above else ()):
        _LIMIT_MESSAGES[(field, kind)] = message


def _message(error: Any, *, in_query: bool, name: str) -> str:
    """Say what is wrong with one value, in the caller's language."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "pilotslot":
        return str(error["msg"])
    own = _LIMIT_MESSAGES.get((name.rsplit(".", 1)[-1], kind))
    if own is not None:
        return str(own)
    simple = {
        "missing": _("This field is required."),
        "extra_forbidden": _("Unknown query parameter.") if in_query else _("Unknown field."),
        "int_type": _("Must be a whole number."),
        "int_parsing": _("Must be a whole number."),
        "int_from_float": _("Must be a whole number."),
        "string_type": _("Must be a string."),
        "bool_type": _("Must be true or false."),
        "bool_parsing": _("Must be true or false."),
        "float_type": _("Must be a number."),
        "float_parsing": _("Must be a number."),
        "list_type": _("Must be a list."),
        "model_type": _("Must be a JSON object."),
        "dict_type": _("Must be a JSON object."),
        "model_attributes_type": _("Must be a JSON object."),
    }
    if kind in simple:
        return simple[kind]
    if kind in ("greater_than_equal", "greater_than"):
        return _("Must be at least %(n)d.", n=ctx.get("ge", ctx.get("gt", 0)))
    if kind in ("less_than_equal", "less_than"):
        return _("Must be at most %(n)d.", n=ctx.get("le", ctx.get("lt", 0)))
    if kind == "string_too_long":
        return _("Use at most %(n)d characters.", n=ctx["max_length"])
    if kind == "too_short":
        return _("Give at least %(n)d.", n=ctx["min_length"])
    if kind == "too_long":
        return _("Give at most %(n)d.", n=ctx["max_length"])
    if kind in ("enum", "literal_error"):
        values = str(ctx.get("expected", "")).replace("'", "")
        if in_query:
            return _(
                "The parameter %(name)s must be one of: %(values)s.", name=name, values=values
            )
        return _("Must be one of: %(values)s.", values=values)
    return _("This value is not valid.")


def field_name(location: tuple[int | str, ...]) -> str:
    """Name a value as the API names fields: `steps[0].note`; the body itself is `body`."""
    name = ""
    for part in location:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def refusal(error: pydantic.ValidationError, *, in_query: bool = False) -> AppError:
    """Turn a schema's refusal into the API's error: 422 naming every bad field of a body, 400
    naming the first bad query parameter."""
    errors: dict[str, str] = {}
    for entry in error.errors(include_url=False):
        name = field_name(entry["loc"])
        errors.setdefault(name, _message(entry, in_query=in_query, name=name))
    first = next(iter(errors))
    if in_query:
        return BadRequest(errors[first], field=first)
    return ValidationError(errors[first], field=first, errors=errors)
