"""The billing API: charges, statements with lines and notes, issuing them, rate cards and
customer kinds; bad input names the field, and a startup never reads another project's charges
or statements, nor a manager another facility's."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.billing.models import Charge, RateCard, Statement
from app.dbtypes import utcnow
from app.extensions import db
from app.usage import services as usage
from app.vouchers.models import Voucher, VoucherDraw
from tests import factories
from tests.usage.conftest import Site

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def as_user(app: Flask, login: Any) -> Any:
    def _client(user: Any) -> FlaskClient:
        return login(user, app.test_client())

    return _client


def _last_month_start() -> datetime:
    """Return 10:00 Shanghai time on a weekday of last month."""
    first = datetime.now(SHANGHAI).replace(day=1, hour=10, minute=0, second=0, microsecond=0)
    return first - timedelta(days=14)


def _used(site: Site, start: datetime, minutes: int, *, staff: Any = None, **kw: Any) -> Charge:
    booking = site.book(start, hours=2, **kw)
    staff = staff or site.manager
    usage.check_in(staff, booking.id, now=start)
    usage.check_out(staff, booking.id, now=start + timedelta(minutes=minutes))
    charge = db.session.scalar(select(Charge).where(Charge.booking_id == booking.id))
    assert charge is not None
    return charge


def _month(start: datetime) -> str:
    return f"{start.astimezone(SHANGHAI):%Y-%m}"


def _statements() -> int:
    return db.session.scalar(select(func.count()).select_from(Statement))


# ---------------------------------------------------------------- charges


def test_each_reads_only_their_projects_or_facilities_charges(site: Site, as_user: Any) -> None:
    start = _last_month_start()
    mine = _used(site, start, 60)
    theirs = _used(site, start, 120, project=site.other_project, lane=1)
    elsewhere_unit = factories.make_equipment(site.other_facility, slug="usage-other-unit")
    elsewhere = _used(site, start, 60, unit=elsewhere_unit, staff=site.other_manager)

    def ids(user: Any, query: str = "") -> set[int]:
        response = as_user(user).get(f"/api/v1/charges{query}")
        assert response.status_code == 200, response.get_json()
        return {c["id"] for c in response.get_json()["charges"]}

    assert ids(site.member) == {mine.id, elsewhere.id}
    assert ids(site.outsider) == {theirs.id}
    assert ids(site.manager) == {mine.id, theirs.id}
    assert ids(site.other_manager) == {elsewhere.id}
    # Filters narrow what one may see; they never widen it.
    assert ids(site.outsider, f"?project={site.project.id}") == set()
    assert ids(site.other_manager, f"?facility={site.facility.slug}") == set()
    assert ids(site.member, f"?facility={site.facility.slug}") == {mine.id}


def test_charges_by_month_and_billing_state_with_voucher_share(site: Site, as_user: Any) -> None:
    start = _last_month_start()
    charge = _used(site, start, 60)
    this_month = _used(site, utcnow() - timedelta(hours=3), 60, lane=1)
    voucher = Voucher(
        project_id=site.project.id,
        issuer="苏州工业园区科技创新局",
        number="KC-2026-001",
        amount_fen=100_000,
        balance_fen=90_000,
        share_percent=50,
        valid_from=date(2026, 1, 1),
        valid_until=date(2027, 12, 31),
    )
    db.session.add(voucher)
    db.session.flush()
    db.session.add(VoucherDraw(voucher_id=voucher.id, charge_id=charge.id, amount_fen=7_500))
    db.session.commit()
    client = as_user(site.member)

    answer = client.get(f"/api/v1/charges?month={_month(start)}").get_json()
    assert [c["id"] for c in answer["charges"]] == [charge.id]
    [row] = answer["charges"]
    # 60 minutes at 100.00 + 50.00 CNY/h; half of it paid by the voucher.
    assert (row["amount_fen"], row["voucher_fen"], row["statement_id"]) == (15_000, 7_500, None)
    assert (answer["total_fen"], answer["voucher_fen"]) == (15_000, 7_500)
    assert row["facility"] == site.facility.slug and row["equipment"] == site.unit.slug
    assert {c["id"] for c in client.get("/api/v1/charges?billed=false").get_json()["charges"]} == {
        charge.id,
        this_month.id,
    }
    assert client.get("/api/v1/charges?billed=true").get_json()["charges"] == []


def test_listing_charges_costs_the_same_queries_for_two_or_twelve(
    site: Site, as_user: Any
) -> None:
    from tests.statements import recorded_statements

    start = _last_month_start()
    client = as_user(site.member)

    def statements_for_list() -> tuple[int, int]:
        with recorded_statements() as seen:
            answer = client.get("/api/v1/charges").get_json()
        return len(answer["charges"]), len(seen)

    for day in range(2):
        _used(site, start + timedelta(days=day), 60)
    few = statements_for_list()
    for day in range(2, 12):
        _used(site, start + timedelta(days=day), 60)
    many = statements_for_list()
    assert (few[0], many[0]) == (2, 12)
    assert many[1] == few[1], (few, many)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("month=2026-13", "month"),
        ("month=1999-12", "month"),
        ("month=March", "month"),
        ("facility=no-such-place", "facility"),
        ("project=-1", "project"),
        ("billed=perhaps", "billed"),
        ("sort=amount", "sort"),
    ],
)
def test_bad_charge_filters_are_named(site: Site, as_user: Any, query: str, field: str) -> None:
    response = as_user(site.member).get(f"/api/v1/charges?{query}")
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["field"] == field


def test_anonymous_callers_get_401_before_the_body_is_read(
    site: Site, client: FlaskClient
) -> None:
    assert client.get("/api/v1/charges").status_code == 401
    assert client.get("/api/v1/statements").status_code == 401
    for path in (
        "/api/v1/statements",
        "/api/v1/statements/1/notes",
        f"/api/v1/equipment/{site.unit.slug}/rates",
        f"/api/v1/projects/{site.project.id}/customer-kind",
    ):
        method = "PUT" if "rates" in path or "kind" in path else "POST"
        response = client.open(
            path, method=method, data="{broken", content_type="application/json"
        )
        assert response.status_code == 401, path


# ---------------------------------------------------------------- statements


def _issue_body(site: Site, start: datetime) -> dict[str, Any]:
    return {"facility": site.facility.slug, "project_id": site.project.id, "month": _month(start)}


def _issue(site: Site, as_user: Any, start: datetime) -> dict[str, Any]:
    response = as_user(site.manager).post(
        "/api/v1/statements",
        json=_issue_body(site, start),
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_manager_issues_a_statement_and_its_member_reads_the_lines(
    site: Site, as_user: Any
) -> None:
    start = _last_month_start()
    first = _used(site, start, 60)
    second = _used(site, start + timedelta(days=1), 100)
    issued = _issue(site, as_user, start)
    assert issued["kind"] == "statement" and issued["month"] == _month(start)
    assert [ln["charge_id"] for ln in issued["lines"]] == [first.id, second.id]
    # 15,000 + 100 minutes at 150.00/h = 25,000.
    assert issued["subtotal_fen"] == 40_000 and issued["payable_fen"] == 40_000
    assert issued["voucher_deductions_fen"] == 0 and issued["notes"] == []

    member = as_user(site.member)
    detail = member.get(f"/api/v1/statements/{issued['id']}")
    assert detail.status_code == 200
    assert detail.get_json()["lines"] == issued["lines"]
    listed = member.get(f"/api/v1/statements?month={_month(start)}").get_json()["statements"]
    assert [s["number"] for s in listed] == [issued["number"]]
    billed = member.get("/api/v1/charges?billed=true").get_json()["charges"]
    assert {c["statement_id"] for c in billed} == {issued["id"]}


def test_a_statement_is_issued_once_and_only_for_a_past_month(site: Site, as_user: Any) -> None:
    start = _last_month_start()
    _used(site, start, 60)
    _issue(site, as_user, start)
    manager = as_user(site.manager)
    again = manager.post(
        "/api/v1/statements",
        json=_issue_body(site, start),
    )
    assert again.status_code == 409
    _used(site, utcnow() - timedelta(hours=3), 60, lane=1)
    current = manager.post(
        "/api/v1/statements",
        json={
            "facility": site.facility.slug,
            "project_id": site.project.id,
            "month": _month(utcnow()),
        },
    )
    assert current.status_code == 409
    assert _statements() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"month": "2026-1"}, "month"),
        ({"month": "1999-12"}, "month"),
        ({"month": 202601}, "month"),
        ({"facility": "no-such-place"}, "facility"),
        ({"project_id": "1"}, "project_id"),
        ({"extra": True}, "extra"),
    ],
)
def test_a_bad_statement_request_names_its_field(
    site: Site, as_user: Any, change: dict[str, Any], field: str
) -> None:
    body = {"facility": site.facility.slug, "project_id": site.project.id, "month": "2026-01"}
    response = as_user(site.manager).post("/api/v1/statements", json={**body, **change})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field
    assert _statements() == 0


@pytest.mark.parametrize("who", ["member", "outsider", "other_manager"])
def test_only_the_facilitys_managers_issue(site: Site, as_user: Any, who: str) -> None:
    start = _last_month_start()
    _used(site, start, 60)
    response = as_user(getattr(site, who)).post(
        "/api/v1/statements",
        json=_issue_body(site, start),
    )
    assert response.status_code == 404
    assert _statements() == 0


@pytest.mark.parametrize("who", ["outsider", "other_manager"])
def test_no_one_else_reads_a_statement(site: Site, as_user: Any, who: str) -> None:
    start = _last_month_start()
    _used(site, start, 60)
    issued = _issue(site, as_user, start)
    client = as_user(getattr(site, who))
    response = client.get(f"/api/v1/statements/{issued['id']}")
    assert response.status_code == 404
    assert issued["number"] not in response.get_data(as_text=True)
    assert client.get("/api/v1/statements").get_json()["statements"] == []
    assert (
        client.get(f"/api/v1/statements?project={site.project.id}").get_json()["statements"] == []
    )


def test_a_manager_corrects_a_statement_with_notes(site: Site, as_user: Any) -> None:
    start = _last_month_start()
    _used(site, start, 60)
    issued = _issue(site, as_user, start)
    manager = as_user(site.manager)
    credit = manager.post(
        f"/api/v1/statements/{issued['id']}/notes",
        json={"kind": "credit_note", "amount_fen": 2_500, "reason": "Instrument fault, 10 min"},
    )
    assert credit.status_code == 201, credit.get_json()
    note = credit.get_json()
    assert note["kind"] == "credit_note" and note["payable_fen"] == -2_500
    assert note["reference"]["id"] == issued["id"]
    assert note["lines"][0]["description"] == "Instrument fault, 10 min"
    debit = manager.post(
        f"/api/v1/statements/{issued['id']}/notes",
        json={"kind": "debit_note", "amount_fen": 1_000, "reason": "Extra consumables"},
    )
    assert debit.status_code == 201
    original = as_user(site.member).get(f"/api/v1/statements/{issued['id']}").get_json()
    assert [n["payable_fen"] for n in original["notes"]] == [-2_500, 1_000]
    assert original["payable_fen"] == issued["payable_fen"]
    on_a_note = manager.post(
        f"/api/v1/statements/{note['id']}/notes",
        json={"kind": "debit_note", "amount_fen": 1, "reason": "Note of a note"},
    )
    assert on_a_note.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": "  "}, "reason"),
        ({"reason": "x" * 2001}, "reason"),
        ({"amount_fen": 0}, "amount_fen"),
        ({"amount_fen": 12.5}, "amount_fen"),
        ({"amount_fen": 10**13}, "amount_fen"),
        ({"kind": "statement"}, "kind"),
    ],
)
def test_a_bad_note_names_its_field(
    site: Site, as_user: Any, change: dict[str, Any], field: str
) -> None:
    start = _last_month_start()
    _used(site, start, 60)
    issued = _issue(site, as_user, start)
    body = {"kind": "credit_note", "amount_fen": 100, "reason": "Fault", **change}
    response = as_user(site.manager).post(f"/api/v1/statements/{issued['id']}/notes", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field
    assert _statements() == 1


@pytest.mark.parametrize("who", ["member", "outsider", "other_manager"])
def test_only_the_facilitys_managers_issue_notes(site: Site, as_user: Any, who: str) -> None:
    start = _last_month_start()
    _used(site, start, 60)
    issued = _issue(site, as_user, start)
    response = as_user(getattr(site, who)).post(
        f"/api/v1/statements/{issued['id']}/notes",
        json={"kind": "credit_note", "amount_fen": 15_000, "reason": "Refund me"},
    )
    assert response.status_code == 404
    assert _statements() == 1


def test_a_manager_sees_what_each_projects_statement_would_hold(site: Site, as_user: Any) -> None:
    start = _last_month_start()
    _used(site, start, 60)
    _used(site, start, 120, project=site.other_project, lane=1)
    path = f"/api/v1/facilities/{site.facility.slug}/statement-drafts?month={_month(start)}"
    response = as_user(site.manager).get(path)
    assert response.status_code == 200, response.get_json()
    drafts = {d["project"]: d for d in response.get_json()["drafts"]}
    assert set(drafts) == {"Kestrel Bio", "Heron Devices"}
    # Heron Devices is an incubated startup too: 120 min at 150.00/h.
    assert (drafts["Kestrel Bio"]["charges"], drafts["Kestrel Bio"]["payable_fen"]) == (1, 15_000)
    assert drafts["Heron Devices"]["subtotal_fen"] == 30_000
    _issue(site, as_user, start)
    after = as_user(site.manager).get(path).get_json()["drafts"]
    assert [d["project"] for d in after] == ["Heron Devices"]
    for who in ("member", "outsider", "other_manager"):
        refused = as_user(getattr(site, who)).get(path)
        assert refused.status_code == 404, who
        assert "Heron" not in refused.get_data(as_text=True)
    for query, field in (("", "month"), ("?month=2026-00", "month"), ("?year=2026", "year")):
        bad = as_user(site.manager).get(
            f"/api/v1/facilities/{site.facility.slug}/statement-drafts{query}"
        )
        assert bad.status_code == 400 and bad.get_json()["field"] == field, query


# ---------------------------------------------------------------- rate cards and customer kinds


def test_rate_cards_are_public_like_the_catalogue(site: Site, client: FlaskClient) -> None:
    response = client.get(f"/api/v1/equipment/{site.unit.slug}/rates")
    assert response.status_code == 200
    card = response.get_json()
    assert (card["incubated_fen"], card["external_fen"], card["minimum_charge_fen"]) == (
        10_000,
        20_000,
        3_000,
    )
    assert card["charge_basis"] == "actual" and card["changeover_minutes"] == 30
    listed = client.get(f"/api/v1/facilities/{site.facility.slug}/rates").get_json()
    assert [c["equipment"] for c in listed["rate_cards"]] == [site.unit.slug]
    assert client.get("/api/v1/equipment/no-such-unit/rates").status_code == 404
    assert client.get("/api/v1/facilities/no-such-place/rates").status_code == 404


def test_a_unit_without_a_card_shows_its_catalogue_rate(site: Site, client: FlaskClient) -> None:
    plain = factories.make_equipment(site.facility, slug="usage-plain", hourly_rate_cny=88)
    card = client.get(f"/api/v1/equipment/{plain.slug}/rates").get_json()
    assert card["startup_fen"] == 8_800 and card["source"] == "catalogue"


RATES = {
    "incubated_fen": 9_000,
    "startup_fen": 14_000,
    "university_fen": 11_000,
    "external_fen": 25_000,
    "assisted_surcharge_fen": 4_000,
    "minimum_charge_fen": 2_000,
}


def test_an_administrator_sets_rates_and_customer_kinds(site: Site, as_user: Any) -> None:
    admin = as_user(factories.make_user(is_admin=True))
    response = admin.put(f"/api/v1/equipment/{site.unit.slug}/rates", json=RATES)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["source"] == "admin"
    db.session.expire_all()
    card = db.session.get(RateCard, site.unit.id)
    assert card is not None and card.external_fen == 25_000
    kind = admin.put(
        f"/api/v1/projects/{site.project.id}/customer-kind", json={"customer_kind": "university"}
    )
    assert kind.status_code == 200
    assert kind.get_json() == {"project_id": site.project.id, "customer_kind": "university"}
    db.session.expire_all()
    assert site.project.customer_kind == "university"
    missing = admin.put("/api/v1/projects/999999/customer-kind", json={"customer_kind": "startup"})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"external_fen": -1}, "external_fen"),
        ({"external_fen": "250.00"}, "external_fen"),
        ({"minimum_charge_fen": 10**13}, "minimum_charge_fen"),
        ({"hourly": 1}, "hourly"),
    ],
)
def test_bad_rates_name_their_field(
    site: Site, as_user: Any, change: dict[str, Any], field: str
) -> None:
    admin = as_user(factories.make_user(is_admin=True))
    response = admin.put(f"/api/v1/equipment/{site.unit.slug}/rates", json={**RATES, **change})
    assert response.status_code == 422 and response.get_json()["field"] == field
    db.session.expire_all()
    assert db.session.get(RateCard, site.unit.id).external_fen == 20_000  # type: ignore[union-attr]


def test_a_missing_rate_and_a_bad_kind_are_named(site: Site, as_user: Any) -> None:
    admin = as_user(factories.make_user(is_admin=True))
    partial = {k: v for k, v in RATES.items() if k != "startup_fen"}
    response = admin.put(f"/api/v1/equipment/{site.unit.slug}/rates", json=partial)
    assert response.status_code == 422 and response.get_json()["field"] == "startup_fen"
    kind = admin.put(
        f"/api/v1/projects/{site.project.id}/customer-kind", json={"customer_kind": "friend"}
    )
    assert kind.status_code == 422 and kind.get_json()["field"] == "customer_kind"


@pytest.mark.parametrize("who", ["member", "manager", "other_manager"])
def test_only_administrators_set_rates_and_kinds(site: Site, as_user: Any, who: str) -> None:
    client = as_user(getattr(site, who))
    response = client.put(f"/api/v1/equipment/{site.unit.slug}/rates", json=RATES)
    assert response.status_code == 404
    kind = client.put(
        f"/api/v1/projects/{site.project.id}/customer-kind", json={"customer_kind": "external"}
    )
    assert kind.status_code == 404
    db.session.expire_all()
    card = db.session.get(RateCard, site.unit.id)
    assert card is not None and card.external_fen == 20_000 and card.source == "catalogue"
    assert site.project.customer_kind == "incubated"
