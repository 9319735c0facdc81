"""Engine-level settings: SQLite pragmas and serialised write transactions."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import db

_IMMEDIATE = "pilotslot_immediate"


def init_app(app: Flask) -> None:
    """Install SQLite connection settings once the engine exists."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not pysqlite, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(_IMMEDIATE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def write_transaction() -> None:
    """Start the session's next work as a serialised write transaction.

    On SQLite the transaction takes the write lock before it reads (BEGIN IMMEDIATE), so two
    writers cannot both read the same free slot; on PostgreSQL row locks and the exclusion
    constraint do that job and this only ends any read transaction still open."""
    session = db.session()
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={_IMMEDIATE: True})


def is_postgres() -> bool:
    """Tell whether the bound database is PostgreSQL."""
    return bool(db.engine.dialect.name == "postgresql")
