"""Configuration read from the environment when the app is created, never at import time."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The largest request body accepted (413 above it): a campaign of the most steps is a few KB,
# and a body that cannot be this large never holds a worker thread for long.
MAX_REQUEST_BYTES = 1024 * 1024


def _instance_dir() -> Path:
    path = Path(os.environ.get("PILOTSLOT_INSTANCE_DIR", PROJECT_ROOT / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _development_secret(instance: Path) -> str:
    """Return a secret generated once and kept under instance/ so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class ConfigError(RuntimeError):
    """Raised when the environment does not describe a runnable configuration."""


# The domain part of calendar UIDs (`booking-<id>@<domain>`) when none is configured: fixed, so a
# booking keeps one UID whichever host name its feed is read by (".invalid" is never a real host).
DEFAULT_UID_DOMAIN = "pilotslot.invalid"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")


def uid_domain(value: str) -> str:
    """Return the calendar UID domain, checked: a domain name, never a request's host."""
    domain = value.strip() or DEFAULT_UID_DOMAIN
    if not _DOMAIN.fullmatch(domain):
        raise ConfigError(
            f"PILOTSLOT_UID_DOMAIN must be a domain name such as pilot.example.org, not {value!r}"
        )
    return domain.lower()


DEFAULT_SESSION_LIFETIME_HOURS = 14 * 24


def session_lifetime_hours(value: str) -> float:
    """Return the session lifetime in hours, checked: a number from 1 hour to 90 days."""
    if not value.strip():
        return DEFAULT_SESSION_LIFETIME_HOURS
    try:
        hours = float(value)
    except ValueError:
        hours = float("nan")
    if not 1 <= hours <= 90 * 24:
        raise ConfigError(
            "PILOTSLOT_SESSION_LIFETIME_HOURS must be a number of hours from 1 to 2160, "
            f"not {value!r}"
        )
    return hours


