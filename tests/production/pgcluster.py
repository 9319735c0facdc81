"""A private PostgreSQL cluster for tests that stop and start the server.

The shared server on 127.0.0.1:5432 serves everyone's tests, so it is never stopped; this one
lives in a temporary directory on a free port and is removed afterwards."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def postgres_bin_dir() -> Path | None:
    """Return the newest installed PostgreSQL server's bin directory, if any."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    found = shutil.which("initdb")
    if candidates:
        return Path(candidates[-1]).parent
    return Path(found).parent if found else None


class PrivatePostgres:
    """A throwaway cluster: initdb into a temporary directory, trust authentication."""

    def __init__(self, bin_dir: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="pilotslot-pg-"))
        self.data = self.directory / "data"

    @property
    def url(self) -> str:
        """Return the SQLAlchemy URL of the cluster's `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        # initdb and postgres refuse to run as root.
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def initialise(self) -> None:
        """Create the cluster's files."""
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        """Stop the server at once, cutting every connection."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete its files."""
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.directory, ignore_errors=True)
