"""Language choice: the user's setting, then the switch cookie, then the browser."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import Flask, Response, has_request_context, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from app.extensions import db

LANGUAGES = ("zh", "en")


def select_locale() -> str:
    """Return the language for this request; outside a request, the default (Chinese)."""
    if not has_request_context():
        return "zh"
    from app.accounts.security import request_user

    chosen = getattr(request_user(), "locale", None)
    if chosen in LANGUAGES:
        return str(chosen)
    cookie = request.cookies.get("lang")
    if cookie in LANGUAGES:
        return str(cookie)
    return request.accept_languages.best_match(LANGUAGES) or "zh"


def localised(obj: object, field: str = "name") -> str:
    """Return obj.<field>_zh or obj.<field>_en by the current language."""
    language = str(get_locale() or "zh")[:2]
    value = getattr(obj, f"{field}_{'en' if language == 'en' else 'zh'}", "")
    return str(value or getattr(obj, f"{field}_zh", "") or "")


def local_time(value: datetime | None, tz: str | None = None, fmt: str = "medium") -> str:
    """Format an aware datetime in a time zone (default: the app's) for the current language."""
    from flask import current_app

    if value is None:
        return ""
    zone = ZoneInfo(tz or current_app.config["DEFAULT_TIMEZONE"])
    return format_datetime(value, fmt, tzinfo=zone, locale=str(get_locale() or "zh"))


def register(app: Flask) -> None:
    """Add the language switch route and template helpers."""
    app.jinja_env.globals.update(
        localised=localised, local_time=local_time, LANGUAGES=LANGUAGES, get_locale=get_locale
    )
    app.add_url_rule("/lang/<code>", "set_language", set_language, methods=["POST"])


def set_language(code: str) -> Response:
    """Remember the chosen language (on the account when logged in) and go back."""
    if code not in LANGUAGES:
        code = "zh"
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    target = request.form.get("next") or ""
    if not target and request.referrer:
        referrer = urlsplit(request.referrer)
        if referrer.netloc == request.host:
            target = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("web.index")
    response = redirect(target)
    response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
