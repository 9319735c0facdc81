"""Browser tests: Debian's Chromium driven by Playwright against a real server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.booking.pages_world import World, build_world

CHROMIUM = os.environ.get("PILOTSLOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _require_browser() -> None:
    """Skip (visibly) without Chromium, unless CI demands the browser suite."""
    if Path(CHROMIUM).exists() and shutil.which(CHROMIUM):
        return
    reason = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
    if os.environ.get("PILOTSLOT_REQUIRE_BROWSER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@dataclass
class LiveServer:
    app: Flask
    url: str

    def run(self, work: Any) -> Any:
        """Run `work()` inside the server's app context (to seed or inspect its database)."""
        with self.app.app_context():
            return work()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Serve a fresh app on a free port, bound to its own SQLite file, for one test module."""
    _require_browser()
    from werkzeug.serving import make_server

    from app import create_app
    from app.extensions import db
    from app.schemaversion import stamp_head

    database = tmp_path_factory.mktemp("live") / "live.sqlite"
    app = create_app(
        {
            "SECRET_KEY": "browser-tests",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "RATELIMIT_ENABLED": False,
            "SOLVER_TIME_LIMIT": 5.0,
        }
    )
    with app.app_context():
        db.create_all()
        stamp_head()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def browser(live_server: LiveServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """Return a factory of pages, each in its own browser context (its own cookies)."""
    contexts: list[Any] = []

    def _open() -> Any:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-GB"
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page: Any, email: str, password: str) -> None:
    """Log in through the login form."""
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button.primary")
    page.wait_for_url("**/dashboard")


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> World:
    """Build the pages' world in the server's database and keep its rows readable outside it."""
    from app.extensions import db

    def build() -> World:
        built = build_world()
        for item in fields(built):
            value = getattr(built, item.name)
            if hasattr(value, "__table__"):
                db.session.refresh(value)
        db.session.expunge_all()
        return built

    return live_server.run(build)
