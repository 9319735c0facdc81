"""Engine-level settings: SQLite pragmas and serialised write transactions."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from app.extensions import db

log = logging.getLogger(__name__)

# Ids and counts are INTEGER columns: PostgreSQL refuses anything larger with an error.
MAX_INTEGER = 2**31 - 1
MIN_INTEGER = -(2**31)

_IMMEDIATE = "pilotslot_immediate"


class IdConverter(IntegerConverter):
    """The `<int:...>` URL converter, bounded to the database's integer range.

    A larger number in a URL names nothing, so it is a 404 like any unknown id, whatever the
    method (a converter's ValidationError would let werkzeug answer 405 for some methods)."""

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        if number > MAX_INTEGER:
            raise NotFound()
        return number


def init_app(app: Flask) -> None:
    """Install SQLite connection settings once the engine exists, and a safe session end."""
    # Before any blueprint adds its routes: they compile their converters when added.
    app.url_map.converters["int"] = IdConverter
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
    # Registered after Flask-SQLAlchemy's, so it runs first (teardowns run in reverse).
    app.teardown_appcontext(_end_session)


def _end_session(_error: BaseException | None) -> None:
    """End the request's session even when the database went away under it.

    Closing rolls back the open read transaction; on a connection the server has just cut
    that fails, and an error raised this late would replace the answer already made."""
    try:
        db.session.remove()
    except SQLAlchemyError as error:
        log.warning("closing the session failed, connection discarded: %s", error)
        try:
            db.session.registry().invalidate()
        except SQLAlchemyError:
            pass
        db.session.registry.clear()


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
