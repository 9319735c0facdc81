"""Logs carry one JSON line per request and never a secret."""

from __future__ import annotations

import json
import logging

from app.logs import JsonFormatter, redact


def test_feed_tokens_api_tokens_and_passwords_are_redacted() -> None:
    line = redact(
        "GET /feeds/AbC_123-xyz.ics Authorization: Bearer pst_secretvalue password=hunter2"
    )
    assert "AbC_123" not in line and "secretvalue" not in line and "hunter2" not in line
    assert "/feeds/[redacted]" in line


def test_formatter_writes_one_json_object_with_request_fields() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "GET %s", ("/feeds/tok.ics",), None)
    record.path = "/feeds/tok.ics"
    record.status = 200
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "GET /feeds/[redacted].ics"
    assert entry["path"] == "/feeds/[redacted].ics"
    assert entry["status"] == 200


def test_every_request_is_logged_once_without_its_token(client, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="pilotslot.access"):
        client.get("/feeds/supersecrettoken.ics")
    access = [r for r in caplog.records if r.name == "pilotslot.access"]
    assert len(access) == 1
    formatted = JsonFormatter().format(access[0])
    assert "supersecrettoken" not in formatted
    assert json.loads(formatted)["status"] == 404
