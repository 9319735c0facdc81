"""SQL statements and in-process time per request kind of the load benchmark's mix.

    python -m bench.queries

It builds the load benchmark's database (demo data, API and feed tokens), then calls each kind
of request through Flask's test client, counting the statements SQLAlchemy sends (event
`before_cursor_execute`) and timing each call without any network or queueing in the way."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url

from bench import load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__)
    parser.add_argument("--repeat", type=int, default=50, help="calls of each kind timed")
    parser.add_argument("--show", action="store_true", help="print each kind's statements")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args(argv)

    from app.config import normalise_database_url

    server_url = normalise_database_url(args.database_url)
    if make_url(server_url).host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("runs against a loopback PostgreSQL only")
    tag = uuid.uuid4().hex[:8]
    name = f"pilotslot_queries_{tag}"
    database_url = load.create_database(server_url, name)
    instance = tempfile.mkdtemp(prefix="pilotslot-queries-")
    try:
        env = dict(
            os.environ, DATABASE_URL=database_url, SECRET_KEY=tag, PILOTSLOT_INSTANCE_DIR=instance
        )
        os.environ["PILOTSLOT_INSTANCE_DIR"] = instance
        load.flask_command(env, "db", "upgrade")
        load.flask_command(env, "facilities", "sync")
        load.flask_command(env, "demo", "load")
        fixtures = load.prepare(database_url)
        measure(database_url, fixtures, args.repeat, args.show)
    finally:
        load.drop_database(server_url, name)
        shutil.rmtree(instance, ignore_errors=True)
    return 0


def measure(database_url: str, fixtures: load.Fixtures, repeat: int, show: bool) -> None:
    """Print statements and median in-process milliseconds per kind of call."""
    from app import create_app
    from app.extensions import db

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False, "TESTING": False}
    )
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    client = app.test_client()
    member = fixtures.members[0]
    bearer = {"Authorization": f"Bearer {member.token}"}
    feed_token = fixtures.feed_tokens[0]
    facility = fixtures.facility_slugs[0]
    unit = fixtures.unit_slugs[0]
    etag: dict[str, str] = {}

    def feed_304() -> Any:
        if "v" not in etag:
            etag["v"] = client.get(f"/feeds/{feed_token}.ics").headers["ETag"]
        return client.get(f"/feeds/{feed_token}.ics", headers={"If-None-Match": etag["v"]})

    counter = iter(range(10**9))

    def submit() -> Any:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
        body = {
            "project_id": member.project_id,
            "title": f"queries-{next(counter)}",
            "earliest_start": start.isoformat(),
            "deadline": (start + timedelta(days=14)).isoformat(),
            "steps": [{"duration_minutes": 60, "unit_ids": [member.unit_ids[0]]}],
        }
        return client.post(
            "/api/v1/requests",
            data=json.dumps(body),
            headers={**bearer, "Content-Type": "application/json"},
        )

    kinds: dict[str, Callable[[], Any]] = {
        "GET /api/v1/facilities": lambda: client.get("/api/v1/facilities"),
        "GET /api/v1/facilities/<slug>": lambda: client.get(f"/api/v1/facilities/{facility}"),
        "GET /facilities/<slug>": lambda: client.get(f"/facilities/{facility}"),
        "GET availability": lambda: client.get(
            f"/api/v1/equipment/{unit}/availability", headers=bearer
        ),
        "GET feed": lambda: client.get(f"/feeds/{feed_token}.ics"),
        "GET feed 304": feed_304,
        "POST /api/v1/requests": submit,
    }
    print("| call | status | statements | median ms | p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for label, call in kinds.items():
        call()  # warm caches and connections
        statements.clear()
        response = call()
        seen = list(statements)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        times.sort()
        median = times[len(times) // 2] * 1000
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))] * 1000
        print(f"| {label} | {response.status_code} | {len(seen)} | {median:.1f} | {p95:.1f} |")
        if show:
            for statement in seen:
                print("    " + " ".join(statement.split())[:160])


if __name__ == "__main__":
    sys.exit(main())
