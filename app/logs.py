"""Structured (JSON) logs, one line per request, with secrets redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

from flask import Flask, Response, g, request

# Feed tokens live in URLs and API tokens in headers; neither may reach a log file.
_SECRETS = [
    (re.compile(r"(/feeds/)[A-Za-z0-9_\-]+"), r"\1[redacted]"),
    (re.compile(r"\bpst_[A-Za-z0-9_\-]+"), "pst_[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-\.]+"), r"\1[redacted]"),
    (re.compile(r"(?i)(password[\"']?\s*[:=]\s*[\"']?)[^\s&\"',}]+"), r"\1[redacted]"),
    (re.compile(r"(?i)(token=)[A-Za-z0-9_\-]+"), r"\1[redacted]"),
]


def redact(text: str) -> str:
    """Remove feed tokens, API tokens and passwords from a log message."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("method", "path", "status", "duration_ms", "user_id", "remote"):
            if hasattr(record, key):
                value = getattr(record, key)
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def _loaded_user_id() -> str | None:
    """The id of the user this request already loaded; logging never queries the database."""
    user = g.get("_login_user")
    return user.get_id() if user is not None and user.is_authenticated else None


def configure(app: Flask) -> None:
    """Send app logs as JSON to stderr and log every request once."""
    if not app.testing:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    access = logging.getLogger("pilotslot.access")

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        started = g.get("request_started")
        duration = (time.perf_counter() - started) * 1000 if started else 0.0
        access.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration, 1),
                "user_id": _loaded_user_id(),
                "remote": request.remote_addr or "",
            },
        )
        return response
