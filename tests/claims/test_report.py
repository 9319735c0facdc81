"""The claims table of the reports: per voucher issuer and month (by the local start of each
charge's use), what vouchers paid and where it stands in redemption, from real rows. Only
administrators see it; a manager's report, exports and API hold no trace of it.

The claims site (tests.claims.conftest) is in Asia/Shanghai. Its project's voucher of BUREAU:
- January 2027: 5.00 drawn, on a claim submitted and paid;
- February 2027: 7.00 drawn, on a submitted claim;
- March 2027: 10.00 drawn for a use that started 00:30 on 1 March local time (still
  28 February in UTC) and 20.00 on 2 March, both on a draft claim; and 6.00 drawn by the
  other project's BUREAU voucher, its charge never billed, so not yet claimed.
OTHER_BUREAU: 2.50 drawn in March, billed but not claimed."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from app.vouchers import claims
from tests import factories
from tests.claims.conftest import BUREAU, MARCH, MARCH_31, OTHER_BUREAU, ClaimSite

PERIOD = {"start": "2027-01-01", "end": "2027-03-31"}
# issuer, month: draws, drawn, on a draft claim, submitted (not paid), paid, not yet claimed
EXPECTED = {
    (BUREAU, "2027-01"): [1, 500, 0, 0, 500, 0],
    (BUREAU, "2027-02"): [1, 700, 0, 700, 0, 0],
    (BUREAU, "2027-03"): [3, 3_600, 3_000, 0, 0, 600],
    (OTHER_BUREAU, "2027-03"): [1, 250, 0, 0, 0, 250],
}
TOTAL = [6, 5_050, 3_000, 700, 500, 850]
VALUES = ["draws", "drawn", "on_draft_claims", "submitted", "paid", "unclaimed"]


@pytest.fixture
def redeemed(cs: ClaimSite) -> ClaimSite:
    january, february = date(2027, 1, 1), date(2027, 2, 1)
    cs.draw(cs.use(factories.at("2027-01-05 01:00"), 60), 500)
    cs.bill(january)
    paid = claims.prepare_claim(cs.admin, BUREAU, january, date(2027, 1, 31))
    claims.mark_paid(cs.admin, claims.submit_claim(cs.admin, paid.id).id)
    cs.draw(cs.use(factories.at("2027-02-03 01:00"), 60), 700)
    cs.bill(february)
    claims.submit_claim(
        cs.admin, claims.prepare_claim(cs.admin, BUREAU, february, date(2027, 2, 28)).id
    )
    cs.draw(cs.use(factories.at("2027-02-28 16:30"), 60), 1_000)
    cs.draw(cs.use(factories.at("2027-03-02 01:00"), 60), 2_000)
    cs.draw(cs.use(factories.at("2027-03-03 01:00"), 60), 250, cs.other_issuers_voucher)
    cs.bill(MARCH)
    claims.prepare_claim(cs.admin, BUREAU, MARCH, MARCH_31)
    # The other project's use is never billed: its draw cannot be claimed yet.
    cs.draw(
        cs.use(factories.at("2027-03-04 01:00"), 60, project=cs.site.other_project),
        600,
        cs.other_voucher,
    )
    return cs


def _table(client: FlaskClient, **args: str) -> Any:
    response = client.get("/api/v1/reports/claims", query_string={**PERIOD, **args})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["table"]


def test_the_administrator_reads_each_issuers_months_by_redemption_state(
    redeemed: ClaimSite, client: FlaskClient, login: Any
) -> None:
    login(redeemed.admin)
    table = _table(client)
    kinds = {c["key"]: c["kind"] for c in table["columns"]}
    assert kinds["draws"] == "int" and kinds["unclaimed"] == "money"
    rows = {(r["issuer"], r["month"]): [r[k] for k in VALUES] for r in table["rows"][:-1]}
    assert rows == EXPECTED
    assert [r["issuer"] for r in table["rows"][:-1]] == sorted(r[0] for r in EXPECTED)
    total = table["rows"][-1]
    assert (total["issuer"], total["month"]) == ("All issuers", "")
    assert [total[k] for k in VALUES] == TOTAL
    # Each month's parts add up to what its vouchers paid.
    for values in rows.values():
        assert values[1] == sum(values[2:])


def test_the_month_is_the_facilitys_local_one_and_the_period_clips_it(
    redeemed: ClaimSite, client: FlaskClient, login: Any
) -> None:
    login(redeemed.admin)
    # 1 March local is still 28 February in UTC: it counts in March, not in February.
    february = _table(client, start="2027-02-01", end="2027-02-28")
    assert [(r["issuer"], r["month"], r["drawn"]) for r in february["rows"]] == [
        (BUREAU, "2027-02", 700)
    ]
    first = _table(client, start="2027-03-01", end="2027-03-01")
    assert [(r["month"], r["draws"], r["on_draft_claims"]) for r in first["rows"]] == [
        ("2027-03", 1, 1_000)
    ]
    # The other facility's report holds none of these draws.
    other = _table(client, facility=redeemed.site.other_facility.slug)
    assert other["rows"] == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_and_exports_show_the_table_in_both_languages(
    redeemed: ClaimSite, client: FlaskClient, login: Any, lang: str
) -> None:
    login(redeemed.admin)
    client.set_cookie("lang", lang)
    page = client.get("/reports/", query_string=PERIOD).get_data(as_text=True)
    assert 'id="claims-report"' in page and BUREAU in page and OTHER_BUREAU in page
    said = {
        "en": ("Administrators only", "On a draft claim", "Not yet claimed", "50.50"),
        "zh": ("仅管理员可见", "在草稿兑付申请中", "尚未申请兑付", "50.50"),
    }
    for text in said[lang]:
        assert text in page, text

    exported = client.get("/reports/export/claims.csv", query_string=PERIOD)
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    header = {"en": "Not yet claimed (CNY)", "zh": "尚未申请兑付 (CNY)"}
    assert header[lang] in rows[0]
    march = next(r for r in rows if r[:2] == [BUREAU, "2027-03"])
    assert march[2:] == ["3", "36.00", "30.00", "0.00", "0.00", "6.00"]

    workbook = load_workbook(
        io.BytesIO(client.get("/reports/export/report.xlsx", query_string=PERIOD).data)
    )
    sheet = {"en": "Voucher claims", "zh": "创新券兑付申请"}[lang]
    cells = [[c.value for c in row] for row in workbook[sheet].iter_rows()]
    total = cells[-1]
    assert total[2:] == [
        6,
        Decimal("50.50"),
        Decimal("30.00"),
        Decimal("7.00"),
        Decimal("5.00"),
        Decimal("8.50"),
    ]


@pytest.mark.parametrize("who", ["manager", "other_manager"])
def test_managers_never_see_the_claims_table(
    redeemed: ClaimSite, client: FlaskClient, login: Any, who: str
) -> None:
    login(getattr(redeemed.site, who))
    page = client.get("/reports/", query_string=PERIOD)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="claims-report"' not in text and BUREAU not in text
    assert client.get("/reports/export/claims.csv", query_string=PERIOD).status_code == 404
    assert client.get("/api/v1/reports/claims", query_string=PERIOD).status_code == 404
    whole = client.get("/api/v1/reports", query_string=PERIOD).get_json()
    assert "claims" not in [t["key"] for t in whole["tables"]]
    workbook = load_workbook(
        io.BytesIO(client.get("/reports/export/report.xlsx", query_string=PERIOD).data)
    )
    assert "Voucher claims" not in workbook.sheetnames
    assert all(
        BUREAU not in str(c.value) for ws in workbook for row in ws.iter_rows() for c in row
    )


def test_startups_get_no_report_at_all(
    redeemed: ClaimSite, client: FlaskClient, login: Any
) -> None:
    login(redeemed.site.member)
    assert client.get("/reports/export/claims.csv", query_string=PERIOD).status_code == 404
    assert client.get("/api/v1/reports/claims", query_string=PERIOD).status_code == 404
