"""The administrator's voucher pages, errors beside the fields, members' read-only view, and
every way a startup member or a manager might reach vouchers that are not theirs."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.billing import services as billing
from app.extensions import db
from app.vouchers import services
from app.vouchers.models import Voucher
from tests.billing.test_statements import APRIL_2, MARCH, used
from tests.usage.conftest import MONDAY_9, Site
from tests.vouchers.conftest import ISSUER, admin, make_voucher

GOOD = {
    "issuer": ISSUER,
    "number": "SIP-2027-0042",
    "amount": "5000.50",
    "valid_from": "2027-01-01",
    "valid_until": "2027-12-31",
    "share_percent": "60",
    "scopes_shown": "1",
}


def _field(page: str, name: str) -> str:
    """Return the HTML of one field's block on a form page."""
    match = re.search(rf'id="field-{name}"(.*?)(?=id="field-|</form>)', page, re.S)
    assert match, name
    return match.group(1)


def _count() -> int:
    return int(db.session.scalar(select(func.count(Voucher.id))) or 0)


def test_the_administrator_records_a_voucher(site: Site, client: Any, login: Any) -> None:
    login(admin())
    assert client.get("/vouchers/new").status_code == 200
    form = {**GOOD, "project_id": site.project.id, "facilities": [site.facility.id]}
    response = client.post("/vouchers/new", data=form)
    assert response.status_code == 302
    voucher = db.session.scalar(select(Voucher))
    assert voucher is not None
    assert (voucher.amount_fen, voucher.balance_fen, voucher.share_percent) == (
        500_050,
        500_050,
        60,
    )
    assert [s.facility_id for s in voucher.scopes] == [site.facility.id]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "SIP-2027-0042" in page and "5,000.50" in page and 'id="voucher-form"' in page
    listing = client.get("/vouchers").get_data(as_text=True)
    assert "SIP-2027-0042" in listing and 'id="new-voucher"' in listing


