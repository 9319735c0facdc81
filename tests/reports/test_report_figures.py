"""The report's figures on the known data set, worked out by hand from its bookings."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.etree import ElementTree

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from app.booking.models import Proposal
from app.extensions import db
from tests.reports.conftest import PERIOD, Known

# Open hours over the two weeks: 10 weekdays × 9 h; a1 loses Wednesday 2027-03-10 to maintenance.
A1_OPEN, A2_OPEN, B1_OPEN = 90 - 9, 90, 90
# a1: Mon 9 + Tue 9 (week 9), no-show 3 + Thu 4 (week 10); the cancelled 3 h do not count.
A1_BOOKED, A2_BOOKED, B1_BOOKED = 9 + 9 + 3 + 4, 9 + 9, 2
A_RATIO = (A1_BOOKED + A2_BOOKED) / (A1_OPEN + 2 * A2_OPEN)


def known_latest_proposal(known: Known) -> int:
    """Return the id of facility A's proposal whose metrics name first come, first served."""
    proposals = db.session.scalars(select(Proposal).where(Proposal.facility_id == known.a.id))
    return next(p.id for p in proposals if p.metrics)


def read_csv(response: Any) -> list[dict[str, str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the byte order mark to read UTF-8"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def get_csv(client: FlaskClient, key: str, **extra: str) -> list[dict[str, str]]:
    response = client.get(f"/reports/export/{key}.csv", query_string={**PERIOD, **extra})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return read_csv(response)


def by(rows: list[dict[str, str]], column: str) -> dict[str, dict[str, str]]:
    return {row[column]: row for row in rows}


def test_unit_utilisation_matches_the_bookings(
    client: FlaskClient, login: Any, known: Known
) -> None:
    login(known.manager_a)
    rows = by(get_csv(client, "units"), "Equipment unit")
    assert set(rows) == {"LC-MS", "Bioreactor"}
    a1, a2 = rows["LC-MS"], rows["Bioreactor"]
    assert float(a1["Open hours × capacity"]) == A1_OPEN
    assert float(a1["Booked hours"]) == A1_BOOKED
    assert float(a1["Utilisation (%)"]) == pytest.approx(round(100 * A1_BOOKED / A1_OPEN, 1))
    assert float(a2["Open hours × capacity"]) == 2 * A2_OPEN
    assert float(a2["Utilisation (%)"]) == 10.0


def test_weekly_heatmap_numbers_40_percent_in_week_9(
    client: FlaskClient, login: Any, known: Known
) -> None:
    login(known.manager_a)
    rows = by(get_csv(client, "weeks"), "Equipment unit")
    assert float(rows["LC-MS"]["2027-W09 (%)"]) == 40.0
    assert float(rows["LC-MS"]["2027-W10 (%)"]) == pytest.approx(round(100 * 7 / 36, 1))
    assert float(rows["Bioreactor"]["2027-W09 (%)"]) == 20.0
    assert float(rows["Bioreactor"]["2027-W10 (%)"]) == 0.0


def test_facility_and_capability_utilisation_for_the_admin(
    client: FlaskClient, login: Any, known: Known
) -> None:
    login(known.admin)
    facilities = by(get_csv(client, "facilities"), "Slug")
    assert float(facilities["fac-a"]["Utilisation (%)"]) == pytest.approx(round(100 * A_RATIO, 1))
    assert float(facilities["fac-b"]["Utilisation (%)"]) == pytest.approx(round(100 * 2 / 90, 1))
    assert facilities["fac-a"]["Startups served"] == "3"
    assert facilities["fac-b"]["Startups served"] == "1"
    total = facilities[""]
    assert total["Startups served"] == "3"
    assert float(total["Booked hours"]) == A1_BOOKED + A2_BOOKED + B1_BOOKED
    capabilities = by(get_csv(client, "capabilities"), "Capability")
    assert capabilities["lc-ms"]["Units"] == "2"
    assert float(capabilities["lc-ms"]["Utilisation (%)"]) == pytest.approx(
        round(100 * A_RATIO, 1)
    )
    assert float(capabilities["bioreactor"]["Utilisation (%)"]) == 10.0
    assert float(capabilities["emc"]["Booked hours"]) == 2.0


def test_demand_against_solver_and_first_come_first_served(
    client: FlaskClient, login: Any, known: Known
) -> None:
    login(known.admin)
    rows = by(get_csv(client, "demand"), "Facility")
    a = rows["Suzhou pilot base"]
    # Every request but the withdrawn one: 9+9+3+4+3+9+9+5 hours, weights 2+1+1+3+1+1+1+4.
    assert (a["Requests"], float(a["Requested hours"]), a["Requested weight"]) == ("8", 51.0, "14")
    assert (a["Booked requests"], float(a["Booked hours"]), a["Booked weight"]) == ("6", 43.0, "9")
    assert by(get_csv(client, "demand"), "Facility")["Shanghai PoC centre"]["Requests"] == "1"
    placement = by(get_csv(client, "placement"), "Facility")
    a, b = placement["Suzhou pilot base"], placement["Shanghai PoC centre"]
    # The older proposal of A is not the one reported.
    assert a["Proposal"] == str(known_latest_proposal(known))
    assert (a["Solver: requests"], float(a["Solver: hours"]), a["Solver: weight"]) == (
        "2",
        13.0,
        "5",
    )
    assert (float(a["FCFS: requests"]), float(a["FCFS: hours"]), float(a["FCFS: weight"])) == (
        1,
        9,
        2,
    )
    assert float(a["Weight ratio solver ÷ FCFS"]) == 2.5
    # B's proposal stored no metrics: the first-come-first-served cells stay empty.
    assert b["Solver: requests"] == "0"
    assert b["FCFS: weight"] == "" and b["Weight ratio solver ÷ FCFS"] == ""


def test_waiting_time_median_and_p90(client: FlaskClient, login: Any, known: Known) -> None:
    login(known.manager_a)
    (row,) = get_csv(client, "waiting")
    # First booked in the period: 1 h, 20 h, 30 h and 36 h after the request; p90 at rank 2.7.
    assert row["Requests booked"] == "4"
    assert float(row["Median wait (hours)"]) == 25.0
    assert float(row["90th percentile wait (hours)"]) == pytest.approx(30 + 0.7 * 6)


def test_no_shows_and_cancellations(client: FlaskClient, login: Any, known: Known) -> None:
    login(known.manager_a)
    (row,) = get_csv(client, "attendance")
    assert (row["Active bookings"], float(row["Booked hours"])) == ("6", 43.0)
    assert (row["No-shows"], float(row["No-show hours"])) == ("1", 3.0)
    assert float(row["No-show share (%)"]) == pytest.approx(round(100 / 6, 1))
    assert (row["Cancellations"], float(row["Cancelled hours"])) == ("1", 3.0)
    assert float(row["Cancellation share (%)"]) == pytest.approx(round(100 / 7, 1))


def test_page_shows_only_the_managers_facilities(
    client: FlaskClient, login: Any, known: Known
) -> None:
    login(known.manager_a)
    response = client.get("/reports/", query_string=PERIOD)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Suzhou pilot base" in page and "LC-MS" in page
    assert "Shanghai PoC centre" not in page and "Anechoic chamber" not in page
    assert "fac-b" not in page
    assert "40.0%" in page
    for name in ("heatmap", "facilities", "trend"):
        assert f"/reports/plots/{name}.svg?" in page
    assert 'alt=""' not in page


def test_page_for_one_facility_keeps_the_choice_in_every_link(
    client: FlaskClient, login: Any, known: Known
) -> None:
    login(known.admin)
    page = client.get("/reports/", query_string={**PERIOD, "facility": "fac-b"}).get_data(
        as_text=True
    )
    assert "Anechoic chamber" in page and "LC-MS" not in page
    assert (
        "/reports/export/report.xlsx?start=2027-03-01&amp;end=2027-03-14&amp;facility=fac-b"
        in page
    )


def test_pictures_are_svg_with_their_labels(client: FlaskClient, login: Any, known: Known) -> None:
    login(known.admin)
    expected = {
        "heatmap": ["LC-MS", "Anechoic chamber", "2027-W09", "2027-W10", "40%"],
        "facilities": ["Suzhou pilot base", "Shanghai PoC centre"],
        "trend": ["Suzhou pilot base", "2027-W09"],
    }
    for name, labels in expected.items():
        response = client.get(f"/reports/plots/{name}.svg", query_string=PERIOD)
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"
        root = ElementTree.fromstring(response.get_data())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        texts = " ".join(
            "".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")
        )
        for label in labels:
            assert label in texts, (name, label)


def test_workbook_has_a_sheet_per_table_with_bold_headers(
    client: FlaskClient, login: Any, known: Known
) -> None:
    login(known.manager_a)
    response = client.get("/reports/export/report.xlsx", query_string=PERIOD)
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == [
        "Facilities",
        "Equipment units",
        "Capabilities",
        "Weeks",
        "Demand",
        "Solver vs FCFS",
        "Waiting time",
        "Attendance",
        "Revenue",
    ]
    sheet = book["Equipment units"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Facility", "Equipment unit", "Capacity"]
    assert all(c.font.bold for c in sheet[1])
    assert all(sheet.column_dimensions[letter].width >= 8 for letter in "ABCDEF")
    values = {row[1]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert values["LC-MS"][4] == A1_BOOKED
    assert values["LC-MS"][5] == pytest.approx(A1_BOOKED / A1_OPEN, abs=1e-4)
    assert sheet.cell(row=2, column=6).number_format == "0.0%"
    weeks = book["Weeks"]
    assert [c.value for c in weeks[1]][2:] == ["2027-W09", "2027-W10"]


def test_schedule_lists_active_bookings_in_local_time(
    client: FlaskClient, login: Any, known: Known
) -> None:
    login(known.manager_a)
    rows = get_csv(client, "schedule", facility="fac-a")
    start, end = "Start (Asia/Shanghai)", "End (Asia/Shanghai)"
    got = [(r["Equipment unit"], r[start], r[end], r["Project"]) for r in rows]
    assert got == [
        ("LC-MS", "2027-03-01 09:00", "2027-03-01 18:00", "Alpha Bio"),
        ("Bioreactor", "2027-03-01 09:00", "2027-03-01 18:00", "Gamma Chips"),
        ("Bioreactor", "2027-03-01 09:00", "2027-03-01 18:00", "Beta Devices"),
        ("LC-MS", "2027-03-02 09:00", "2027-03-02 18:00", "Beta Devices"),
        ("LC-MS", "2027-03-08 09:00", "2027-03-08 12:00", "Alpha Bio"),
        ("LC-MS", "2027-03-11 09:00", "2027-03-11 13:00", "Beta Devices"),
    ]
    # A title typed by a startup must not run as a spreadsheet formula.
    assert rows[4]["Request"] == '\'=HYPERLINK("x")'
