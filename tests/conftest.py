"""Fixtures: an app on a real database (SQLite always, PostgreSQL when configured), clients,
and small factories that fill in defaults."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from tests import factories

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")


def _worker() -> str:
    # PILOTSLOT_TEST_RUN keeps test runs of several checkouts on one server apart.
    run = os.environ.get("PILOTSLOT_TEST_RUN", "")
    return f"{run}{os.environ.get('PYTEST_XDIST_WORKER', 'gw0')}"


def postgres_url_for(schema: str) -> str:
    """Return TEST_DATABASE_URL with psycopg 3 and the search path set to one schema."""
    from app.config import normalise_database_url

    base = normalise_database_url(POSTGRES_URL)
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema},public"


def reset_postgres_schema(schema: str) -> None:
    """Drop and recreate a schema (and make sure btree_gist exists, one worker at a time)."""
    from app.schemaversion import create_extensions

    engine = create_engine(postgres_url_for("public"))
    with engine.begin() as conn:
        create_extensions(conn)
    engine.dispose()
    engine = create_engine(postgres_url_for("public"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()


def compile_catalogues() -> None:
    """Compile each messages.po whose .mo is missing or older, as `make install` does."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (Path(__file__).parents[1] / "app" / "translations").glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parents[1].name)
        # Written aside and renamed, so parallel test workers never read half a file.
        partial = mo.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as target:
            write_mo(target, catalog)
        partial.replace(mo)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PILOTSLOT_INSTANCE_DIR", str(Path(__file__).parent / ".instance"))
    compile_catalogues()
    if POSTGRES_URL:
        # Asked for PostgreSQL: an unreachable server is a failure, never a silent skip.
        engine = create_engine(postgres_url_for("public"))
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as error:
            raise pytest.UsageError(
                f"TEST_DATABASE_URL is set but PostgreSQL cannot be reached: {error}"
            ) from error
        finally:
            engine.dispose()


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return f"databases: sqlite, postgresql ({POSTGRES_URL})"
    return "databases: sqlite only (set TEST_DATABASE_URL to also run on PostgreSQL)"


DATABASES = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Create the schema once per test session on every database in use."""
    from app import create_app
    from app.extensions import db
    from app.schemaversion import stamp_head

    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"}
    if POSTGRES_URL:
        schema = f"t_{_worker()}"
        reset_postgres_schema(schema)
        urls["postgresql"] = postgres_url_for(schema)
    for name in DATABASES:
        app = create_app(_test_config(urls[name]))
        with app.app_context():
            db.create_all()
            stamp_head()
            db.engine.dispose()
    return urls


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own application context, as in production:
    its own `g` (so no logged-in user leaks between requests) and its own database session.
    The test's session is expired afterwards so it reads what the request committed."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from app.extensions import db

        # End the test's own transaction first, so it neither holds a lock nor keeps a stale
        # snapshot while the request writes.
        db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response


def _test_config(url: str, **overrides: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
        # The tests read the English msgids unless they choose a language; the production
        # default (Chinese) has its own tests in tests/test_i18n.py.
        "BABEL_DEFAULT_LOCALE": "en",
        # Solves go on a queue only where a test sets one up (tests/jobs/test_queue.py).
        "SOLVE_QUEUE_URL": "",
    }
    config.update(overrides)
    return config


def empty_tables() -> None:
    """Delete every row, leaving the schema in place."""
    from app.extensions import db

    db.session.rollback()
    tables = db.metadata.sorted_tables
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        # Parents first, with foreign keys checked only at commit: a trigger that refuses to
        # remove a row of a locked parent (a submitted claim's voucher draws) finds no parent.
        # A locked claim itself is never deleted, so that trigger steps aside meanwhile (the
        # same transaction puts it back; PostgreSQL's TRUNCATE fires no row triggers).
        from app.vouchers.models import CLAIM_DELETE_TRIGGERS

        db.session.execute(text("PRAGMA defer_foreign_keys = ON"))
        db.session.execute(text("DROP TRIGGER IF EXISTS claims_locked_delete"))
        for table in tables:
            db.session.execute(table.delete())
        for statement in CLAIM_DELETE_TRIGGERS["sqlite"]:
            db.session.execute(text(statement))
    db.session.commit()


@pytest.fixture(params=DATABASES)
def app(request: pytest.FixtureRequest, database_urls: dict[str, str]) -> Iterator[Flask]:
    """An application bound to a clean database; runs once per database in use."""
    from app import create_app
    from app.extensions import db

    flask_app = create_app(_test_config(database_urls[request.param]))
    flask_app.test_client_class = IsolatedClient
    with flask_app.app_context():
        empty_tables()
        yield flask_app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def db(app: Flask) -> Any:
    """The Flask-SQLAlchemy object, inside an application context."""
    from app.extensions import db as database

    return database


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def csrf_app(database_urls: dict[str, str]) -> Iterator[Flask]:
    """An application with CSRF protection on, as in production (SQLite)."""
    from app import create_app
    from app.extensions import db

    flask_app = create_app(_test_config(database_urls["sqlite"], WTF_CSRF_ENABLED=True))
    flask_app.test_client_class = IsolatedClient
    with flask_app.app_context():
        empty_tables()
        yield flask_app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def make_facility(db: Any) -> Any:
    return factories.make_facility


@pytest.fixture
def make_equipment(db: Any) -> Any:
    return factories.make_equipment


@pytest.fixture
def make_user(db: Any) -> Any:
    return factories.make_user


@pytest.fixture
def make_project(db: Any) -> Any:
    return factories.make_project


@pytest.fixture
def login(client: FlaskClient) -> Any:
    """Log a user in on the test client."""

    def _login(user: Any, c: FlaskClient | None = None) -> FlaskClient:
        target = c or client
        response = target.post(
            "/login", data={"email": user.email, "password": factories.PASSWORD}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return target

    return _login
