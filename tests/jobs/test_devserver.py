"""`make run`: the development server starts the scheduler beside it and stops it with it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from typing import Any

import pytest

from app.jobs import lease
from tests.jobs.conftest import ROOT, wait_for

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def _holder(db: Any) -> str:
    db.session.commit()
    db.session.expire_all()
    current = lease.current()
    return current.holder if current is not None else ""


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_devserver_runs_the_scheduler_and_takes_it_down_with_it(
    db: Any, scheduler_env: dict[str, str], tmp_path: Any, stop: signal.Signals
) -> None:
    port = _free_port()
    with (tmp_path / "devserver.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "app.devserver", "--port", str(port)],
            cwd=ROOT,
            env=scheduler_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: _healthy(port), timeout=30, what="the web server")
        holder = wait_for(lambda: _holder(db), timeout=30, what="the scheduler's lease")
        scheduler_pid = int(holder.split(":")[1])
        assert scheduler_pid != server.pid and _alive(scheduler_pid)
        server.send_signal(stop)
        server.wait(timeout=20)
        wait_for(lambda: not _alive(scheduler_pid), timeout=20, what="the scheduler to stop")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
