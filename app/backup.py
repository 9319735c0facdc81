"""Backups: SQLite's online backup API, and pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from app.errors import AppError


class BackupError(AppError):
    status = 500
    title = "Backup failed"


def sqlite_path(database_url: str) -> Path:
    """Return the file of a SQLite URL."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise BackupError(f"not a SQLite file database: {url.render_as_string()}")
    return Path(url.database)


def backup_sqlite(database_url: str, destination: Path) -> Path:
    """Copy a live SQLite database consistently, even while the app writes to it."""
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise BackupError(f"no database file at {source_path}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source_path) as source, sqlite3.connect(destination) as target:
        source.backup(target)
    return destination


def _libpq_url(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise BackupError(f"not a PostgreSQL database: {url.render_as_string()}")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def backup_postgres(database_url: str, destination: Path, *, schema: str | None = None) -> Path:
    """Dump a PostgreSQL database (or one schema) in pg_dump's custom format."""
    command = ["pg_dump", "--format=custom", "--no-owner", f"--file={destination}"]
    if schema:
        command.append(f"--schema={schema}")
    _run([*command, _libpq_url(database_url)])
    return destination


def restore_postgres(database_url: str, dump: Path) -> None:
    """Restore a custom-format dump into a database, replacing the objects it contains."""
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--exit-on-error",
            f"--dbname={_libpq_url(database_url)}",
            str(dump),
        ]
    )


def _run(command: list[str]) -> None:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise BackupError(f"{command[0]} is not installed") from error
    if completed.returncode != 0:
        raise BackupError(f"{command[0]} failed: {completed.stderr.strip().splitlines()[-1]}")
