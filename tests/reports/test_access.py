"""Who may read reports, and how bad parameters are refused; none of it needs opening hours."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.reports.conftest import PERIOD, Known

ROUTES = [
    "/reports/",
    "/reports/plots/heatmap.svg",
    "/reports/plots/facilities.svg",
    "/reports/plots/trend.svg",
    "/reports/plots/revenue.svg",
    "/reports/export/revenue.csv",
    "/reports/export/units.csv",
    "/reports/export/report.xlsx",
    "/reports/export/schedule.csv",
]


@pytest.mark.parametrize("path", ROUTES)
def test_startup_members_get_404_from_every_report_route(
    client: FlaskClient, login: Any, known: Known, path: str
) -> None:
    login(known.startup)
    response = client.get(path, query_string={**PERIOD, "facility": "fac-a"})
    assert response.status_code == 404
    assert "Alpha Bio" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ROUTES)
def test_manager_gets_404_for_a_facility_they_do_not_manage(
    client: FlaskClient, login: Any, known: Known, path: str
) -> None:
    login(known.manager_a)
    response = client.get(path, query_string={**PERIOD, "facility": "fac-b"})
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Gamma Chips" not in body and "上海概念验证中心" not in body


def test_unknown_facility_is_404_like_a_foreign_one(
    client: FlaskClient, login: Any, known: Known
) -> None:
    login(known.admin)
    assert client.get("/reports/", query_string={"facility": "nowhere"}).status_code == 404


def test_anonymous_visitors_must_log_in(client: FlaskClient, known: Known) -> None:
    response = client.get("/reports/", query_string=PERIOD)
    assert response.status_code == 302 and response.location.startswith("/login?next=/reports/")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"start": "2027-13-01", "end": "2027-03-14"}, "start"),
        ({"start": "20270301", "end": "2027-03-14"}, "start"),
        ({"start": "2027-03-01", "end": "14/03/2027"}, "end"),
        ({"start": "2027-03-01", "end": "2027-02-30"}, "end"),
        ({"start": "2027-03-14", "end": "2027-03-01"}, "end"),
        ({"start": "2025-01-01", "end": "2027-03-01"}, "start"),
    ],
)
@pytest.mark.parametrize("path", ["/reports/", "/reports/export/report.xlsx"])
def test_bad_period_is_a_400_naming_the_parameter(
    client: FlaskClient, login: Any, known: Known, args: dict[str, str], field: str, path: str
) -> None:
    login(known.manager_a)
    response = client.get(path, query_string=args)
    assert response.status_code == 400
    assert field in response.get_data(as_text=True)


def test_schedule_without_a_facility_is_a_400_naming_it(
    client: FlaskClient, login: Any, known: Known
) -> None:
    login(known.manager_a)
    response = client.get("/reports/export/schedule.csv", query_string=PERIOD)
    assert response.status_code == 400
    assert "facility" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/reports/plots/pie.svg", "/reports/export/secrets.csv"])
def test_unknown_picture_or_table_is_404(
    client: FlaskClient, login: Any, known: Known, path: str
) -> None:
    login(known.admin)
    assert client.get(path, query_string=PERIOD).status_code == 404


def test_reports_entry_appears_in_the_navigation_for_managers_only(
    client: FlaskClient, login: Any, known: Known
) -> None:
    login(known.startup)
    assert 'href="/reports/"' not in client.get("/account").get_data(as_text=True)
    client.post("/logout")
    login(known.manager_b)
    assert 'href="/reports/"' in client.get("/account").get_data(as_text=True)


def test_report_opens_on_the_coming_weeks_and_steps_a_period_either_way(
    client: FlaskClient, login: Any, known: Known
) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    login(known.manager_a)
    page = client.get("/reports/").get_data(as_text=True)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    monday = today - timedelta(days=today.weekday())
    last = monday + timedelta(days=27)
    assert f'name="start" value="{monday.isoformat()}"' in page
    assert f'name="end" value="{last.isoformat()}"' in page

    def link(first: Any, end: Any) -> str:
        return f"start={first.isoformat()}&amp;end={end.isoformat()}"

    assert link(monday - timedelta(days=28), monday - timedelta(days=1)) in page
    assert link(last + timedelta(days=1), last + timedelta(days=28)) in page
