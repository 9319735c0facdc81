"""Claim pages for administrators in both languages: the list and its form, a claim's page,
printable page and workbook, its buttons; everyone else finds nothing."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.vouchers import claims
from app.vouchers.models import Claim
from tests import factories
from tests.claims.conftest import BUREAU, MARCH, MARCH_31, ClaimSite


def _claim(cs: ClaimSite) -> Claim:
    cs.draw(cs.use(factories.at("2027-03-01 01:00"), 90), 11_250)
    cs.draw(
        cs.use(factories.at("2027-03-02 06:00"), 60, project=cs.site.other_project),
        7_500,
        cs.other_voucher,
    )
    cs.bill(MARCH)
    cs.bill(MARCH, cs.site.other_project)
    return claims.prepare_claim(cs.admin, BUREAU, MARCH, MARCH_31)


def test_the_claim_page_lists_every_voucher_paid_charge_in_both_languages(
    cs: ClaimSite, client: Any, login: Any
) -> None:
    claim = _claim(cs)
    login(cs.admin)
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert claim.number in page and BUREAU in page and "Draft" in page
    for text in ("Kestrel Bio", "Heron Devices", "LC-MS", cs.voucher.number, "112.50", "75.00"):
        assert text in page
    # The actual times of the use, in the facility's local time.
    assert "Mar 1, 2027, 09:00–10:30" in page and "Total claimed" in page and "187.50" in page
    client.set_cookie("lang", "zh")
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert "草稿" in page and "液质联用仪" in page and "187.50" in page
    assert "Total claimed" not in page and "2027年3月1日" in page


def test_the_list_shows_claims_and_the_nav_links_them_for_administrators(
    cs: ClaimSite, client: Any, login: Any
) -> None:
    claim = _claim(cs)
    login(cs.admin)
    page = client.get("/claims").get_data(as_text=True)
    assert claim.number in page and "187.50" in page and 'href="/claims"' in page
    assert f'<option value="{BUREAU}"' in page


def test_the_printable_page_stands_alone_with_print_css(
    cs: ClaimSite, client: Any, login: Any
) -> None:
    claim = _claim(cs)
    login(cs.admin)
    page = client.get(f"/claims/{claim.id}/print").get_data(as_text=True)
    assert "statement.css" in page and 'class="top"' not in page
    assert claim.number in page and "187.50" in page and "claim-actions" not in page


def test_the_workbook_holds_one_row_per_charge_and_the_exact_total(
    cs: ClaimSite, client: Any, login: Any
) -> None:
    claim = _claim(cs)
    login(cs.admin)
    response = client.get(f"/claims/{claim.id}.xlsx")
    assert response.status_code == 200
    assert claim.number in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:2] == ["Voucher claim", claim.number]
    assert rows[1][:2] == ["Issuer", BUREAU]
    header = rows.index(next(r for r in rows if r[0] == "Project"))
    lines = [r for r in rows[header + 1 :] if r[0] and r[0] != "Total claimed"]
    assert [(r[0], r[4], r[7], r[9]) for r in lines] == [
        ("Kestrel Bio", "LC-MS", cs.voucher.number, Decimal("112.5")),
        ("Heron Devices", "LC-MS", cs.other_voucher.number, Decimal("75")),
    ]
    assert lines[0][5] == "Mar 1, 2027, 09:00" and lines[0][6] == "10:30"
    assert rows[-1][0] == "Total claimed" and rows[-1][9] == Decimal("187.5")


def test_the_prepare_form_shows_errors_beside_the_fields(
    cs: ClaimSite, client: Any, login: Any
) -> None:
    _claim(cs)
    login(cs.admin)
    response = client.post(
        "/claims",
        data={"issuer": BUREAU, "period_start": "2027-04-30", "period_end": "2027-04-01"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="period-end-error"' in page and "ends on or after" in page
    response = client.post(
        "/claims", data={"issuer": "Nobody", "period_start": "2027-04-01", "period_end": "x"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="issuer-error"' in page and 'id="period-end-error"' in page
    response = client.post(
        "/claims",
        data={"issuer": BUREAU, "period_start": "2027-03-01", "period_end": "2027-03-31"},
    )
    assert response.status_code == 409 and 'id="period-start-error"' in response.get_data(
        as_text=True
    )
    assert db.session.scalar(select(db.func.count(Claim.id))) == 1


def test_an_administrator_prepares_submits_and_marks_a_claim_paid(
    cs: ClaimSite, client: Any, login: Any
) -> None:
    cs.draw(cs.use(factories.at("2027-03-01 01:00"), 60), 5_000)
    cs.bill(MARCH)
    login(cs.admin)
    response = client.post(
        "/claims",
        data={"issuer": BUREAU, "period_start": "2027-03-01", "period_end": "2027-03-31"},
    )
    claim = db.session.scalar(select(Claim))
    assert claim is not None and response.headers["Location"].endswith(f"/claims/{claim.id}")
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert 'data-confirm="Submit claim' in page

    # Unconfirmed, the server asks first and changes nothing.
    asked = client.post(f"/claims/{claim.id}/submit")
    assert asked.status_code == 200 and 'id="confirm-yes"' in asked.get_data(as_text=True)
    db.session.refresh(claim)
    assert claim.state == "draft"
    assert client.post(f"/claims/{claim.id}/submit", data={"confirmed": "yes"}).status_code == 302
    db.session.refresh(claim)
    assert claim.state == "submitted"
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert "Submitted" in page and 'id="claim-submit"' not in page and 'id="claim-paid"' in page
    assert client.post(f"/claims/{claim.id}/refresh").status_code == 409

    assert client.post(f"/claims/{claim.id}/paid").status_code == 200
    assert client.post(f"/claims/{claim.id}/paid", data={"confirmed": "yes"}).status_code == 302
    db.session.refresh(claim)
    assert claim.state == "paid"
    assert client.post(f"/claims/{claim.id}/paid", data={"confirmed": "yes"}).status_code == 409


ROUTES = [
    ("get", "/claims", None),
    (
        "post",
        "/claims",
        {"issuer": BUREAU, "period_start": "2027-04-01", "period_end": "2027-04-30"},
    ),
    ("get", "/claims/{id}", None),
    ("get", "/claims/{id}/print", None),
    ("get", "/claims/{id}.xlsx", None),
    ("post", "/claims/{id}/refresh", {}),
    ("post", "/claims/{id}/submit", {"confirmed": "yes"}),
    ("post", "/claims/{id}/submit", {}),
    ("post", "/claims/{id}/paid", {"confirmed": "yes"}),
    ("post", "/claims/{id}/discard", {"confirmed": "yes"}),
    ("post", "/claims/{id}/discard", {}),
]


@pytest.mark.parametrize("who", ["manager", "member", "outsider", "other_manager"])
def test_managers_and_startups_find_no_claims(
    cs: ClaimSite, client: Any, login: Any, who: str
) -> None:
    claim = _claim(cs)
    login(getattr(cs.site, who))
    for method, path, data in ROUTES:
        response = getattr(client, method)(path.format(id=claim.id), data=data)
        assert response.status_code == 404, (method, path)
        assert claim.number not in response.get_data(as_text=True)
    assert 'href="/claims"' not in client.get("/").get_data(as_text=True)
    db.session.refresh(claim)
    assert claim.state == "draft" and db.session.scalar(select(db.func.count(Claim.id))) == 1


def test_anonymous_visitors_are_sent_to_log_in(cs: ClaimSite, client: Any) -> None:
    claim = _claim(cs)
    for method, path, data in ROUTES:
        response = getattr(client, method)(path.format(id=claim.id), data=data)
        assert response.status_code in (302, 401), (method, path)
    db.session.refresh(claim)
    assert claim.state == "draft"
