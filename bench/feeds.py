"""Benchmark the calendar feeds: a 5,000-booking feed rendered, and the 304 answer.

Run: python -m bench.feeds [--bookings 5000] [--runs 15]
Populates a SQLite file database in bulk, then requests the feed through the Flask test client
(the whole HTTP path: token check, fingerprint, queries, serialisation), emptying the app's
data-version caches before each timed call, as after a write; the cached repeat is shown beside.
Targets: full render < 300 ms, 304 < 10 ms (medians). Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from app import create_app
from app.accounts.models import Project, ProjectMembership, User, facility_managers
from app.booking.models import Booking, BookingRequest, RequestStep
from app.calendars import tokens
from app.catalog.models import Centre, Equipment, Facility, MaintenanceWindow
from app.extensions import db

RENDER_TARGET_MS = 300.0
NOT_MODIFIED_TARGET_MS = 10.0
UNITS = 20
STEPS_PER_CAMPAIGN = 5


def populate(bookings: int) -> tuple[User, User, Project, Facility]:
    """Insert a facility, a manager, a startup and `bookings` bookings in campaigns of five."""
    member, manager, project, facility = _people_and_facility()
    units = _units(facility)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    campaigns = bookings // STEPS_PER_CAMPAIGN
    _campaigns(project, member, campaigns, now)
    _bookings(units, campaigns, now)
    _maintenance(units, now)
    db.session.commit()
    return member, manager, project, facility


def _people_and_facility() -> tuple[User, User, Project, Facility]:
    centre = Centre(slug="bench", name_zh="基准中心", name_en="Bench centre")
    facility = Facility(
        slug="bench-base",
        centre=centre,
        kind="pilot_test_base",
        name_zh="基准中试基地",
        name_en="Bench pilot base",
        city_zh="苏州",
        city_en="Suzhou",
        address_zh="苏州工业园区若水路88号",
        address_en="88 Ruoshui Road, Suzhou Industrial Park",
        contact_name_zh="张敏",
        contact_name_en="Zhang Min",
        contact_email="zhang.min@example.cn",
        contact_phone="+86 512 0000 0000",
    )
    project = Project(name="Benchmark Bio")
    member = User(email="member@bench", name="Member", password_hash="x")
    manager = User(email="manager@bench", name="Manager", password_hash="x")
    db.session.add_all([facility, project, member, manager])
    db.session.flush()
    db.session.add(ProjectMembership(user_id=member.id, project_id=project.id))
    db.session.execute(
        insert(facility_managers), [{"user_id": manager.id, "facility_id": facility.id}]
    )
    return member, manager, project, facility


def _units(facility: Facility) -> list[Equipment]:
    units = [
        Equipment(
            slug=f"bench-unit-{n}",
            facility_id=facility.id,
            name_zh=f"设备{n}号",
            name_en=f"Unit {n}",
        )
        for n in range(UNITS)
    ]
    db.session.add_all(units)
    db.session.flush()
    return units


def _campaigns(project: Project, member: User, campaigns: int, now: datetime) -> None:
    """Insert `campaigns` booked requests of STEPS_PER_CAMPAIGN one-hour steps each."""
    db.session.execute(
        insert(BookingRequest),
        [
            {
                "id": n + 1,
                "project_id": project.id,
                "created_by_id": member.id,
                "title": f"Pilot run {n}: fermentation, purification; analysis",
                "earliest_start": now,
                "deadline": now + timedelta(days=400),
                "status": "booked",
                "created_at": now,
                "updated_at": now,
            }
            for n in range(campaigns)
        ],
    )
    db.session.execute(
        insert(RequestStep),
        [
            {
                "id": n * STEPS_PER_CAMPAIGN + k + 1,
                "request_id": n + 1,
                "position": k + 1,
                "duration_minutes": 60,
            }
            for n in range(campaigns)
            for k in range(STEPS_PER_CAMPAIGN)
        ],
    )


def _bookings(units: list[Equipment], campaigns: int, now: datetime) -> None:
    """Insert one booking per step, an hour apart, round-robin over the units."""
    db.session.execute(
        insert(Booking),
        [
            {
                "request_id": n // STEPS_PER_CAMPAIGN + 1,
                "step_id": n + 1,
                "equipment_id": units[n % UNITS].id,
                "start": now + timedelta(hours=n),
                "end": now + timedelta(hours=n + 1),
                "status": "active",
                "source": "proposal",
                "sequence": n % 3,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(campaigns * STEPS_PER_CAMPAIGN)
        ],
    )


def _maintenance(units: list[Equipment], now: datetime) -> None:
    """Insert a four-hour maintenance window on each unit, a month ahead."""
    db.session.execute(
        insert(MaintenanceWindow),
        [
            {
                "equipment_id": unit.id,
                "start": now + timedelta(days=30, hours=n),
                "end": now + timedelta(days=30, hours=n + 4),
                "reason_zh": "校准",
                "reason_en": "Calibration",
                "created_at": now,
                "updated_at": now,
            }
            for n, unit in enumerate(units)
        ],
    )


def timings(action: Callable[[], int], runs: int, expected: int) -> list[float]:
    """Run `action` `runs` times; return the durations in milliseconds."""
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        status = action()
        durations.append((time.perf_counter() - started) * 1000)
        if status != expected:
            raise SystemExit(f"expected HTTP {expected}, got {status}")
    return durations


def describe(label: str, durations: list[float], target: float) -> bool:
    """Print median and p95; return whether the median meets the target."""
    median = statistics.median(durations)
    p95 = statistics.quantiles(durations, n=20)[-1] if len(durations) > 1 else durations[0]
    ok = median < target
    print(
        f"{label:<34} median {median:7.1f} ms   p95 {p95:7.1f} ms   "
        f"target < {target:.0f} ms   {'ok' if ok else 'MISSED'}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as directory:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(directory) / 'bench.sqlite'}",
                "SECRET_KEY": "bench",
                "RATELIMIT_ENABLED": False,
            }
        )
        with app.app_context():
            db.create_all()
            member, manager, project, facility = populate(args.bookings)
            feeds = {
                "project feed": tokens.issue_token(member, "project", project.id, locale="en"),
                "facility feed (+ maintenance)": tokens.issue_token(
                    manager, "facility", facility.id, locale="zh"
                ),
            }
            db.session.remove()
        client = app.test_client()
        print(f"{args.bookings} bookings, {UNITS} units, SQLite file, Flask test client")
        ok = True
        for label, (_token, raw) in feeds.items():
            url = f"/feeds/{raw}.ics"
            first = client.get(url)
            etag = first.headers["ETag"]
            events = first.data.count(b"BEGIN:VEVENT")
            print(f"{label}: {events} events, {len(first.data) / 1e6:.2f} MB")

            def uncached(url: str = url, headers: dict[str, str] | None = None) -> int:
                # As after a write: the feed is fingerprinted and rendered from the database.
                app.extensions["pilotslot_caches"].clear()
                return int(client.get(url, headers=headers or {}).status_code)

            ok &= describe(
                "  full render (200)",
                timings(uncached, args.runs, 200),
                RENDER_TARGET_MS,
            )
            ok &= describe(
                "  not modified (304, If-None-Match)",
                timings(
                    lambda url=url, etag=etag: uncached(url, {"If-None-Match": etag}),
                    args.runs * 10,
                    304,
                ),
                NOT_MODIFIED_TARGET_MS,
            )
            describe(
                "  repeated, no write between (200, cached)",
                timings(lambda url=url: client.get(url).status_code, args.runs * 10, 200),
                RENDER_TARGET_MS,
            )
        with app.app_context():
            db.engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
