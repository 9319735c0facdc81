"""Fixtures of the production tests: apps configured as in production, free ports, Redis."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.conftest import IsolatedClient, _test_config, empty_tables

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_POSTGRES = os.environ.get("PILOTSLOT_REQUIRE_POSTGRES") == "1"


def free_port() -> int:
    """Return a TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_app(url: str, **overrides: Any) -> Flask:
    """Create an app on `url` with the test settings, the overrides applied."""
    from app import create_app

    flask_app = create_app(_test_config(url, **overrides))
    flask_app.test_client_class = IsolatedClient
    return flask_app


@pytest.fixture
def limited_app(database_urls: dict[str, str]) -> Iterator[Flask]:
    """An app with small rate limits counted in memory, on a clean SQLite database."""
    from app.extensions import db

    flask_app = make_app(
        database_urls["sqlite"],
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_STORAGE_OPTIONS={},
        LOGIN_RATE_LIMIT="3/minute",
        LOGIN_ADDRESS_RATE_LIMIT="6/minute",
        API_RATE_LIMIT="5/minute",
    )
    with flask_app.app_context():
        empty_tables()
        yield flask_app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test alone in the shared Redis; its keys are deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis is needed at {REDIS_URL} (set TEST_REDIS_URL): {error}")
    prefix = f"pilotslot-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
