"""Which migration the database is at, against the migrations this code ships.

The health check refuses a database that is not at the migrations' head (a server started on an
empty or half-migrated database would otherwise answer every page with a 500), and schemas made
directly from the models (tests, benchmarks) are stamped at the head so they count as current.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db

# One key for every process that creates PostgreSQL extensions: two sessions running
# CREATE EXTENSION IF NOT EXISTS at once collide on pg_extension_name_index.
EXTENSION_LOCK = 1885957231  # "pilo" as a 32-bit number; the initial migration uses it too
EXTENSIONS = ("btree_gist",)


@cache
def _heads(directory: str) -> frozenset[str]:
    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def code_heads() -> frozenset[str]:
    """Return the head revision(s) of the migrations this code ships."""
    return _heads(str(Path(current_app.extensions["migrate"].directory)))


def database_revisions() -> frozenset[str] | None:
    """Return the revisions stamped in the database, or None where it has no version table."""
    try:
        rows = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars()
        return frozenset(rows)
    except SQLAlchemyError:
        db.session.rollback()
        return None


def stamp_head() -> None:
    """Record the migrations' head in a schema created from the models (db.create_all)."""
    heads = code_heads()
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS alembic_version "
                "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
            )
        )
        conn.execute(text("DELETE FROM alembic_version"))
        for head in sorted(heads):
            conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": head})


def create_extensions(conn: Connection) -> None:
    """Create the PostgreSQL extensions the schema needs, one session at a time.

    Run inside a transaction: the advisory lock is held until it commits, so a second caller
    waits and then finds the extension there."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EXTENSION_LOCK})
    for name in EXTENSIONS:
        conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {name}"))
