"""Hostile input, case by case: dates at the ends of the calendar, numbers that are not numbers,
JSON nested past the parser's depth, NUL bytes. Each gets a 400/422 naming the field (beside it
on a form), never a 500, and nothing is written; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.accounts.models import Project, Training, User
from app.accounts.services import create_api_token
from app.booking import bookings
from app.booking.models import Booking, BookingRequest
from app.catalog.models import Equipment, Facility, MaintenanceWindow
from app.extensions import db
from tests import factories

ZONE = ZoneInfo("Asia/Shanghai")


@dataclass
class Site:
    facility: Facility
    unit: Equipment
    trained_unit: Equipment
    project: Project
    member: User
    manager: User
    booking: Booking
    member_token: str
    manager_token: str

    def at(self, days: int, clock: time = time(9)) -> datetime:
        today = datetime.now(ZONE).date()
        monday = today + timedelta(days=7 - today.weekday())
        return datetime.combine(monday + timedelta(days=days), clock, ZONE)


@pytest.fixture
def site(app: Flask) -> Site:
    app.config["SOLVE_WORKER_PROCESS"] = False
    facility = factories.make_facility(slug="bio")
    unit = factories.make_equipment(facility, slug="lcms")
    trained_unit = factories.make_equipment(facility, slug="nmr", training_required=True)
    project = factories.make_project(name="Amber")
    member = factories.make_user(email="alice@amber.test", projects=(project,))
    manager = factories.make_user(email="mia@bio.test", manages=(facility,))
    site = Site(facility, unit, trained_unit, project, member, manager, None, "", "")  # type: ignore[arg-type]
    site.booking = bookings.manual_booking(
        manager,
        project_id=project.id,
        equipment_id=unit.id,
        start=site.at(0),
        end=site.at(0, time(11)),
        title="Peptide map",
    )
    site.member_token = create_api_token(member, "member")[1]
    site.manager_token = create_api_token(manager, "manager")[1]
    return site


def rows() -> dict[str, int]:
    """Count the rows hostile input could have added."""
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (BookingRequest, Booking, MaintenanceWindow, Training, User)
    }


def api(app: Flask, site: Site, who: str, method: str, path: str, **kwargs: Any) -> Any:
    token = site.member_token if who == "member" else site.manager_token
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return app.test_client().open(path, method=method, headers=headers, **kwargs)


def request_body(site: Site) -> dict[str, Any]:
    """Return a valid request body, for hostile fields to replace."""
    return {
        "project_id": site.project.id,
        "title": "Peptide map",
        "earliest_start": site.at(1).isoformat(),
        "deadline": site.at(4).isoformat(),
        "steps": [{"duration_minutes": 60, "capability": "lc-ms"}],
    }


def page_client(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    return client


def assert_problem(response: Any, status: int, field: str) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:2000]
    assert response.mimetype == "application/problem+json", text[:2000]
    assert response.get_json()["field"] == field, text[:2000]


def assert_page_error(response: Any, status: int, field: str) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:2000]
    assert response.mimetype == "text/html"
    assert field in text, text[:2000]


def assert_beside_field(response: Any, field_id: str, message: str) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code in (200, 422), text[:2000]
    assert f'id="{field_id}-error"' in text, text[:4000]
    assert message in text, text[:4000]


# ---------------------------------------------------------------- dates outside 2000-2100


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/calendars/week?date=9999-12-31", "date"),
        ("/calendars/week?date=0001-01-01", "date"),
        ("/calendars/week?date=1999-12-31", "date"),
        ("/calendars/month?month=9999-12", "month"),
        ("/calendars/month?month=0001-01", "month"),
        ("/calendars/month?month=2101-01", "month"),
        ("/equipment/lcms/availability?week=9999-12-27", "week"),
        ("/equipment/lcms/availability?week=0001-01-01", "week"),
    ],
)
def test_pages_refuse_dates_outside_the_supported_range(
    app: Flask, site: Site, query: str, field: str
) -> None:
    response = page_client(app, site.member).get(query)
    assert_page_error(response, 400, field)
    assert "2000-01-01" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        "/reports/?start=9999-12-25&end=9999-12-31",
        "/reports/?start=0001-01-01&end=0001-01-07",
        "/reports/export/schedule.csv?start=9999-12-25&end=9999-12-31",
    ],
)
def test_report_pages_refuse_dates_outside_the_supported_range(
    app: Flask, site: Site, query: str
) -> None:
    response = page_client(app, site.manager).get(query)
    assert_page_error(response, 400, "start")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/equipment/lcms/availability?start=9999-12-31T00:00:00Z", "start"),
        ("/api/v1/equipment/lcms/availability?start=0001-01-01T00:00:00Z", "start"),
        ("/api/v1/equipment/lcms/availability?end=9999-12-31T23:59:00-14:00", "end"),
        ("/api/v1/bookings?start=0001-01-01T00:00:00%2B14:00", "start"),
        ("/api/v1/bookings?end=9999-12-31T23:59:00-14:00", "end"),
        ("/api/v1/reports?start=9999-12-25&end=9999-12-31", "start"),
        ("/api/v1/reports?start=2000-01-01&end=2101-01-01", "end"),
    ],
)
def test_api_queries_refuse_dates_outside_the_supported_range(
    app: Flask, site: Site, path: str, field: str
) -> None:
    assert_problem(api(app, site, "manager", "GET", path), 400, field)


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "field"),
    [
        (
            "member",
            "POST",
            "/api/v1/requests",
            {"deadline": "9999-12-31T23:59:00-14:00"},
            "deadline",
        ),
        (
            "member",
            "POST",
            "/api/v1/requests",
            {"earliest_start": "0001-01-01T00:00:00+14:00"},
            "earliest_start",
        ),
        (
            "member",
            "PATCH",
            "/api/v1/requests/{request}",
            {"deadline": "2101-01-01T00:00:00Z"},
            "deadline",
        ),
        ("manager", "POST", "/api/v1/bookings", {"start": "0001-01-01T00:00:00Z"}, "start"),
        ("manager", "POST", "/api/v1/bookings", {"end": "9999-12-31T23:45:00-14:00"}, "end"),
        (
            "manager",
            "PATCH",
            "/api/v1/bookings/{booking}",
            {"start": "0001-01-01T00:00:00Z"},
            "start",
        ),
        (
            "manager",
            "POST",
            "/api/v1/facilities/bio/maintenance",
            {"end": "9999-12-31T23:59:00-14:00"},
            "end",
        ),
        (
            "manager",
            "POST",
            "/api/v1/equipment/nmr/trainings",
            {"trained_on": "0001-01-01"},
            "trained_on",
        ),
    ],
)
def test_api_bodies_refuse_dates_outside_the_supported_range(
    app: Flask, site: Site, who: str, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    valid: dict[str, Any] = {
        "/api/v1/requests": request_body(site),
        "/api/v1/bookings": {
            "project_id": site.project.id,
            "equipment": "lcms",
            "start": site.at(2).isoformat(),
            "end": site.at(2, time(10)).isoformat(),
            "title": "Manual",
        },
        "/api/v1/facilities/bio/maintenance": {
            "equipment": "lcms",
            "start": site.at(3).isoformat(),
            "end": site.at(3, time(10)).isoformat(),
        },
        "/api/v1/equipment/nmr/trainings": {"email": site.member.email},
    }.get(path, {"start": site.at(2).isoformat(), "end": site.at(2, time(10)).isoformat()})
    if "{request}" in path:
        created = api(app, site, "member", "POST", "/api/v1/requests", json=request_body(site))
        assert created.status_code == 201
        path = path.format(request=created.get_json()["id"])
        valid = {}
    path = path.format(booking=site.booking.id)
    before = rows()
    assert_problem(api(app, site, who, method, path, json={**valid, **body}), 422, field)
    assert rows() == before


def test_request_form_refuses_dates_outside_the_supported_range(app: Flask, site: Site) -> None:
    before = rows()
    response = page_client(app, site.member).post(
        "/requests/new",
        data={
            "project_id": site.project.id,
            "title": "Peptide map",
            "facility_id": site.facility.id,
            "earliest_start": "0001-01-01T00:00",
            "deadline": "9999-12-31T23:59",
            "steps-0-capability": "lc-ms",
            "steps-0-duration_hours": "1",
        },
    )
    assert_beside_field(response, "earliest_start", "2000-01-01")
    assert_beside_field(response, "deadline", "2100-12-31")
    assert rows() == before


@pytest.mark.parametrize(
    ("path", "data", "field_id"),
    [
        (
            "/manage/bio/bookings/new",
            {"title": "Manual", "start": "0001-01-01T00:00", "end": "0001-01-01T01:00"},
            "start",
        ),
        (
            "/manage/bio/bookings/new",
            {"title": "Manual", "start": "9999-12-31T22:00", "end": "9999-12-31T23:00"},
            "end",
        ),
        (
            "/manage/bio/maintenance",
            {
                "maintenance-reason": "Service",
                "maintenance-start": "9999-12-31T22:00",
                "maintenance-end": "9999-12-31T23:00",
            },
            "maintenance-start",
        ),
        (
            "/manage/bio/trainings",
            {"email": "alice@amber.test", "trained_on": "0001-01-01"},
            "trained_on",
        ),
        (
            "/bookings/{booking}/reschedule",
            {"start": "0001-01-01T00:00", "end": "0001-01-01T01:00"},
            "start",
        ),
    ],
)
def test_manager_forms_refuse_dates_outside_the_supported_range(
    app: Flask, site: Site, path: str, data: dict[str, str], field_id: str
) -> None:
    unit = site.trained_unit if "trainings" in path else site.unit
    data = {
        "project_id": str(site.project.id),
        "equipment_id": str(unit.id),
        "maintenance-equipment_id": str(unit.id),
        **data,
    }
    before = rows()
    response = page_client(app, site.manager).post(path.format(booking=site.booking.id), data=data)
    assert_beside_field(response, field_id, "2000-01-01")
    assert rows() == before


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("{date: 2027-01-01,", "{date: 9999-12-31,", "closures[0].date"),
        ("{from: 2027-02-06,", "{from: 0001-01-01,", "closures[1].from"),
        (
            'end: "2027-01-20T17:30:00+08:00"',
            'end: "9999-12-31T23:59:00-14:00"',
            "maintenance[0].end",
        ),
    ],
)
def test_sync_refuses_dates_outside_the_supported_range(
    app: Flask, tmp_path: Path, old: str, new: str, where: str
) -> None:
    text = (Path(__file__).parent.parent / "catalog/data/facilities.yaml").read_text("utf-8")
    assert old in text
    source = tmp_path / "facilities.yaml"
    source.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = CliRunner().invoke(app.cli, ["facilities", "sync", "--file", str(source)])
    assert result.exit_code == 1, result.output
    assert where in result.output and "2100-12-31" in result.output, result.output
    assert db.session.scalar(select(func.count()).select_from(Facility)) == 0


# ---------------------------------------------------------------- numbers that are not numbers


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_gap_hours", "1e20"),
        ("max_gap_hours", "1e20"),
        ("min_gap_hours", "sNaN"),
        ("max_gap_hours", "NaN"),
        ("max_gap_hours", "Infinity"),
        ("min_gap_hours", "-Infinity"),
        ("duration_hours", "sNaN"),
        ("duration_hours", "1e400"),
        ("duration_hours", "400"),
    ],
)
def test_campaign_form_refuses_numbers_that_are_not_durations(
    app: Flask, site: Site, field: str, value: str
) -> None:
    data = {
        "project_id": site.project.id,
        "title": "Pilot run",
        "facility_id": site.facility.id,
        "earliest_start": site.at(1).strftime("%Y-%m-%dT%H:%M"),
        "deadline": site.at(4).strftime("%Y-%m-%dT%H:%M"),
        "steps-0-capability": "lc-ms",
        "steps-0-duration_hours": "1",
        "steps-1-capability": "lc-ms",
        "steps-1-duration_hours": "1",
        f"steps-1-{field}": value,
    }
    before = rows()
    response = page_client(app, site.member).post("/campaigns/new", data=data)
    text = response.get_data(as_text=True)
    assert response.status_code in (200, 422), text[:2000]
    assert f'id="steps-1-{field}-error"' in text, text[:4000]
    assert rows() == before


# ---------------------------------------------------------------- JSON past the parser's depth


@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 100_000, "[" * 5_000 + "]" * 5_000])
def test_deeply_nested_json_is_a_400_not_a_recursion_error(
    app: Flask, site: Site, body: str
) -> None:
    response = api(
        app,
        site,
        "member",
        "POST",
        "/api/v1/requests",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400, "body")
    assert "JSON" in response.get_json()["detail"]


# ---------------------------------------------------------------- NUL bytes


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/equipment/lc%00ms", "path"),
        ("/facilities/b%00io", "path"),
        ("/equipment/lcms/availability?week=2027-01-04%00", "week"),
        ("/facilities?q=bio%00", "q"),
        ("/calendars/week?date=%00", "date"),
    ],
)
def test_pages_refuse_nul_bytes_in_paths_and_parameters(
    app: Flask, site: Site, path: str, field: str
) -> None:
    assert_page_error(page_client(app, site.member).get(path), 400, field)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "/api/v1/equipment/lc%00ms", None, "path"),
        ("GET", "/api/v1/facilities/b%00io", None, "path"),
        ("GET", "/api/v1/bookings?equipment=lc%00ms", None, "equipment"),
        ("GET", "/api/v1/facilities?city=Nan%00jing", None, "city"),
        ("POST", "/api/v1/requests", {"title": "Peptide\x00map"}, "title"),
        ("POST", "/api/v1/requests", {"priority_reason": "\x00"}, "priority_reason"),
        (
            "POST",
            "/api/v1/requests",
            {"steps": [{"duration_minutes": 60, "capability": "lc-ms", "note": "a\x00"}]},
            "steps[0].note",
        ),
        (
            "POST",
            "/api/v1/requests",
            {"steps": [{"duration_minutes": 60, "capability": "lc\x00ms"}]},
            "steps[0].capability",
        ),
        ("POST", "/api/v1/equipment/nmr/trainings", {"email": "alice\x00@amber.test"}, "email"),
        ("POST", "/api/v1/bookings/{booking}/cancel", {"reason": "no\x00"}, "reason"),
        ("POST", "/api/v1/requests", {"title": "Lone \ud800 surrogate"}, "title"),
        ("POST", "/api/v1/requests", {"ti\x00tle": "x"}, "ti\\x00tle"),
    ],
)
def test_api_refuses_unstorable_text_naming_the_field(
    app: Flask, site: Site, method: str, path: str, body: Any, field: str
) -> None:
    if body is not None and path == "/api/v1/requests":
        body = {**request_body(site), **body}
    before = rows()
    response = api(
        app,
        site,
        "manager" if "trainings" in path else "member",
        method,
        path.format(booking=site.booking.id),
        json=body,
    )
    assert_problem(response, 400 if body is None else 422, field)
    assert rows() == before


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("/login", {"email": "alice\x00@amber.test", "password": "x"}, "email"),
        (
            "/requests/new",
            {
                "title": "Peptide\x00map",
                "steps-0-capability": "lc-ms",
                "steps-0-duration_hours": "1",
            },
            "title",
        ),
        (
            "/requests/new",
            {"title": "Peptide map", "steps-0-capability": "lc-ms", "steps-0-note": "\x00"},
            "steps-0-note",
        ),
    ],
)
def test_forms_refuse_nul_bytes_naming_the_field(
    app: Flask, site: Site, path: str, data: dict[str, str], field: str
) -> None:
    client = app.test_client() if path == "/login" else page_client(app, site.member)
    before = rows()
    response = client.post(path, data={"project_id": str(site.project.id), **data})
    assert_page_error(response, 422, field)
    assert rows() == before


# ---------------------------------------------------------------- found by fuzzing


@pytest.mark.parametrize("value", ["²", "99999999999"])
@pytest.mark.parametrize("kind", ["project", "equipment"])
def test_calendar_link_refuses_a_target_that_is_no_id(
    app: Flask, site: Site, kind: str, value: str
) -> None:
    response = page_client(app, site.manager).post(
        "/calendars/links", data={"kind": kind, "target_id": value}
    )
    assert_page_error(response, 422, "Choose a calendar.")


@pytest.mark.parametrize("value", ["²", "١"])
def test_api_integer_parameters_take_ascii_digits_only(app: Flask, site: Site, value: str) -> None:
    response = api(app, site, "member", "GET", "/api/v1/requests", query_string={"project": value})
    assert_problem(response, 400, "project")


@pytest.mark.parametrize("name", ["Élan", "İstanbul Labs", "straße"])
def test_admin_refuses_a_project_name_twice_whatever_its_letters(
    app: Flask, site: Site, name: str
) -> None:
    admin = factories.make_user(email="root@pilotslot.test", is_admin=True)
    client = page_client(app, admin)
    first = client.post("/admin/projects", data={"project-name": name})
    assert first.status_code == 302
    before = rows()
    again = client.post("/admin/projects", data={"project-name": name})
    assert again.status_code == 422, again.get_data(as_text=True)[:2000]
    assert "exists already" in again.get_data(as_text=True)
    assert rows() == before
    assert db.session.scalar(select(func.count()).select_from(Project)) == 2


def test_cli_export_refuses_a_run_id_beyond_the_id_column(app: Flask, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app.cli, ["schedule", "export", "99999999999", "-o", str(tmp_path / "p.json")]
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "99999999999" in result.output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["x" * 200 + "@example.org", "--name", "Long"], "email"),
        (["long@example.org", "--name", "N" * 101], "name"),
    ],
)
def test_cli_create_user_refuses_text_longer_than_its_column(
    app: Flask, args: list[str], field: str
) -> None:
    result = CliRunner().invoke(
        app.cli, ["users", "create", *args, "--password", "a long enough password"]
    )
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert f"{field}: Use at most" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_the_openapi_document_states_the_date_range_and_the_400_of_every_operation(
    app: Flask,
) -> None:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    inputs: list[dict[str, Any]] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "400" in operation["responses"], (method, path)
            inputs += [p["schema"] for p in operation.get("parameters", [])]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                inputs.append(body["schema"])
    schemas = document["components"]["schemas"]
    inputs += [schemas["RequestInput"], schemas["RequestChange"], schemas["StepInput"]]
    stack, dated = inputs, 0
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("format") in ("date", "date-time"):
                dated += 1
                assert "2000-01-01" in node.get("description", ""), node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    assert dated >= 10
    step = schemas["StepInput"]["properties"]
    assert step["min_lag_minutes"]["maximum"] == step["max_lag_minutes"]["maximum"] == 527040


def test_sync_refuses_a_nul_character_naming_the_field(app: Flask, tmp_path: Path) -> None:
    text = (Path(__file__).parent.parent / "catalog/data/facilities.yaml").read_text("utf-8")
    source = tmp_path / "facilities.yaml"
    # The first unit's English name (the capabilities section, before it, names LC-MS too).
    head, _sep, tail = text.partition("\nfacilities:")
    tail = tail.replace("name_en: LC-MS", 'name_en: "LC\\0MS"', 1)
    source.write_text(f"{head}\nfacilities:{tail}", encoding="utf-8")
    result = CliRunner().invoke(app.cli, ["facilities", "sync", "--file", str(source)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "facilities[0].equipment[0].name_en" in result.output, result.output
    assert "NUL" in result.output
    assert db.session.scalar(select(func.count()).select_from(Facility)) == 0
