"""Feed defaults for the shared factories, maintenance and draft proposals, feed links, and
the two independent parsers every feed must satisfy: icalendar and ical.js."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import icalendar
import pytest

from app.accounts.models import User
from app.booking.models import Booking, Proposal, ProposalItem, RequestStep
from app.calendars import tokens
from app.catalog.models import Equipment, Facility, MaintenanceWindow
from app.extensions import db
from tests import factories
from tests.factories import at

ROOT = Path(__file__).resolve().parents[2]
ICALJS_CHECK = Path(__file__).with_name("icaljs_check.mjs")
REQUIRED_EVENT_PROPERTIES = ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "SEQUENCE", "STATUS")


# Feed bookings are made by hand and last changed at the start of 2027 unless a test says so.
make_request = partial(factories.make_request, title="Peptide batch", status="booked")
make_booking = partial(
    factories.make_booking,
    title="Peptide batch",
    source="manual",
    created_at=at("2027-01-01 00:00"),
    updated_at=at("2027-01-01 00:00"),
)


def reschedule(booking: Booking, start: datetime, end: datetime, when: datetime) -> None:
    """Move a booking the way the booking service does: new times, sequence + 1, updated_at."""
    booking.start, booking.end = start, end
    booking.sequence += 1
    booking.updated_at = when
    db.session.commit()


def cancel(booking: Booking, when: datetime) -> None:
    """Cancel a booking the way the booking service does."""
    booking.status = "cancelled"
    booking.cancelled_at = when
    booking.sequence += 1
    booking.updated_at = when
    db.session.commit()


def make_maintenance(unit: Equipment, start: datetime, end: datetime, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "equipment_id": unit.id,
        "start": start,
        "end": end,
        "reason_zh": "校准",
        "reason_en": "Calibration",
        "updated_at": at("2027-01-02 00:00"),
    }
    values.update(overrides)
    window = MaintenanceWindow(**values)
    db.session.add(window)
    db.session.commit()
    return window


def make_draft_proposal(
    facility: Facility, placements: list[tuple[RequestStep, Equipment, datetime, datetime]]
) -> Proposal:
    """Create a draft proposal placing the given steps (their requests become proposed)."""
    run = factories.make_run(facility)
    proposal = Proposal(facility_id=facility.id, run_id=run.id, created_at=at("2027-02-01 08:00"))
    for step, unit, start, end in placements:
        step.request.status = "proposed"
        proposal.items.append(
            ProposalItem(
                request_id=step.request_id,
                step_id=step.id,
                equipment_id=unit.id,
                start=start,
                end=end,
            )
        )
    db.session.add(proposal)
    db.session.commit()
    return proposal


def issue(user: User, kind: str, target_id: int, locale: str = "en") -> str:
    """Create a feed link through the service and return its URL path."""
    _token, raw = tokens.issue_token(user, kind, target_id, locale=locale)
    return f"/feeds/{raw}.ics"


def parse_strictly(body: bytes) -> icalendar.Calendar:
    """Parse with icalendar and check that every component parsed cleanly and is complete."""
    calendar = icalendar.Calendar.from_ical(body)
    for component in calendar.walk():
        assert not component.errors, (component.name, component.errors)
    for name in ("VERSION", "PRODID", "METHOD", "NAME", "X-WR-CALNAME", "REFRESH-INTERVAL"):
        assert name in calendar, name
    tzids = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    for event in calendar.walk("VEVENT"):
        for name in REQUIRED_EVENT_PROPERTIES:
            assert name in event, (name, event.get("UID"))
        for name in ("DTSTART", "DTEND"):
            assert event[name].params["TZID"] in tzids
    return calendar


def icaljs(body: bytes, tmp_path: Path) -> dict[str, Any]:
    """Parse with Mozilla's ical.js under node and return its view of the events."""
    if not (ROOT / "node_modules" / "ical.js").is_dir():
        pytest.fail(
            "ical.js is not installed: run `npm ci` in the repository root "
            f"({ROOT}) before the tests."
        )
    path = tmp_path / f"feed-{len(list(tmp_path.iterdir()))}.ics"
    path.write_bytes(body)
    completed = subprocess.run(
        ["node", str(ICALJS_CHECK), str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = json.loads(completed.stdout or json.dumps({"error": completed.stderr}))
    assert completed.returncode == 0 and "error" not in output, output
    return output


def utc_z(value: datetime) -> str:
    """Format a UTC datetime the way ical.js prints it."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def team(make_facility: Any, make_equipment: Any, make_project: Any, make_user: Any) -> Any:
    """A facility in Nanjing with two units, a startup and its member, and the manager."""

    class Team:
        facility = make_facility(
            name_en="Jiangbei Pilot Base",
            name_zh="江北中试基地",
            address_zh="南京市中试路1号",
            address_en="1 Pilot Road, Nanjing",
            contact_name_zh="李伟",
            contact_name_en="Li Wei",
            contact_email="liwei@example.cn",
        )
        reactor = make_equipment(facility, name_en="Bioreactor 50L", name_zh="50升生物反应器")
        lcms = make_equipment(facility, name_en="LC-MS", name_zh="液质联用仪")
        project = make_project(name="Helix Bio")
        member = make_user(projects=(project,))
        manager = make_user(manages=(facility,))

    return Team


ONE_HOUR = timedelta(hours=1)
# The UID domain when PILOTSLOT_UID_DOMAIN is not set: not the host a feed is read by.
UID_DOMAIN = "pilotslot.invalid"
