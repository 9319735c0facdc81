"""An administrator discards a draft claim: its draws go back to unclaimed, the claim is gone
and the period can be prepared again. A submitted or paid claim is never discarded: the
service says why, and the database refuses it too. Everyone else gets 404 and nothing
changes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.booking.models import AuditEvent
from app.errors import Conflict, NotFound
from app.extensions import db
from app.vouchers import claims
from app.vouchers.models import CLAIM_DELETE_TRIGGERS, Claim, VoucherDraw
from tests import factories
from tests.claims.conftest import BUREAU, MARCH, MARCH_31, ClaimSite


def _draft(cs: ClaimSite) -> Claim:
    cs.draw(cs.use(factories.at("2027-03-01 01:00"), 60), 1_000)
    cs.draw(cs.use(factories.at("2027-03-02 01:00"), 60), 2_000)
    cs.bill(MARCH)
    return claims.prepare_claim(cs.admin, BUREAU, MARCH, MARCH_31)


def _claims() -> int:
    return int(db.session.scalar(select(func.count(Claim.id))) or 0)


def _claimed() -> int:
    return int(
        db.session.scalar(
            select(func.count(VoucherDraw.id)).where(VoucherDraw.claim_id.is_not(None))
        )
        or 0
    )


def test_discarding_a_draft_releases_its_draws_and_lets_the_period_be_claimed_again(
    cs: ClaimSite,
) -> None:
    claim = _draft(cs)
    claim_id, number = claim.id, claim.number
    assert _claimed() == 2

    assert claims.discard_claim(cs.admin, claim_id) == number
    assert _claims() == 0 and _claimed() == 0
    assert len(claims.claimable_draws(BUREAU, MARCH, MARCH_31)) == 2
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "claim.discard"))
    assert event is not None and event.object_id == claim_id and event.actor_id == cs.admin.id
    assert event.details["number"] == number and event.details["draws"] == 2
    assert event.details["total_fen"] == 3_000

    again = claims.prepare_claim(cs.admin, BUREAU, MARCH, MARCH_31)
    assert again.number == number and again.total_fen == 3_000 and _claimed() == 2


@pytest.mark.parametrize("paid", [False, True])
def test_a_submitted_or_paid_claim_is_never_discarded(cs: ClaimSite, paid: bool) -> None:
    claim = claims.submit_claim(cs.admin, _draft(cs).id)
    if paid:
        claims.mark_paid(cs.admin, claim.id)
    with pytest.raises(Conflict, match="only a draft claim is discarded"):
        claims.discard_claim(cs.admin, claim.id)
    db.session.rollback()
    assert _claims() == 1 and _claimed() == 2
    assert db.session.scalar(select(Claim.state)) == ("paid" if paid else "submitted")
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.action == "claim.discard")) is None
    )


@pytest.mark.parametrize("paid", [False, True])
def test_the_database_refuses_to_delete_a_submitted_or_paid_claim(
    cs: ClaimSite, paid: bool
) -> None:
    claim = claims.submit_claim(cs.admin, _draft(cs).id)
    if paid:
        claims.mark_paid(cs.admin, claim.id)
    with pytest.raises(DBAPIError, match="never change"):
        db.session.execute(text("DELETE FROM claims WHERE id = :id"), {"id": claim.id})
    db.session.rollback()
    assert _claims() == 1 and _claimed() == 2


def test_the_database_refuses_to_delete_a_submitted_claim_without_draws(cs: ClaimSite) -> None:
    db.session.execute(
        text(
            "INSERT INTO claims (number, issuer, period_start, period_end, state, total_fen, "
            "created_at) VALUES ('VC-EMPTY', 'x', '2027-05-01', '2027-05-31', 'draft', 0, "
            "CURRENT_TIMESTAMP)"
        )
    )
    db.session.execute(text("UPDATE claims SET state = 'submitted' WHERE number = 'VC-EMPTY'"))
    db.session.commit()
    with pytest.raises(DBAPIError, match="never change"):
        db.session.execute(text("DELETE FROM claims WHERE number = 'VC-EMPTY'"))
    db.session.rollback()
    assert _claims() == 1


def test_the_database_lets_a_draft_be_deleted_once_its_draws_are_released(
    cs: ClaimSite,
) -> None:
    claim = _draft(cs)
    db.session.execute(text("UPDATE voucher_draws SET claim_id = NULL"))
    db.session.execute(text("DELETE FROM claims WHERE id = :id"), {"id": claim.id})
    db.session.commit()
    assert _claims() == 0


def test_a_missing_claim_is_not_found(cs: ClaimSite) -> None:
    with pytest.raises(NotFound):
        claims.discard_claim(cs.admin, 999_999)


@pytest.mark.parametrize("who", ["manager", "member", "outsider", "other_manager"])
def test_no_one_but_an_administrator_discards(cs: ClaimSite, who: str) -> None:
    claim = _draft(cs)
    with pytest.raises(NotFound):
        claims.discard_claim(getattr(cs.site, who), claim.id)
    db.session.rollback()
    assert _claims() == 1 and _claimed() == 2


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_asks_first_then_discards(
    cs: ClaimSite, client: Any, login: Any, lang: str
) -> None:
    claim = _draft(cs)
    claim_id, number = claim.id, claim.number
    login(cs.admin)
    client.set_cookie("lang", lang)
    page = client.get(f"/claims/{claim_id}").get_data(as_text=True)
    question = {"en": 'data-confirm="Discard draft claim', "zh": 'data-confirm="放弃向'}
    assert question[lang] in page and 'id="claim-discard"' in page

    asked = client.post(f"/claims/{claim_id}/discard")
    assert asked.status_code == 200 and 'id="confirm-yes"' in asked.get_data(as_text=True)
    assert _claims() == 1

    done = client.post(f"/claims/{claim_id}/discard", data={"confirmed": "yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/claims")
    listing = client.get("/claims").get_data(as_text=True)
    said = {"en": "discarded; its charges are unclaimed again", "zh": "已放弃"}
    assert said[lang] in listing and number in listing
    assert _claims() == 0 and _claimed() == 0
    assert client.get(f"/claims/{claim_id}").status_code == 404


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_refuses_to_discard_a_submitted_claim(
    cs: ClaimSite, client: Any, login: Any, lang: str
) -> None:
    claim = claims.submit_claim(cs.admin, _draft(cs).id)
    login(cs.admin)
    client.set_cookie("lang", lang)
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert 'id="claim-discard"' not in page
    refused = client.post(f"/claims/{claim.id}/discard", data={"confirmed": "yes"})
    message = {"en": "only a draft claim is discarded", "zh": "只有草稿兑付申请可以放弃"}
    assert refused.status_code == 409 and message[lang] in refused.get_data(as_text=True)
    assert _claims() == 1 and _claimed() == 2


def test_the_api_discards_a_draft_and_refuses_a_submitted_claim(
    cs: ClaimSite, app: Flask, login: Any
) -> None:
    claim = _draft(cs)
    claim_id = claim.id
    client = login(cs.admin, app.test_client())
    gone = client.delete(f"/api/v1/claims/{claim_id}")
    assert gone.status_code == 204 and gone.get_data() == b""
    assert client.get(f"/api/v1/claims/{claim_id}").status_code == 404
    assert client.delete(f"/api/v1/claims/{claim_id}").status_code == 404
    assert _claims() == 0 and _claimed() == 0

    again = claims.prepare_claim(cs.admin, BUREAU, MARCH, MARCH_31)
    claims.submit_claim(cs.admin, again.id)
    refused = client.delete(f"/api/v1/claims/{again.id}")
    assert refused.status_code == 409
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert "only a draft claim is discarded" in refused.get_json()["detail"]
    assert _claims() == 1 and _claimed() == 2


def test_the_api_document_describes_the_discard(app: Flask, client: Any) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/claims/{id}"]["delete"]
    assert "204" in operation["responses"] and "409" in operation["responses"]
    assert "404" in operation["responses"]


@pytest.mark.parametrize("who", ["manager", "member", "outsider", "other_manager"])
def test_the_api_answers_404_to_everyone_but_administrators(
    cs: ClaimSite, app: Flask, login: Any, who: str
) -> None:
    claim = _draft(cs)
    client = login(getattr(cs.site, who), app.test_client())
    response = client.delete(f"/api/v1/claims/{claim.id}")
    assert response.status_code == 404 and claim.number not in response.get_data(as_text=True)
    assert _claims() == 1 and _claimed() == 2


def test_the_migration_creates_the_models_delete_triggers() -> None:
    path = next(Path(__file__).parents[2].glob("migrations/versions/discard01a_*.py"))
    spec = importlib.util.spec_from_file_location("discard01a", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    def words(statements: list[str]) -> list[str]:
        return [" ".join(s.split()) for s in statements]

    for dialect, statements in CLAIM_DELETE_TRIGGERS.items():
        assert words(migration.TRIGGERS[dialect]) == words(statements)