def test_form_errors_stand_beside_their_fields_and_nothing_is_written(
    site: Site, client: Any, login: Any
) -> None:
    login(admin())
    bad = {
        "project_id": "",
        "issuer": "",
        "number": "",
        "amount": "12.345",
        "valid_from": "2027-05-01",
        "valid_until": "2027-04-30",
        "share_percent": "101",
        "facilities": ["999999"],
        "capabilities": ["no-such-thing"],
        "scopes_shown": "1",
    }
    response = client.post("/vouchers/new", data=bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    expected = {
        "project_id": "Choose the project the voucher was issued to.",
        "issuer": "Enter the issuing bureau",
        "number": "Enter the voucher&#39;s number",
        "amount": "at most two decimals",
        "valid_until": "cannot come before the first",
        "share_percent": "1 to 100 %",
        "facilities": "Choose facilities from the list.",
        "capabilities": "Choose capabilities from the list.",
    }
    for name, message in expected.items():
        assert message in _field(page, name), name
    assert 'class="error"' not in _field(page, "valid_from")
    assert _count() == 0


def test_a_number_is_unique_per_issuer_only(site: Site, client: Any, login: Any) -> None:
    make_voucher(site, number="SIP-1")
    login(admin())
    form = {**GOOD, "project_id": site.project.id, "number": "SIP-1"}
    page = client.post("/vouchers/new", data=form).get_data(as_text=True)
    assert "already recorded" in _field(page, "number")
    other = {**form, "issuer": "南京市江北新区科技创新局"}
    assert client.post("/vouchers/new", data=other).status_code == 302
    assert _count() == 2


def test_a_drawn_voucher_keeps_its_terms_but_may_be_extended(
    site: Site, client: Any, login: Any
) -> None:
    voucher = make_voucher(site, amount="100", valid_until="2027-06-30")
    used(site, MONDAY_9, 60)
    login(admin())
    page = client.get(f"/vouchers/{voucher.id}").get_data(as_text=True)
    assert 'id="drawn-notice"' in page and 'name="amount"' not in page
    response = client.post(f"/vouchers/{voucher.id}", data={"amount": "5000"})
    assert response.status_code == 422
    assert "only its note and a later end of validity" in response.get_data(as_text=True)
    moved = {"project_id": str(site.other_project.id)}
    assert client.post(f"/vouchers/{voucher.id}", data=moved).status_code == 422
    shorter = client.post(f"/vouchers/{voucher.id}", data={"valid_until": "2027-03-31"})
    assert shorter.status_code == 422
    assert "can only be extended" in _field(shorter.get_data(as_text=True), "valid_until")
    longer = {"valid_until": "2027-12-31", "note": "Extended by the bureau."}
    assert client.post(f"/vouchers/{voucher.id}", data=longer).status_code == 302
    db.session.expire_all()
    stored = db.session.get(Voucher, voucher.id)
    assert stored is not None
    assert (stored.amount_fen, str(stored.valid_until), stored.note) == (
        10_000,
        "2027-12-31",
        "Extended by the bureau.",
    )


def test_an_undrawn_voucher_may_change_all_its_terms(site: Site) -> None:
    voucher = make_voucher(site, amount="100")
    values = {**services.form_values(voucher), "amount": "300", "share_percent": "40"}
    services.update_voucher(admin(), voucher.id, values)
    db.session.expire_all()
    stored = db.session.get(Voucher, voucher.id)
    assert stored is not None
    assert (stored.amount_fen, stored.balance_fen, stored.share_percent) == (30_000, 30_000, 40)


def test_members_read_their_own_vouchers_only(site: Site, client: Any, login: Any) -> None:
    own = make_voucher(site, number="OWN-1")
    theirs = make_voucher(site, number="THEIRS-1", project_id=str(site.other_project.id))
    used(site, MONDAY_9, 60)
    login(site.member)
    listing = client.get("/vouchers").get_data(as_text=True)
    assert "OWN-1" in listing and "THEIRS-1" not in listing and 'id="new-voucher"' not in listing
    assert 'href="/vouchers"' in listing
    page = client.get(f"/vouchers/{own.id}").get_data(as_text=True)
    assert "850.00" in page and 'id="voucher-form"' not in page
    assert client.get(f"/vouchers/{theirs.id}").status_code == 404


def test_startup_members_and_managers_cannot_create_change_or_see_others_vouchers(
    site: Site, client: Any, login: Any
) -> None:
    theirs = make_voucher(site, number="THEIRS-1", project_id=str(site.other_project.id))
    for person in (site.member, site.manager):
        login(person)
        assert client.get("/vouchers/new").status_code == 404
        form = {**GOOD, "project_id": site.project.id}
        assert client.post("/vouchers/new", data=form).status_code == 404
        assert client.get(f"/vouchers/{theirs.id}").status_code == 404
        change = {"note": "mine now", "valid_until": "2030-01-01"}
        assert client.post(f"/vouchers/{theirs.id}", data=change).status_code == 404
        assert "THEIRS-1" not in client.get("/vouchers").get_data(as_text=True)
    assert client.get("/vouchers/999999").status_code == 404
    assert _count() == 1
    db.session.expire_all()
    stored = db.session.get(Voucher, theirs.id)
    assert stored is not None and stored.note == ""
    # The service refuses too, whatever page or API calls it.
    for person in (site.member, site.manager):
        try:
            services.record_voucher(person, {**GOOD, "project_id": str(site.project.id)})
        except Exception as error:  # noqa: BLE001
            assert getattr(error, "status", None) == 404
        else:
            raise AssertionError("a non-administrator recorded a voucher")


def _issued_with_voucher(site: Site) -> Any:
    make_voucher(site, number="SIP-7", amount="100", share_percent="50")
    used(site, MONDAY_9, 90)
    used(site, MONDAY_9 + timedelta(days=1), 60)
    return billing.issue_statement(
        site.manager, site.facility.id, site.project.id, MARCH, now=APRIL_2
    )


def test_the_statement_shows_each_vouchers_deduction_in_both_languages(
    site: Site, client: Any, login: Any
) -> None:
    statement = _issued_with_voucher(site)
    # 225.00 + 150.00: half of the first (112.50) is more than the voucher's 100.00, so it
    # paid 100.00 and nothing of the second.
    assert (statement.subtotal_fen, statement.voucher_deductions_fen) == (37_500, 10_000)
    login(site.member)
    for path in ("", "/print"):
        page = client.get(f"/statements/{statement.id}{path}").get_data(as_text=True)
        assert f"Voucher {ISSUER} No. SIP-7" in page and "-100.00" in page
        assert "275.00" in page and "Amount payable" in page
    client.set_cookie("lang", "zh")
    page = client.get(f"/statements/{statement.id}").get_data(as_text=True)
    assert f"{ISSUER} 科技创新券 SIP-7" in page and "应付金额" in page and "275.00" in page


def test_the_workbook_lists_each_vouchers_deduction(site: Site, client: Any, login: Any) -> None:
    statement = _issued_with_voucher(site)
    login(site.member)
    sheet = load_workbook(io.BytesIO(client.get(f"/statements/{statement.id}.xlsx").data)).active
    assert sheet is not None
    rows = {r[0]: r[6] for r in sheet.iter_rows(values_only=True) if r and r[0]}
    from decimal import Decimal

    assert rows[f"Voucher {ISSUER} No. SIP-7"] == Decimal("-100")
    assert rows["Amount payable"] == Decimal("275")
