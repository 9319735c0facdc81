"""Statement pages in both languages, the printable page, the workbook, notes and rate cards."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from app.billing import services
from app.billing.models import RateCard, Statement
from app.dbtypes import utcnow
from app.extensions import db
from tests.billing.test_statements import APRIL_2, MARCH, used
from tests.usage.conftest import MONDAY_9, Site


def _issued(site: Site) -> Statement:
    used(site, MONDAY_9, 90)
    return services.issue_statement(
        site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2
    )


def test_the_statement_page_in_english_and_chinese(site: Site, client: Any, login: Any) -> None:
    statement = _issued(site)
    login(site.member)
    page = client.get(f"/statements/{statement.id}").get_data(as_text=True)
    assert statement.number in page and "Amount payable" in page and "225.00" in page
    assert "Voucher deductions" in page and "March 2027" in page
    client.set_cookie("lang", "zh")
    page = client.get(f"/statements/{statement.id}").get_data(as_text=True)
    assert "2027年3月" in page and "225.00" in page and "Amount payable" not in page


def test_the_printable_page_stands_alone_with_print_css(
    site: Site, client: Any, login: Any
) -> None:
    statement = _issued(site)
    login(site.member)
    page = client.get(f"/statements/{statement.id}/print").get_data(as_text=True)
    assert "statement.css" in page and 'class="top"' not in page and statement.number in page
    css = client.get("/static/statement.css").get_data(as_text=True)
    assert "@media print" in css and ".no-print" in css


def test_the_workbook_holds_the_lines_and_exact_totals(
    site: Site, client: Any, login: Any
) -> None:
    statement = _issued(site)
    login(site.member)
    response = client.get(f"/statements/{statement.id}.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet is not None
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["Statement", statement.number] + [None] * 6
    assert any(r[0] == "Amount payable" and r[6] == Decimal("225") for r in rows)
    assert any(r[4] == Decimal("1.5") and r[5] == Decimal("150") for r in rows)


def test_statements_of_others_are_not_found(site: Site, client: Any, login: Any) -> None:
    statement = _issued(site)
    for stranger in (site.outsider, site.other_manager):
        login(stranger)
        for path in ("", "/print", ".xlsx"):
            assert client.get(f"/statements/{statement.id}{path}").status_code == 404
        assert statement.number not in client.get("/statements").get_data(as_text=True)


def test_a_manager_issues_last_months_statement_from_the_list(
    site: Site, client: Any, login: Any
) -> None:
    last_month = utcnow().replace(day=1, hour=2, minute=0, second=0, microsecond=0) - timedelta(
        days=20
    )
    used(site, last_month, 60)
    used(site, MONDAY_9, 60)  # a later month's
    month = last_month.strftime("%Y-%m")
    login(site.manager)
    listing = client.get(f"/statements?facility={site.facility.slug}&month={month}")
    assert "Kestrel Bio" in listing.get_data(as_text=True)
    response = client.post(
        "/statements/issue",
        data={"facility_id": site.facility.id, "project_id": site.project.id, "month": month},
    )
    assert response.status_code == 302
    statement = db.session.scalar(select(Statement))
    assert statement is not None and response.headers["Location"].endswith(
        f"/statements/{statement.id}"
    )
    assert len(statement.lines) == 1
    # Not over yet: the current month is refused with a message, and nothing is written.
    response = client.post(
        "/statements/issue",
        data={
            "facility_id": site.facility.id,
            "project_id": site.project.id,
            "month": utcnow().strftime("%Y-%m"),
        },
    )
    assert response.status_code == 409


def test_a_note_form_shows_errors_beside_the_fields(site: Site, client: Any, login: Any) -> None:
    statement = _issued(site)
    login(site.manager)
    response = client.post(
        f"/statements/{statement.id}/notes",
        data={"kind": "credit_note", "amount": "1.234", "reason": ""},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter an amount above 0 yuan" in page and "Say why the statement is corrected" in page
    response = client.post(
        f"/statements/{statement.id}/notes",
        data={"kind": "credit_note", "amount": "20.50", "reason": "Pump fault"},
    )
    assert response.status_code == 302
    note = db.session.scalar(select(Statement).where(Statement.reference_id == statement.id))
    assert note is not None and note.payable_fen == -2_050


def test_rate_cards_page_is_the_administrators(site: Site, client: Any, login: Any) -> None:
    login(site.manager)
    assert client.get("/admin/rates").status_code == 404
    site.manager.is_admin = True
    db.session.commit()
    assert "LC-MS" in client.get("/admin/rates").get_data(as_text=True)
    fields = {name: "10" for name in services.RATE_FIELDS}
    response = client.post(f"/admin/rates/{site.unit.id}", data=fields | {"external_fen": "-1"})
    assert response.status_code == 422
    assert "Enter an amount from 0" in response.get_data(as_text=True)
    response = client.post(f"/admin/rates/{site.unit.id}", data=fields | {"external_fen": "250"})
    assert response.status_code == 302
    card = db.session.get(RateCard, site.unit.id)
    assert card is not None and card.external_fen == 25_000 and card.source == "admin"
    client.post(
        f"/admin/projects/{site.project.id}/customer-kind", data={"customer_kind": "external"}
    )
    assert site.project.customer_kind == "external"
