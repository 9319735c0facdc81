"""Faults of the database: PostgreSQL going away and coming back under a real gunicorn, and a
read-only or full SQLite file. Each answers 503 with the cause, never 500, and the app recovers
without a restart."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from tests import factories
from tests.production.conftest import REQUIRE_POSTGRES, free_port, make_app
from tests.production.pgcluster import PrivatePostgres, postgres_bin_dir

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"


@dataclass
class Answer:
    status: int
    content_type: str
    body: str


def fetch(url: str, token: str | None = None, timeout: float = 15) -> Answer:
    """GET a URL and return its status, type and body, errors included."""
    # In English: the server's default language is Chinese, the assertions read English.
    headers = {"Accept-Language": "en"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(
                response.status, response.headers.get_content_type(), response.read().decode()
            )
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers.get_content_type(), error.read().decode())


@dataclass
class Site:
    base: str
    token: str
    cluster: PrivatePostgres
    log: Path
    email: str

    def errors(self) -> str:
        """The server's log lines about errors, to explain a failed assertion."""
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(line for line in lines if "error" in line.lower())[-6000:]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A private PostgreSQL cluster with a little data, and gunicorn (2 workers) serving it."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        if REQUIRE_POSTGRES:
            pytest.fail("PILOTSLOT_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries (initdb)")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    cluster = PrivatePostgres(bin_dir, free_port())
    server: subprocess.Popen[bytes] | None = None
    try:
        cluster.initialise()
        cluster.start()
        token, email = _prepare_database(cluster.url)
        port = free_port()
        env = dict(
            os.environ,
            DATABASE_URL=cluster.url,
            SECRET_KEY="fault-test-secret",
            BIND=f"127.0.0.1:{port}",
            WEB_CONCURRENCY="2",
            PYTHONPATH=str(ROOT),
            DATABASE_CONNECT_TIMEOUT="2",
            PILOTSLOT_API_RATE_LIMIT="100000/minute",
        )
        env.pop("REDIS_URL", None)
        log = tmp_path_factory.mktemp("gunicorn") / "server.log"
        with log.open("wb") as log_file:
            server = subprocess.Popen(
                [str(GUNICORN), "-c", "gunicorn.conf.py"],
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        base = f"http://127.0.0.1:{port}"
        _wait_until(lambda: _status(f"{base}/healthz") == 200, 60, "gunicorn to serve")
        yield Site(base, token, cluster, log, email)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        cluster.remove()


def _prepare_database(url: str) -> tuple[str, str]:
    from app.accounts.services import create_api_token
    from app.extensions import db
    from app.schemaversion import create_extensions, stamp_head

    flask_app = make_app(url)
    with flask_app.app_context():
        with db.engine.begin() as conn:
            create_extensions(conn)
        db.create_all()
        stamp_head()
        facility = factories.make_facility()
        factories.make_equipment(facility=facility)
        user = factories.make_user(name="Outage Tester")
        _token, secret = create_api_token(user, "fault test")
        email = user.email
        db.session.remove()
        db.engine.dispose()
    return secret, email


def _status(url: str) -> int | None:
    try:
        return fetch(url, timeout=5).status
    except OSError:
        return None


def _wait_until(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def _sweep(site: Site) -> dict[str, Answer]:
    return {
        "health": fetch(f"{site.base}/healthz"),
        "api": fetch(f"{site.base}/api/v1/me", token=site.token),
        "catalogue api": fetch(f"{site.base}/api/v1/facilities"),
        "page": fetch(f"{site.base}/facilities"),
    }


def test_postgres_outage_answers_503_and_recovers_without_restart(site: Site) -> None:
    for _ in range(4):
        assert {name: a.status for name, a in _sweep(site).items()} == dict.fromkeys(
            ("health", "api", "catalogue api", "page"), 200
        )

    # Callers keep going through several outages, some cutting requests in flight: every
    # answer is a 200 or a clean 503, whichever moment of a request the server dies at.
    seen: dict[str, list[int]] = {"/healthz": [], "/api/v1/me": [], "/api/v1/facilities": []}
    seen["/facilities"] = []
    stop = threading.Event()

    def call(path: str) -> None:
        token = site.token if path == "/api/v1/me" else None
        while not stop.is_set():
            seen[path].append(fetch(f"{site.base}{path}", token=token).status)

    callers = [threading.Thread(target=call, args=(path,)) for path in seen]
    for caller in callers:
        caller.start()
    try:
        for outage in range(3):
            time.sleep(0.4 + 0.3 * outage)
            site.cluster.stop()
            down = _sweep(site)
            assert {name: a.status for name, a in down.items()} == dict.fromkeys(down, 503)
            site.cluster.start()
            _wait_until(lambda: _status(f"{site.base}/healthz") == 200, 30, "the app to reconnect")
        assert down["api"].content_type == "application/problem+json"
        assert "database is not reachable" in down["api"].body
        assert down["page"].content_type == "text/html"
        assert "database is not reachable" in down["page"].body
        assert '"unavailable"' in down["health"].body
        time.sleep(0.5)
    finally:
        stop.set()
        for caller in callers:
            caller.join(timeout=30)

    # Both workers' pools held dead connections; several rounds reach each worker.
    for _ in range(6):
        assert {name: a.status for name, a in _sweep(site).items()} == dict.fromkeys(
            ("health", "api", "catalogue api", "page"), 200
        )
    statuses = {path: sorted(set(answers)) for path, answers in seen.items()}
    assert all(set(found) <= {200, 503} for found in statuses.values()), (statuses, site.errors())
    assert all(503 in answers and answers[-1] == 200 for answers in seen.values()), statuses


class Browser:
    """A browser-like client: keeps its session cookie, sends forms with their CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def open(self, path: str, form: dict[str, str] | None = None) -> Answer:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        # An English browser: the server's default language is Chinese.
        request = urllib.request.Request(
            f"{self.base}{path}", data=data, headers={"Accept-Language": "en"}
        )
        try:
            with self.opener.open(request, timeout=15) as response:
                body = response.read().decode()
                return Answer(response.status, response.headers.get_content_type(), body)
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers.get_content_type(), error.read().decode())

    @staticmethod
    def csrf_token(page: Answer) -> str:
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.body) or re.search(
            r'name="[a-z]*-?csrf_token"[^>]*value="([^"]+)"', page.body
        )
        assert found, page.body[:2000]
        return found.group(1)

    def session_cookie(self) -> str:
        return next(c.value for c in self.cookies if c.name == "session")


def test_a_logged_in_browser_gets_503_pages_through_an_outage_and_stays_logged_in(
    site: Site,
) -> None:
    browser = Browser(site.base)
    login_page = browser.open("/login")
    logged_in = browser.open(
        "/login",
        {
            "email": site.email,
            "password": factories.PASSWORD,
            "csrf_token": browser.csrf_token(login_page),
        },
    )
    assert logged_in.status == 200 and "Outage Tester" in logged_in.body, site.errors()
    account = browser.open("/account")
    assert account.status == 200 and "Outage Tester" in account.body
    token_form = {
        "action": "token",
        "token-name": "made after the outage",
        "csrf_token": browser.csrf_token(account),
    }
    cookie_before = browser.session_cookie()

    site.cluster.stop()
    try:
        down_page = browser.open("/account")
        down_form = browser.open("/account", {**token_form, "token-name": "made in the outage"})
        down_dashboard = browser.open("/dashboard")
    finally:
        site.cluster.start()
    _wait_until(lambda: _status(f"{site.base}/healthz") == 200, 30, "the app to reconnect")

    for answer in (down_page, down_form, down_dashboard):
        assert answer.status == 503, (answer.status, answer.body[:500], site.errors())
        assert answer.content_type == "text/html"
        assert "database is not reachable" in answer.body
    # The pages answered in the outage could not tell who was asking, and dropped no one.
    assert browser.session_cookie() == cookie_before
    # Both workers' pools held dead connections: several rounds reach each worker.
    for _ in range(4):
        again = browser.open("/account")
        assert again.status == 200 and "Outage Tester" in again.body, site.errors()
    made = browser.open("/account", token_form)
    assert made.status == 200, made.body[:500]
    assert "made after the outage" in made.body
    assert "made in the outage" not in made.body


@dataclass
class SqliteWorld:
    url: str
    token: str
    email: str
    project_id: int


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[SqliteWorld]:
    """A SQLite database file with a facility, a unit, a startup and its member's API token."""
    from app.accounts.services import create_api_token
    from app.extensions import db
    from app.schemaversion import stamp_head

    url = f"sqlite:///{tmp_path / 'site.sqlite'}"
    flask_app = make_app(url)
    with flask_app.app_context():
        db.create_all()
        stamp_head()
        factories.make_equipment()
        project = factories.make_project()
        user = factories.make_user(projects=(project,))
        _token, secret = create_api_token(user, "script")
        world = SqliteWorld(url, secret, user.email, project.id)
        db.session.remove()
        db.engine.dispose()
    yield world


def request_body(project_id: int, note: str = "") -> dict[str, Any]:
    """Return a valid request for next month, asking for any LC-MS."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    return {
        "project_id": project_id,
        "title": "Peptide map",
        "earliest_start": start.isoformat(),
        "deadline": (start + timedelta(days=14)).isoformat(),
        "steps": [{"duration_minutes": 120, "capability": "lc-ms", "note": note}],
    }


def count_requests() -> int:
    from app.booking.models import BookingRequest
    from app.extensions import db

    return int(db.session.scalar(select(func.count()).select_from(BookingRequest)) or 0)


def test_read_only_sqlite_answers_503_saying_so(sqlite_world: SqliteWorld) -> None:
    from app.extensions import db

    path = sqlite_world.url.removeprefix("sqlite:///")
    read_only = make_app(f"sqlite:///file:{path}?mode=ro&uri=true")
    with read_only.app_context():
        client = read_only.test_client()
        page = client.get("/facilities")
        api = client.post(
            "/api/v1/requests",
            json=request_body(sqlite_world.project_id),
            headers={"Authorization": f"Bearer {sqlite_world.token}"},
        )
        login = client.post(
            "/login", data={"email": sqlite_world.email, "password": factories.PASSWORD}
        )
        health = client.get("/healthz")
        stored = count_requests()
        db.session.remove()
        db.engine.dispose()
    assert page.status_code == 200 and health.status_code == 200
    assert api.status_code == 503
    assert api.mimetype == "application/problem+json"
    assert "read-only" in api.get_json()["detail"]
    assert login.status_code == 503
    assert "The database is read-only" in login.get_data(as_text=True)
    assert stored == 0


def test_full_sqlite_answers_503_saying_so_and_keeps_what_was_saved(
    sqlite_world: SqliteWorld,
) -> None:
    from app.extensions import db

    flask_app = make_app(sqlite_world.url)
    with flask_app.app_context():
        pages = db.session.execute(text("PRAGMA page_count")).scalar_one()
        db.session.remove()
        db.engine.dispose()

        # Every connection may grow the file by a few pages only; then the disk is "full".
        @event.listens_for(db.engine, "connect")
        def _cap(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"PRAGMA max_page_count={pages + 4}")

        client = flask_app.test_client()
        headers = {"Authorization": f"Bearer {sqlite_world.token}"}
        answers = []
        for _ in range(300):
            response = client.post(
                "/api/v1/requests",
                json=request_body(sqlite_world.project_id, note="x" * 290),
                headers=headers,
            )
            answers.append(response)
            if response.status_code != 201:
                break
        stored = count_requests()
        read = client.get("/api/v1/requests", headers=headers)
        db.session.remove()
        db.engine.dispose()
    refused = answers[-1]
    assert refused.status_code == 503, refused.get_data(as_text=True)
    assert refused.mimetype == "application/problem+json"
    assert "The database is full" in refused.get_json()["detail"]
    assert all(a.status_code == 201 for a in answers[:-1]) and len(answers) > 1
    # No partial write: exactly the accepted requests are stored, and can still be read.
    assert stored == len(answers) - 1
    assert read.status_code == 200 and len(read.get_json()["requests"]) == stored
