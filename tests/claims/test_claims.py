"""Claims gather an issuer's billed voucher draws of a period (by the facility's calendar),
each draw once; a claim moves draft → submitted → paid, and the app refuses the rest."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.booking.models import AuditEvent
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.vouchers import claims
from app.vouchers.models import Claim, VoucherDraw
from tests import factories
from tests.claims.conftest import BUREAU, MARCH, MARCH_31, OTHER_BUREAU, ClaimSite, make_voucher

APRIL = date(2027, 4, 1)
APRIL_30 = date(2027, 4, 30)


def _claim(cs: ClaimSite, start: date = MARCH, end: date = MARCH_31) -> Claim:
    return claims.prepare_claim(cs.admin, BUREAU, start, end)


def test_a_claim_gathers_the_issuers_billed_draws_of_the_period_and_totals_them(
    cs: ClaimSite,
) -> None:
    first = cs.draw(cs.use(factories.at("2027-03-01 01:00"), 60), 5_000)
    second = cs.draw(cs.use(factories.at("2027-03-08 01:00"), 90), 7_500)
    other_issuer = cs.draw(
        cs.use(factories.at("2027-03-09 01:00"), 60), 4_000, cs.other_issuers_voucher
    )
    other_project = cs.draw(
        cs.use(factories.at("2027-03-10 01:00"), 60, project=cs.site.other_project),
        6_000,
        cs.other_voucher,
    )
    cs.bill(MARCH)
    cs.bill(MARCH, cs.site.other_project)

    claim = _claim(cs)

    assert claim.state == "draft" and claim.issuer == BUREAU
    assert {d.id for d in claim.draws} == {first.id, second.id, other_project.id}
    assert other_issuer.id not in {d.id for d in claim.draws}
    assert claim.total_fen == 5_000 + 7_500 + 6_000
    assert claim.number.startswith("VC-20270301-20270331-")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "claim.prepare"))
    assert event is not None and event.details["total_fen"] == 18_500


def test_the_period_is_the_facilitys_local_calendar(cs: ClaimSite) -> None:
    # 00:30 on 1 March in Shanghai is still 28 February in UTC: March's.
    early = cs.draw(cs.use(factories.at("2027-02-28 16:30"), 60), 1_000)
    # 23:00 on 31 March in Shanghai: March's.
    late = cs.draw(cs.use(factories.at("2027-03-31 15:00"), 60), 2_000)
    # 00:30 on 1 April in Shanghai is 31 March in UTC: April's.
    april = cs.draw(cs.use(factories.at("2027-03-31 16:30"), 60), 3_000)
    cs.bill(MARCH)
    cs.bill(APRIL)

    march = _claim(cs)
    assert {d.id for d in march.draws} == {early.id, late.id}
    following = _claim(cs, APRIL, APRIL_30)
    assert [d.id for d in following.draws] == [april.id]


def test_unbilled_use_is_not_claimed(cs: ClaimSite) -> None:
    billed = cs.draw(cs.use(factories.at("2027-03-01 01:00"), 60), 1_000)
    cs.bill(MARCH)
    # Used in March but checked out after the statement: on no issued statement yet.
    unbilled = cs.draw(cs.use(factories.at("2027-03-15 01:00"), 60), 2_000)

    claim = _claim(cs)
    assert [d.id for d in claim.draws] == [billed.id]
    db.session.refresh(unbilled)
    assert unbilled.claim_id is None


def test_a_draw_is_claimed_once(cs: ClaimSite) -> None:
    cs.draw(cs.use(factories.at("2027-03-01 01:00"), 60), 1_000)
    cs.bill(MARCH)
    claim = _claim(cs)
    # The same month again, or a period that overlaps it, is refused.
    with pytest.raises(Conflict) as repeat:
        _claim(cs)
    assert repeat.value.field == "period_start" and claim.number in repeat.value.detail
    with pytest.raises(Conflict):
        _claim(cs, date(2027, 3, 15), date(2027, 4, 15))
    # A refresh adds nothing new, and the total stays.
    refreshed, added = claims.refresh_claim(cs.admin, claim.id)
    assert added == 0 and refreshed.total_fen == 1_000
    assert db.session.scalar(select(db.func.count(Claim.id))) == 1


def test_a_refresh_adds_the_periods_draws_billed_since(cs: ClaimSite) -> None:
    cs.draw(cs.use(factories.at("2027-03-01 01:00"), 60), 1_000)
    cs.bill(MARCH)
    claim = _claim(cs)
    later = cs.draw(
        cs.use(factories.at("2027-03-02 01:00"), 60, project=cs.site.other_project),
        2_500,
        cs.other_voucher,
    )
    cs.bill(MARCH, cs.site.other_project)

    refreshed, added = claims.refresh_claim(cs.admin, claim.id)

    assert added == 1 and refreshed.total_fen == 3_500
    assert later.id in {d.id for d in refreshed.draws}


@pytest.mark.parametrize(
    ("issuer", "start", "end", "field"),
    [
        ("", MARCH, MARCH_31, "issuer"),
        ("Unknown bureau", MARCH, MARCH_31, "issuer"),
        (BUREAU, MARCH_31, MARCH, "period_end"),
        (BUREAU, None, MARCH_31, "period_start"),
        (BUREAU, MARCH, date(2028, 4, 1), "period_end"),
        (BUREAU, date(1999, 12, 1), MARCH_31, "period_start"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    cs: ClaimSite, issuer: str, start: date | None, end: date | None, field: str
) -> None:
    cs.draw(cs.use(factories.at("2027-03-01 01:00"), 60), 1_000)
    cs.bill(MARCH)
    with pytest.raises(ValidationError) as error:
        claims.prepare_claim(cs.admin, issuer, start, end)
    assert field in error.value.errors
    assert db.session.scalar(select(Claim)) is None


def test_an_empty_period_is_refused(cs: ClaimSite) -> None:
    cs.draw(cs.use(factories.at("2027-03-01 01:00"), 60), 1_000)
    cs.bill(MARCH)
    with pytest.raises(Conflict, match="Nothing to claim") as error:
        _claim(cs, APRIL, APRIL_30)
    assert error.value.field == "period_start"
    # An issuer with vouchers but no billed draws: nothing either.
    make_voucher(cs.site.project, "无券区科技局")
    with pytest.raises(Conflict, match="Nothing to claim"):
        claims.prepare_claim(cs.admin, "无券区科技局", MARCH, MARCH_31)
    assert db.session.scalar(select(Claim)) is None


def _prepared(cs: ClaimSite) -> Claim:
    cs.draw(cs.use(factories.at("2027-03-01 01:00"), 60), 1_000)
    cs.draw(cs.use(factories.at("2027-03-02 01:00"), 60), 2_000)
    cs.bill(MARCH)
    return _claim(cs)


def test_a_claim_is_submitted_then_paid_and_never_back(cs: ClaimSite) -> None:
    claim = _prepared(cs)
    with pytest.raises(Conflict, match="only after it is submitted"):
        claims.mark_paid(cs.admin, claim.id)

    submitted = claims.submit_claim(cs.admin, claim.id, now=factories.at("2027-04-05 02:00"))
    assert submitted.state == "submitted" and submitted.submitted_by_id == cs.admin.id
    with pytest.raises(Conflict, match="already submitted"):
        claims.submit_claim(cs.admin, claim.id)
    with pytest.raises(Conflict, match="locked"):
        claims.refresh_claim(cs.admin, claim.id)

    paid = claims.mark_paid(cs.admin, claim.id, now=factories.at("2027-05-05 02:00"))
    assert paid.state == "paid" and paid.paid_by_id == cs.admin.id and paid.total_fen == 3_000
    with pytest.raises(Conflict, match="already marked paid"):
        claims.mark_paid(cs.admin, claim.id)
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "claim").order_by(AuditEvent.id)
    ).all()
    assert actions == ["claim.prepare", "claim.submit", "claim.paid"]


def test_a_claim_whose_lines_changed_is_refreshed_before_it_is_submitted(cs: ClaimSite) -> None:
    claim = _prepared(cs)
    draw = db.session.scalar(select(VoucherDraw).where(VoucherDraw.claim_id == claim.id))
    assert draw is not None
    draw.amount_fen += 100
    db.session.commit()
    with pytest.raises(Conflict, match="refresh it first"):
        claims.submit_claim(cs.admin, claim.id)
    refreshed, _added = claims.refresh_claim(cs.admin, claim.id)
    assert refreshed.total_fen == 3_100
    assert claims.submit_claim(cs.admin, claim.id).state == "submitted"


def test_a_submitted_claim_and_its_draws_never_change_through_the_app(cs: ClaimSite) -> None:
    claim = claims.submit_claim(cs.admin, _prepared(cs).id)
    claim.total_fen = 1
    with pytest.raises(Conflict, match="cannot change"):
        db.session.flush()
    db.session.rollback()
    draw = db.session.scalar(select(VoucherDraw).where(VoucherDraw.claim_id == claim.id))
    assert draw is not None
    draw.amount_fen = 1
    with pytest.raises(Conflict, match="cannot change"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(VoucherDraw, draw.id))
    with pytest.raises(Conflict, match="cannot change"):
        db.session.flush()
    db.session.rollback()


def test_only_administrators_see_or_act_on_claims(cs: ClaimSite) -> None:
    claim = _prepared(cs)
    for stranger in (cs.site.manager, cs.site.member, cs.site.outsider, cs.site.other_manager):
        with pytest.raises(NotFound):
            claims.list_claims(stranger)
        with pytest.raises(NotFound):
            claims.get_claim(stranger, claim.id)
        with pytest.raises(NotFound):
            claims.prepare_claim(stranger, BUREAU, APRIL, APRIL_30)
        for act in (claims.refresh_claim, claims.submit_claim, claims.mark_paid):
            with pytest.raises(NotFound):
                act(stranger, claim.id)
    db.session.refresh(claim)
    assert claim.state == "draft"


def test_the_demo_claim_is_last_months_draft_when_vouchers_paid_then(cs: ClaimSite) -> None:
    today = date(2027, 4, 10)
    assert claims.prepare_demo_claim(today, cs.admin, BUREAU) is None
    cs.draw(cs.use(factories.at("2027-03-03 01:00"), 60), 4_200)
    cs.draw(cs.use(factories.at("2027-03-04 01:00"), 60), 1_000, cs.other_issuers_voucher)
    cs.bill(MARCH)

    claim = claims.prepare_demo_claim(today, cs.admin, BUREAU)

    assert claim is not None and claim.state == "draft" and claim.total_fen == 4_200
    assert (claim.period_start, claim.period_end) == (MARCH, MARCH_31)
    # Loading the demo again changes nothing.
    assert claims.prepare_demo_claim(today, cs.admin, BUREAU) is None
    assert claims.prepare_demo_claim(today, cs.admin, OTHER_BUREAU) is not None
    assert db.session.scalar(select(db.func.count(Claim.id))) == 2


def test_a_draw_taken_by_another_claim_meanwhile_is_not_claimed_twice(
    cs: ClaimSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    cs.draw(cs.use(factories.at("2027-03-01 01:00"), 60), 1_000)
    cs.bill(MARCH)
    first = _claim(cs)
    taken = list(first.draws)
    # The second claim read the draws as free just before the first took them.
    monkeypatch.setattr(claims, "claimable_draws", lambda *_args: taken)
    with pytest.raises(Conflict, match="meanwhile"):
        _claim(cs, date(2027, 2, 1), date(2027, 2, 28))
    assert db.session.scalar(select(db.func.count(Claim.id))) == 1
    db.session.refresh(taken[0])
    assert taken[0].claim_id == first.id
