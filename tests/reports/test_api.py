"""The reports JSON API: the pages' figures as data, for the right people only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.accounts.models import User
from app.accounts.services import create_api_token
from tests.reports.conftest import PERIOD, Known
from tests.reports.test_report_figures import A1_BOOKED, A1_OPEN, known_latest_proposal

PATHS = ["/api/v1/reports", "/api/v1/reports/units", "/api/v1/reports/attendance"]


def bearer(user: User) -> dict[str, str]:
    _row, secret = create_api_token(user, "reports test")
    return {"Authorization": f"Bearer {secret}"}


def get(client: FlaskClient, user: User, path: str, **args: str) -> Any:
    # In Chinese, as most managers read it: names come from the facilities' Chinese fields.
    headers = {**bearer(user), "Accept-Language": "zh"}
    return client.get(path, query_string={**PERIOD, **args}, headers=headers)


def text(response: Any) -> str:
    """Return the body with non-ASCII unescaped, so names can be looked for in it."""
    return json.dumps(response.get_json(), ensure_ascii=False)


def rows_by(table: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in table["rows"]}


def test_manager_reads_every_table_of_their_facility(client: FlaskClient, known: Known) -> None:
    response = get(client, known.manager_a, "/api/v1/reports")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["period"] == {
        "start": "2027-03-01",
        "end": "2027-03-14",
        "timezone": "Asia/Shanghai",
    }
    assert body["facilities"] == ["fac-a"] and body["facility"] is None
    tables = {t["key"]: t for t in body["tables"]}
    assert list(tables) == [
        "facilities",
        "units",
        "capabilities",
        "weeks",
        "demand",
        "placement",
        "waiting",
        "attendance",
        "revenue",
    ]
    a1 = rows_by(tables["units"], "unit")["液质联用仪"]
    assert (a1["capacity_hours"], a1["booked_hours"]) == (A1_OPEN, A1_BOOKED)
    assert a1["utilisation"] == pytest.approx(A1_BOOKED / A1_OPEN, abs=1e-4)
    assert rows_by(tables["weeks"], "unit")["液质联用仪"]["2027-W09"] == 0.4
    (waiting,) = tables["waiting"]["rows"]
    assert (waiting["requests"], waiting["median_hours"]) == (4, 25.0)
    (placement,) = tables["placement"]["rows"]
    assert placement["proposal"] == known_latest_proposal(known)
    assert (placement["placed_weight"], placement["fcfs_weight"]) == (5, 2)
    assert placement["weight_ratio"] == 2.5
    (attendance,) = tables["attendance"]["rows"]
    assert (attendance["no_shows"], attendance["cancellations"]) == (1, 1)
    (facility,) = tables["facilities"]["rows"]
    assert facility["startups_served"] == 3
    names = [c["key"] for c in tables["demand"]["columns"]]
    assert names[:3] == ["facility", "requests", "requested_hours"]


def test_one_table_for_one_facility(client: FlaskClient, known: Known) -> None:
    response = get(client, known.admin, "/api/v1/reports/demand", facility="fac-b")
    assert response.status_code == 200
    body = response.get_json()
    assert body["facility"] == "fac-b" and body["facilities"] == ["fac-b"]
    assert body["table"]["key"] == "demand"
    (row,) = body["table"]["rows"]
    assert (row["facility"], row["requests"]) == ("上海概念验证中心", 1)


def test_administrators_see_every_facility(client: FlaskClient, known: Known) -> None:
    body = get(client, known.admin, "/api/v1/reports/facilities").get_json()
    assert body["facilities"] == ["fac-a", "fac-b"]
    slugs = [row["facility_slug"] for row in body["table"]["rows"]]
    assert slugs == ["fac-a", "fac-b", ""]


@pytest.mark.parametrize("path", PATHS)
def test_startup_members_get_a_404_problem_from_every_report(
    client: FlaskClient, known: Known, path: str
) -> None:
    for args in ({}, {"facility": "fac-a"}):
        response = get(client, known.startup, path, **args)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == 404
        assert "Alpha Bio" not in text(response)


@pytest.mark.parametrize("path", PATHS)
def test_manager_cannot_read_a_facility_they_do_not_manage(
    client: FlaskClient, known: Known, path: str
) -> None:
    assert get(client, known.manager_a, path, facility="fac-a").status_code == 200
    response = get(client, known.manager_a, path, facility="fac-b")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = text(response)
    assert "上海概念验证中心" not in body and "Anechoic" not in body and "暗室" not in body


def test_manager_report_leaves_other_facilities_out(client: FlaskClient, known: Known) -> None:
    body = text(get(client, known.manager_b, "/api/v1/reports"))
    assert "上海概念验证中心" in body
    assert "苏州中试基地" not in body and "液质联用仪" not in body


def test_anonymous_callers_get_401(client: FlaskClient, known: Known) -> None:
    response = client.get("/api/v1/reports", query_string=PERIOD)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"start": "2027-13-01", "end": "2027-03-14"}, "start"),
        ({"start": "20270301", "end": "2027-03-14"}, "start"),
        ({"start": "2027-03-01", "end": "2027-02-30"}, "end"),
        ({"start": "2027-03-14", "end": "2027-03-01"}, "end"),
        ({"start": "2025-01-01", "end": "2027-03-01"}, "start"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/reports", "/api/v1/reports/waiting"])
def test_bad_period_is_a_400_problem_naming_the_parameter(
    client: FlaskClient, known: Known, args: dict[str, str], field: str, path: str
) -> None:
    response = client.get(path, query_string=args, headers=bearer(known.manager_a))
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["field"] == field


def test_unknown_table_is_a_404_problem(client: FlaskClient, known: Known) -> None:
    response = get(client, known.admin, "/api/v1/reports/secrets")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_reports_are_in_the_openapi_document(client: FlaskClient, known: Known) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/reports", "/reports/{key}"} <= set(paths)
    parameters = {p["name"] for p in paths["/reports/{key}"]["get"]["parameters"]}
    assert parameters == {"key", "start", "end", "facility"}