def from_environment(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask configuration from environment variables."""
    env = dict(os.environ if env is None else env)
    production = env.get("PILOTSLOT_ENV", "development") == "production"
    instance = _instance_dir()
    secret = env.get("SECRET_KEY")
    if not secret:
        if production:
            raise ConfigError("SECRET_KEY must be set when PILOTSLOT_ENV=production")
        secret = _development_secret(instance)
    database_url = normalise_database_url(
        env.get("DATABASE_URL") or f"sqlite:///{instance / 'pilotslot.sqlite'}"
    )
    redis_url = env.get("REDIS_URL", "")
    return {
        "ENV_NAME": "production" if production else "development",
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url, env),
        "DEFAULT_TIMEZONE": env.get("PILOTSLOT_TIMEZONE", "Asia/Shanghai"),
        "FACILITIES_FILE": env.get("FACILITIES_FILE", str(PROJECT_ROOT / "facilities.yaml")),
        "MAX_CONTENT_LENGTH": MAX_REQUEST_BYTES,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        # A logged-in session ends this long after the login, whatever the browser keeps.
        "SESSION_LIFETIME_HOURS": session_lifetime_hours(
            env.get("PILOTSLOT_SESSION_LIFETIME_HOURS", "")
        ),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "REDIS_URL": redis_url,
        # Solves run as jobs on this Redis, served by `flask worker` processes; unset (and no
        # REDIS_URL), each solve gets a worker process of its own started by the web process.
        "SOLVE_QUEUE_URL": env.get("PILOTSLOT_SOLVE_QUEUE_URL", redis_url),
        "SOLVE_QUEUE_NAME": env.get("PILOTSLOT_SOLVE_QUEUE", "pilotslot-solves"),
        # With the queue: queue every active facility's re-solve on this cron (UTC), once a night.
        "REGION_RESOLVE_CRON": env.get("PILOTSLOT_REGION_RESOLVE_CRON", ""),
        "TRUSTED_PROXIES": int(env.get("PILOTSLOT_TRUSTED_PROXIES", "0")),
        "LOGIN_RATE_LIMIT": env.get("PILOTSLOT_LOGIN_RATE_LIMIT", "10/minute"),
        "LOGIN_ADDRESS_RATE_LIMIT": env.get("PILOTSLOT_LOGIN_ADDRESS_RATE_LIMIT", "30/minute"),
        "API_RATE_LIMIT": env.get("PILOTSLOT_API_RATE_LIMIT", "600/minute"),
        "FEED_RATE_LIMIT": env.get("PILOTSLOT_FEED_RATE_LIMIT", "60/minute"),
        "RATELIMIT_STORAGE_URI": ratelimit_storage_uri(redis_url),
        "RATELIMIT_STORAGE_OPTIONS": (
            {"socket_connect_timeout": 1, "socket_timeout": 1} if redis_url else {}
        ),
        "RATELIMIT_KEY_PREFIX": env.get("PILOTSLOT_RATELIMIT_PREFIX", "pilotslot"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # If Redis goes away each worker counts on its own until it is back, rather than fail.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "SMTP_URL": env.get("SMTP_URL", ""),
        "MAIL_FROM": env.get("MAIL_FROM", "pilotslot@localhost"),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", ""),
        "CALENDAR_UID_DOMAIN": uid_domain(env.get("PILOTSLOT_UID_DOMAIN", "")),
        "SOLVER_TIME_LIMIT": float(env.get("PILOTSLOT_SOLVER_TIME_LIMIT", "30")),
        # Work units for solves the system starts (scheduled, waiting list, command line):
        # set, their plans replay exactly from the stored problem file; unset, the wall clock.
        "SOLVER_WORK_LIMIT": float(env["PILOTSLOT_SOLVER_WORK_LIMIT"])
        if env.get("PILOTSLOT_SOLVER_WORK_LIMIT")
        else None,
        "SCHEDULER_LEASE_SECONDS": float(env.get("PILOTSLOT_SCHEDULER_LEASE_SECONDS", "30")),
        "SCHEDULER_RENEW_SECONDS": float(env.get("PILOTSLOT_SCHEDULER_RENEW_SECONDS", "10")),
        "SCHEDULER_SYNC_SECONDS": float(env.get("PILOTSLOT_SCHEDULER_SYNC_SECONDS", "300")),
        # A job that only records its ticks: lets an operator (and the tests) watch the lease.
        "SCHEDULER_HEARTBEAT": env.get("PILOTSLOT_SCHEDULER_HEARTBEAT", "") == "1",
        # The language of whoever chose none (and of background work): zh or en.
        "BABEL_DEFAULT_LOCALE": env.get("PILOTSLOT_DEFAULT_LANGUAGE", "zh"),
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "app" / "translations"),
    }


def engine_options(database_url: str, env: dict[str, str]) -> dict[str, Any]:
    """Return the connection pool settings for the database.

    PostgreSQL connections are tested before use (pre-ping), so after a restart of the server
    the app reconnects instead of failing on dead pooled connections; a gthread worker needs
    one connection per thread (GUNICORN_THREADS, 4), with headroom for bursts."""
    if not database_url.startswith("postgresql"):
        return {}
    return {
        "pool_pre_ping": True,
        "pool_size": int(env.get("DATABASE_POOL_SIZE", "5")),
        "max_overflow": int(env.get("DATABASE_MAX_OVERFLOW", "5")),
        "pool_timeout": 10,
        "pool_recycle": 1800,
        # A server that does not answer fails the request in seconds, not a worker timeout.
        "connect_args": {"connect_timeout": int(env.get("DATABASE_CONNECT_TIMEOUT", "5"))},
    }


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short form."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def ratelimit_storage_uri(redis_url: str) -> str:
    """Return where rate limits are counted: Redis through the storage that reads a request's
    own counts back from memory (app/ratelimitstorage.py), else each process's memory."""
    if redis_url.startswith(("redis://", "rediss://")):
        return f"pilotslot+{redis_url}"
    return redis_url or "memory://"
