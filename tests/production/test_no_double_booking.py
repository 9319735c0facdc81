"""A state machine over the booking API: requests, in-process solves, approvals, manual
bookings, cancellations, releases and moves by two startups and a manager, in any order.
After every step no unit holds more active bookings at once than its capacity, and no two
active bookings share a lane."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import combinations
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from app.accounts.services import create_api_token
from app.booking import runs
from app.booking.models import Booking
from app.catalog.models import Equipment
from app.extensions import db
from tests import factories
from tests.conftest import empty_tables

ZONE = ZoneInfo("Asia/Shanghai")
DAYS = st.integers(min_value=0, max_value=2)
HOURS = st.integers(min_value=9, max_value=16)
DURATIONS = st.sampled_from([30, 60, 120, 180])


def next_monday() -> date:
    today = datetime.now(ZONE).date()
    return today + timedelta(days=7 - today.weekday())


class BookingMachine(RuleBasedStateMachine):
    """Drive the API as two members and a manager; check the units after every step."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app
        empty_tables()
        self.monday = next_monday()
        facility = factories.make_facility(slug="machine-bio")
        self.facility_slug = facility.slug
        self.units = {
            "single": factories.make_equipment(facility, slug="lcms-single", capacity=1).slug,
            "double": factories.make_equipment(
                facility, slug="bench-double", capacity=2, capabilities=("bench",)
            ).slug,
        }
        amber = factories.make_project(name="Amber")
        birch = factories.make_project(name="Birch")
        self.projects = {"amber": amber.id, "birch": birch.id}
        self.headers = {
            "amber": self._token(factories.make_user(projects=(amber,))),
            "birch": self._token(factories.make_user(projects=(birch,))),
            "manager": self._token(factories.make_user(manages=(facility,))),
        }
        self.client: FlaskClient = app.test_client()
        self.booking_ids: list[int] = []

    @staticmethod
    def _token(user: Any) -> dict[str, str]:
        _row, secret = create_api_token(user, "machine")
        return {"Authorization": f"Bearer {secret}"}

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(self.monday + timedelta(days=day), time(hour, minute), ZONE)

    def call(self, method: str, path: str, who: str, body: Any = None) -> Any:
        response = self.client.open(path, method=method, json=body, headers=self.headers[who])
        assert response.status_code < 500, (method, path, response.get_data(as_text=True))
        return response

    def remember(self, response: Any) -> None:
        if response.status_code in (200, 201):
            for booking_id in response.get_json().get("bookings", []):
                self.booking_ids.append(booking_id)

    @rule(
        who=st.sampled_from(["amber", "birch"]),
        unit=st.sampled_from(["single", "double", "any-lcms"]),
        day=DAYS,
        minutes=DURATIONS,
        weight=st.integers(min_value=1, max_value=5),
    )
    def request(self, who: str, unit: str, day: int, minutes: int, weight: int) -> None:
        step: dict[str, Any] = {"duration_minutes": minutes}
        if unit == "any-lcms":
            step["capability"] = "lc-ms"
        else:
            step["unit_ids"] = [self._unit_id(self.units[unit])]
        response = self.call(
            "POST",
            "/api/v1/requests",
            who,
            {
                "project_id": self.projects[who],
                "title": f"{who} work",
                "earliest_start": self.at(day, 9).isoformat(),
                "deadline": self.at(day + 1, 18).isoformat(),
                "steps": [step],
            },
        )
        assert response.status_code == 201, response.get_json()
        # The project asks; the facility's manager sets the weight.
        weighed = self.call(
            "PATCH", f"/api/v1/requests/{response.get_json()['id']}", "manager", {"weight": weight}
        )
        assert weighed.status_code == 200, weighed.get_json()

    @rule()
    def solve_and_approve(self) -> None:
        response = self.call(
            "POST", f"/api/v1/facilities/{self.facility_slug}/solve", "manager", {"time_limit": 2}
        )
        assert response.status_code == 202, response.get_json()
        run_id = response.get_json()["id"]
        with self.app.app_context():
            runs.execute_run(run_id)
        run = self.call("GET", f"/api/v1/runs/{run_id}", "manager").get_json()
        if run["proposal"] is None:
            return
        approved = self.call("POST", f"/api/v1/proposals/{run['proposal']}/approve", "manager", {})
        assert approved.status_code in (200, 409, 422), approved.get_json()
        if approved.status_code == 200:
            self.booking_ids.extend(b["id"] for b in approved.get_json()["bookings"])

    @rule(
        who=st.sampled_from(["amber", "birch"]),
        unit=st.sampled_from(["single", "double"]),
        day=DAYS,
        hour=HOURS,
        minutes=DURATIONS,
    )
    def manual_booking(self, who: str, unit: str, day: int, hour: int, minutes: int) -> None:
        start = self.at(day, hour)
        response = self.call(
            "POST",
            "/api/v1/bookings",
            "manager",
            {
                "project_id": self.projects[who],
                "equipment": self.units[unit],
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=minutes)).isoformat(),
                "title": "manual",
            },
        )
        assert response.status_code in (201, 409, 422), response.get_json()
        if response.status_code == 201:
            self.booking_ids.append(response.get_json()["id"])

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        if not self.booking_ids:
            return
        booking_id = data.draw(st.sampled_from(self.booking_ids))
        response = self.call(
            "POST", f"/api/v1/bookings/{booking_id}/cancel", "manager", {"reason": "test"}
        )
        assert response.status_code in (200, 409, 422), response.get_json()

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        if not self.booking_ids:
            return
        booking_id = data.draw(st.sampled_from(self.booking_ids))
        response = self.call(
            "POST", f"/api/v1/bookings/{booking_id}/release", "manager", {"reason": "may move"}
        )
        assert response.status_code in (200, 409, 422), response.get_json()

    @rule(
        data=st.data(),
        unit=st.sampled_from(["single", "double", None]),
        day=DAYS,
        hour=HOURS,
        minutes=DURATIONS,
    )
    def reschedule(
        self, data: st.DataObject, unit: str | None, day: int, hour: int, minutes: int
    ) -> None:
        if not self.booking_ids:
            return
        booking_id = data.draw(st.sampled_from(self.booking_ids))
        start = self.at(day, hour)
        body: dict[str, Any] = {
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=minutes)).isoformat(),
            # The request's own rules may be set aside; a clash never is (the invariant here).
            "override": True,
            "override_reason": "state machine",
        }
        if unit is not None:
            body["equipment"] = self.units[unit]
        response = self.call("PATCH", f"/api/v1/bookings/{booking_id}", "manager", body)
        assert response.status_code in (200, 409, 422), response.get_json()

    def _unit_id(self, slug: str) -> int:
        unit = db.session.scalar(select(Equipment).where(Equipment.slug == slug))
        assert unit is not None
        return unit.id

    @invariant()
    def units_never_hold_more_than_their_capacity(self) -> None:
        db.session.expire_all()
        active = db.session.scalars(select(Booking).where(Booking.status == "active")).all()
        for unit in db.session.scalars(select(Equipment)).all():
            mine = [b for b in active if b.equipment_id == unit.id]
            for booking in mine:
                assert 0 <= booking.lane < unit.capacity, booking
                # The most bookings at once is reached at some booking's start.
                at_start = [o for o in mine if o.start <= booking.start < o.end]
                assert len(at_start) <= unit.capacity, at_start
            for a, b in combinations(mine, 2):
                if a.lane == b.lane:
                    assert a.end <= b.start or b.end <= a.start, (a, b)


def test_no_unit_is_ever_double_booked(app: Flask, db: Any) -> None:
    app.config["SOLVE_WORKER_PROCESS"] = False
    run_state_machine_as_test(
        lambda: BookingMachine(app),
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
