"""Data versions: a token that every committed write replaces, and caches keyed by it.

Every transaction that changed a row replaces the `all` token in `data_versions` as its last
statement before COMMIT, so the new token becomes visible exactly when the new rows do, in every
process and on every host. A transaction that changed a catalogue table also replaces the
`catalogue` token, and one that may have changed a calendar feed the `feeds` token. A reader
that reads a token and then the rows it depends on has seen rows at least as new as the token;
whatever it computes may be kept under that token, and is dropped as soon as another write of
its scope commits. Tokens are random, never counters, so a database restored from
a dump can never give an old token new meaning.

The writes are noticed at the engine (every INSERT, UPDATE, DELETE, TRUNCATE or MERGE sent
through the app's engine, ORM or not), so no service has to remember to bump anything."""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import String, event, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

ALL = "all"
CATALOGUE = "catalogue"
FEEDS = "feeds"
CATALOGUE_TABLES = frozenset(
    {
        "capabilities",
        "centres",
        "facilities",
        "facility_directions",
        "equipment",
        "equipment_capabilities",
        "maintenance_windows",
    }
)
# Writes that change nothing a reader could cache: the scheduler's lease heartbeat and job
# store, the migrations' bookkeeping, and this table itself.
IGNORED_TABLES = frozenset(
    {"data_versions", "scheduler_leases", "apscheduler_jobs", "alembic_version"}
)
# Tables no calendar feed reads: writing them leaves the `feeds` token alone.
NOT_IN_FEEDS = frozenset({"audit_events", "api_tokens", "outbox", "job_runs", "solve_runs"})
# A feed shows a request only through its bookings or its draft proposal's items, which are
# rows of their own: a request that was only just inserted (a team's submission, its steps and
# their units) cannot be in any feed until one of those rows is written, and that write moves
# the token. Updating or deleting these rows still counts (a renamed request, a removed step).
INSERTS_NOT_IN_FEEDS = frozenset({"requests", "request_steps", "step_equipment"})
_WRITE = re.compile(
    r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|MERGE\s+INTO)\s+"?(\w+)"?',
    re.IGNORECASE,
)
# A statement that starts with WITH may write through its CTE; count it as a write anywhere.
_WITH = re.compile(r"^\s*WITH\b", re.IGNORECASE)
# Stands for "any table": a TRUNCATE of several tables, a WITH statement.
_ANY = "*"
_TOUCHED = "pilotslot_touched_tables"
# Sent on the DBAPI cursor, so in the driver's own parameter style.
_UPSERT_FORMAT = (
    "INSERT INTO data_versions (scope, token) VALUES (%s, %s) "
    "ON CONFLICT (scope) DO UPDATE SET token = excluded.token"
)
_UPSERT_QMARK = _UPSERT_FORMAT.replace("%s", "?")

T = TypeVar("T")


class DataVersion(db.Model):
    """The current token of one scope of data (`all`, `catalogue`, `feeds`)."""

    __tablename__ = "data_versions"

    scope: Mapped[str] = mapped_column(String(20), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))

    def __repr__(self) -> str:
        return f"<DataVersion {self.scope} {self.token}>"


def init_app(app: Flask) -> None:
    """Watch the app's engine for writes and give the app its caches."""
    with app.app_context():
        _watch(db.engine)
    app.extensions["pilotslot_caches"] = {}


def _watch(engine: Engine) -> None:
    if event.contains(engine, "before_cursor_execute", _note_write):
        return
    event.listen(engine, "before_cursor_execute", _note_write)
    event.listen(engine, "commit", _bump_on_commit)
    event.listen(engine, "rollback", _forget)


def _note_write(
    conn: Connection, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any
) -> None:
    match = _WRITE.match(statement)
    if match:
        verb, table = match.group(1).split()[0].upper(), match.group(2).lower()
        if table in IGNORED_TABLES:
            return
        if verb == "TRUNCATE":
            # TRUNCATE a, b, c may name several tables.
            table = _ANY
    elif _WITH.match(statement):
        verb, table = "WITH", _ANY
    else:
        return
    conn.info.setdefault(_TOUCHED, set()).add((verb, table))


def scopes_moved(touched: set[tuple[str, str]]) -> list[str]:
    """Return the scopes whose token a transaction that wrote `touched` must replace."""
    scopes = [ALL]
    tables = {table for _verb, table in touched}
    if _ANY in tables or tables & CATALOGUE_TABLES:
        scopes.append(CATALOGUE)
    if any(
        table == _ANY
        or not (table in NOT_IN_FEEDS or (verb == "INSERT" and table in INSERTS_NOT_IN_FEEDS))
        for verb, table in touched
    ):
        scopes.append(FEEDS)
    return scopes


def _bump_on_commit(conn: Connection) -> None:
    touched = conn.info.pop(_TOUCHED, None)
    if not touched:
        return
    scopes = scopes_moved(touched)
    # The DBAPI cursor, not conn.execute(): this runs inside the commit event, in the
    # transaction about to commit, and must not re-enter SQLAlchemy's own transaction logic.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    statement = _UPSERT_QMARK if conn.dialect.paramstyle == "qmark" else _UPSERT_FORMAT
    try:
        for scope in scopes:
            cursor.execute(statement, (scope, secrets.token_hex(16)))
    finally:
        cursor.close()


def _forget(conn: Connection) -> None:
    conn.info.pop(_TOUCHED, None)


def current(scope: str = ALL) -> str | None:
    """Return the scope's current token; None when no write has recorded one yet."""
    query = select(DataVersion.token).where(DataVersion.scope == scope)
    session = db.session()
    if session.in_transaction() or db.engine.dialect.name != "postgresql":
        return session.scalar(query)
    # Nothing read yet in this request: one statement outside a transaction spares the BEGIN
    # and the closing ROLLBACK, two of the four round trips of a read answered from a cache.
    # Whatever the request reads afterwards starts later, so it is at least as new as the
    # token (READ COMMITTED); on SQLite a later read transaction could keep an older snapshot.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return conn.scalar(query)


class VersionedCache:
    """Values computed from the database, kept while the data they were read from is current.

    Bounded by entry count; when the token moves on, every entry of the older one goes."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._token: str | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, token: str | None, key: Hashable) -> Any | None:
        """Return the value kept for `key` at `token`, or None."""
        if token is None:
            return None
        with self._lock:
            if token != self._token or key not in self._entries:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return self._entries[key]

    def put(self, token: str | None, key: Hashable, value: Any) -> None:
        """Keep `value` for `key`, computed from data read at `token` or later."""
        if token is None:
            return
        with self._lock:
            if token != self._token:
                self._entries.clear()
                self._token = token
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def get_or_compute(self, scope: str, key: Hashable, compute: Callable[[], T]) -> T:
        """Return the value for `key`, computing and keeping it when the data has changed."""
        token = current(scope)
        found = self.get(token, key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        value = compute()
        self.put(token, key, value)
        return value


def cache(name: str, max_entries: int = 256) -> VersionedCache:
    """Return the app's cache called `name`, made on first use (one per app, so per process)."""
    caches: dict[str, VersionedCache] = current_app.extensions["pilotslot_caches"]
    if name not in caches:
        caches[name] = VersionedCache(max_entries)
    return caches[name]
