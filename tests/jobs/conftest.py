"""Fixtures of the job tests: a clean job store, and the environment of a scheduler process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import inspect, text

from app.jobs.scheduler import JOBSTORE_TABLE
from tests import factories

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def empty_jobstore(app: Flask) -> Iterator[None]:
    """Start every test without jobs left in APScheduler's table by an earlier one."""
    from app.extensions import db

    def _empty() -> None:
        db.session.rollback()
        if inspect(db.engine).has_table(JOBSTORE_TABLE):
            db.session.execute(text(f"DELETE FROM {JOBSTORE_TABLE}"))
            db.session.commit()

    _empty()
    yield
    _empty()


@pytest.fixture
def fast_lease(app: Flask) -> Flask:
    """Make the lease short so takeovers happen within a test."""
    app.config.update(SCHEDULER_LEASE_SECONDS=3, SCHEDULER_RENEW_SECONDS=0.5)
    return app


@pytest.fixture
def scheduler_env(app: Flask, tmp_path: Path) -> dict[str, str]:
    """Return the environment of a `flask scheduler run` process on the test database."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY="test-secret",
        PILOTSLOT_INSTANCE_DIR=str(tmp_path),
        PILOTSLOT_SCHEDULER_LEASE_SECONDS="3",
        PILOTSLOT_SCHEDULER_RENEW_SECONDS="0.5",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `flask scheduler run` processes; kill whatever is left at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def _spawn(env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "scheduler", "run"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    yield _spawn
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
    """Poll until `condition()` is truthy and return it; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class World:
    """A facility with one unit and its manager; two startups, one with two members."""

    facility: Any
    unit: Any
    manager: Any
    amber: Any
    ann: Any
    li: Any
    birch: Any
    bob: Any


@pytest.fixture
def world(db: Any) -> World:
    facility = factories.make_facility(
        slug="bio",
        name_en="Bio Centre",
        name_zh="生物中心",
        address_zh="基因路1号",
        address_en="1 Gene Road",
    )
    unit = factories.make_equipment(
        facility, slug="lcms-1", name_en="LC-MS One", name_zh="质谱一号"
    )
    amber = factories.make_project(name="Amber Biologics")
    birch = factories.make_project(name="Birch Antennas")
    return World(
        facility=facility,
        unit=unit,
        manager=factories.make_user(name="Mia", manages=(facility,)),
        amber=amber,
        ann=factories.make_user(name="Ann", locale="en", projects=(amber,)),
        li=factories.make_user(name="Li", locale="zh", projects=(amber,)),
        birch=birch,
        bob=factories.make_user(name="Bob", locale="en", projects=(birch,)),
    )
