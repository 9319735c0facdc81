"""The moments of a request at which the database can go away, each met deterministically:
before the user is known (error pages still need a language), and after the answer is made
(the session's closing rollback on a cut connection). Neither may turn into a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text

from tests.conftest import POSTGRES_URL
from tests.production.conftest import free_port, make_app

BEARER = {"Authorization": "Bearer pst_not-checkable-while-the-database-is-down"}


@pytest.fixture
def unreachable_app() -> Iterator[Flask]:
    """An app whose PostgreSQL server does not answer: nothing listens on its port."""
    from app.extensions import db

    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"
    flask_app = make_app(
        url,
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_STORAGE_OPTIONS={},
        API_RATE_LIMIT="1/minute",
    )
    yield flask_app
    with flask_app.app_context():
        db.engine.dispose()


def test_error_answers_need_no_database(unreachable_app: Flask) -> None:
    with unreachable_app.app_context():
        client = unreachable_app.test_client()
        first = client.get("/api/v1/me", headers=BEARER)
        # The limit is spent: the 429's language would come from the token's user.
        limited = client.get("/api/v1/me", headers=BEARER)
        missing = client.get("/no-such-page", headers=BEARER)
        page = client.get("/facilities", headers=BEARER)
        health = client.get("/healthz", headers=BEARER)

    assert first.status_code == 503 and first.mimetype == "application/problem+json"
    assert "database is not reachable" in first.get_json()["detail"]
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert page.status_code == 503 and "database is not reachable" in page.get_data(as_text=True)
    assert health.status_code == 503 and health.get_json()["status"] == "unavailable"


@pytest.mark.skipif(not POSTGRES_URL, reason="cuts a PostgreSQL server connection")
def test_connection_cut_after_the_answer_keeps_the_answer(
    database_urls: dict[str, str],
) -> None:
    from app.extensions import db

    flask_app = make_app(database_urls["postgresql"])

    @flask_app.get("/test/cut-my-connection")
    def cut_my_connection() -> str:
        # The request reads (a transaction is open), then the server ends its connection.
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return "answered"

    with flask_app.app_context():
        client = flask_app.test_client()
        cut = client.get("/test/cut-my-connection")
        after = client.get("/healthz")
        db.engine.dispose()

    assert cut.status_code == 200 and cut.get_data(as_text=True) == "answered"
    assert after.status_code == 200
