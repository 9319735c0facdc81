"""Language choice: the user's setting, then the switch cookie, then the browser."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_decimal, format_percent
from flask import (
    Flask,
    Response,
    current_app,
    has_app_context,
    has_request_context,
    redirect,
    request,
    url_for,
)
from flask_babel import get_locale, gettext
from flask_login import current_user
from markupsafe import Markup

from app.database import write_transaction
from app.extensions import db
from app.httpsecurity import local_path

LANGUAGES = ("zh", "en")


def default_language() -> str:
    """Return the language spoken when nobody chose one: BABEL_DEFAULT_LOCALE, else Chinese."""
    configured = current_app.config.get("BABEL_DEFAULT_LOCALE") if has_app_context() else None
    return configured if configured in LANGUAGES else "zh"


def user_language(user: object) -> str:
    """Return the language a user reads messages in when no request says otherwise."""
    chosen = getattr(user, "locale", None)
    return str(chosen) if chosen in LANGUAGES else default_language()


def select_locale() -> str:
    """Return the language for this request; outside a request, the default (Chinese)."""
    if not has_request_context():
        return default_language()
    from app.accounts.security import request_user

    chosen = getattr(request_user(), "locale", None)
    if chosen in LANGUAGES:
        return str(chosen)
    cookie = request.cookies.get("lang")
    if cookie in LANGUAGES:
        return str(cookie)
    return request.accept_languages.best_match(LANGUAGES) or default_language()


def current_language() -> str:
    """Return the two-letter code of the language in force."""
    return str(get_locale() or default_language())[:2]


def _text_in(obj: object, field: str, language: str) -> str:
    key = f"{field}_{language}"
    value = obj.get(key, "") if isinstance(obj, Mapping) else getattr(obj, key, "")
    return str(value or "")


def localised(obj: object, field: str = "name") -> str:
    """Return obj.<field>_zh or obj.<field>_en (or a mapping's keys) by the current language."""
    language = current_language()
    return _text_in(obj, field, language) or _text_in(obj, field, "zh")


def _other_language(language: str) -> tuple[str, str]:
    """Return the other language's code and its name in the current language."""
    if language == "en":
        return "zh", gettext("in Chinese")
    return "en", gettext("in English")


def in_language_text(obj: object, field: str) -> str:
    """Return in_language() as plain text: "Quiet-zone recalibration (in English)"."""
    language = current_language()
    text = _text_in(obj, field, language)
    if text:
        return text
    other, name = _other_language(language)
    text = _text_in(obj, field, other)
    return f"{text} ({name})" if text else ""


def in_language(obj: object, field: str) -> Markup:
    """Return a text written in one or both languages, marked when it is not the page's.

    A manager may write a maintenance reason in one language only: on the other language's
    pages it is shown as written, with its language named, never silently as the page's."""
    language = current_language()
    text = _text_in(obj, field, language)
    if text:
        return Markup("{}").format(text)
    other, name = _other_language(language)
    text = _text_in(obj, field, other)
    if not text:
        return Markup("")
    return Markup('<span lang="{}">{}</span> <span class="lang-tag">({})</span>').format(
        other, text, name
    )


# The moments the pages write, by name: a CLDR skeleton for the date part and one for the time
# part, joined by the locale's own date-time pattern ("12月8日 09:00", "Dec 8, 09:00"). A
# pattern such as "d MMM HH:mm" is English word order and reads "8 12月 09:00" in Chinese.
MOMENT_FORMATS: dict[str, tuple[str | None, str | None]] = {
    "day": ("MMMd", None),
    "day_time": ("MMMd", "Hm"),
    "day_time_seconds": ("MMMd", "Hms"),
    "weekday_time": ("MMMEd", "Hm"),
    "date_time": ("yMMMd", "Hm"),
    "date_time_seconds": ("yMMMd", "Hms"),
    "time": (None, "Hm"),
}


def _moment(value: datetime | date, name: str, language: str) -> str:
    date_skeleton, time_skeleton = MOMENT_FORMATS[name]
    date_part = format_skeleton(date_skeleton, value, locale=language) if date_skeleton else ""
    time_part = format_skeleton(time_skeleton, value, locale=language) if time_skeleton else ""
    if date_part and time_part:
        pattern = Locale.parse(language).datetime_formats["medium"]
        return str(pattern).replace("{1}", date_part).replace("{0}", time_part)
    return date_part or time_part


def local_time(value: datetime | None, tz: str | None = None, fmt: str = "medium") -> str:
    """Format an aware datetime in a time zone (default: the app's) for the current language.

    `fmt` is a name of MOMENT_FORMATS or a CLDR width ("short", "medium", "long", "full")."""
    if value is None:
        return ""
    zone = ZoneInfo(tz or current_app.config["DEFAULT_TIMEZONE"])
    if fmt in MOMENT_FORMATS:
        return _moment(value.astimezone(zone), fmt, current_language())
    if fmt not in ("short", "medium", "long", "full"):
        raise ValueError(f"unknown moment format {fmt!r}: name one of MOMENT_FORMATS")
    return format_datetime(value, fmt, tzinfo=zone, locale=current_language())


def short_moment(value: datetime | None, tz: str | None = None) -> str:
    """Write a moment as day, month, weekday and time: 11月30日周一 09:00, Mon, Nov 30, 09:00."""
    return local_time(value, tz, "weekday_time")


def day_label(value: date) -> str:
    """Name a day by weekday, day and month: 11月30日周一, Mon, Nov 30."""
    return format_skeleton("MMMEd", value, locale=current_language())


def local_date(value: date | None, fmt: str = "medium") -> str:
    """Format a calendar date for the current language (2026年11月23日, Nov 23, 2026)."""
    return "" if value is None else format_date(value, fmt, locale=current_language())


def month_name(value: date) -> str:
    """Name a month with its year for the current language (2026年11月, November 2026)."""
    return format_skeleton("yMMMM", value, locale=current_language())


def number(value: float | int | None, fmt: str | None = None) -> str:
    """Format a number for the current language; `fmt` is a CLDR pattern such as "0.0"."""
    if value is None:
        return ""
    return format_decimal(value, fmt, locale=current_language())


def percent(value: float | None, fmt: str = "#,##0.0%") -> str:
    """Format a fraction (0.25) as a percentage for the current language."""
    return "" if value is None else format_percent(value, fmt, locale=current_language())


def register(app: Flask) -> None:
    """Add the language switch route and template helpers."""
    app.jinja_env.globals.update(
        localised=localised,
        in_language=in_language,
        local_time=local_time,
        local_date=local_date,
        short_moment=short_moment,
        day_label=day_label,
        month_name=month_name,
        number=number,
        percent=percent,
        LANGUAGES=LANGUAGES,
        get_locale=get_locale,
    )
    app.jinja_env.filters["as_date"] = date.fromisoformat
    app.add_url_rule("/lang/<code>", "set_language", set_language, methods=["POST"])


def set_language(code: str) -> Response:
    """Remember the chosen language (on the account when logged in) and go back."""
    if code not in LANGUAGES:
        code = default_language()
    if current_user.is_authenticated:
        write_transaction()
        current_user.locale = code
        db.session.commit()
    target = request.form.get("next") or ""
    if not target and request.referrer:
        referrer = urlsplit(request.referrer)
        if referrer.netloc == request.host:
            target = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    response = redirect(local_path(target) or url_for("web.index"))
    response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
