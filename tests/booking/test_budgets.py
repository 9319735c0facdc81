"""Spending caps and vouchers reach the solver as budgets; steps carry their rate-card cost.

Real solves on the test database (SQLite and PostgreSQL): a tight cap leaves a request
unplaced with `over-budget`, an ample one places it, and the proposal page shows both."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.billing.budgets import project_budgets
from app.billing.models import Charge, RateCard, SpendingCap
from app.booking.models import BookingRequest, RequestStatus
from app.booking.problems import build_problem
from app.booking.requests import StepInput
from app.catalog.models import Capability
from app.dbtypes import utcnow
from app.extensions import db
from app.vouchers.models import Voucher, VoucherScope
from tests import factories
from tests.booking.conftest import ZONE, Core


def _cap(core: Core, yuan: int, *, start: date | None = None, end: date | None = None) -> None:
    today = utcnow().astimezone(ZONE).date()
    db.session.add(
        SpendingCap(
            project_id=core.amber.id,
            amount_fen=yuan * 100,
            period_start=start or today - timedelta(days=1),
            period_end=end or today + timedelta(days=60),
        )
    )
    db.session.commit()


def _voucher(core: Core, yuan: int, **values: Any) -> Voucher:
    today = utcnow().astimezone(ZONE).date()
    scopes = values.pop("scopes", [])
    voucher = Voucher(
        project_id=core.amber.id,
        issuer="苏州工业园区科技创新局",
        number=f"V-{factories._n()}",
        amount_fen=yuan * 100,
        balance_fen=yuan * 100,
        valid_from=values.pop("valid_from", today - timedelta(days=10)),
        valid_until=values.pop("valid_until", today + timedelta(days=100)),
        **values,
    )
    voucher.scopes = scopes
    db.session.add(voucher)
    db.session.commit()
    return voucher


def test_steps_cost_nothing_and_no_budget_is_given_without_a_cap(core: Core) -> None:
    core.request()
    problem, index = build_problem(core.bio, now=utcnow())
    assert problem.budgets == () and index.budgets == {}
    assert [s.cost_fen for r in problem.requests for s in r.steps] == [0]


def test_a_capped_projects_steps_cost_their_dearest_unit_at_its_customer_kind(
    core: Core,
) -> None:
    # LC-MS No. 2 has a card: 150 CNY/h to incubated startups, 40 CNY/h when attended.
    db.session.add(
        RateCard(
            equipment_id=core.lcms2.id,
            incubated_fen=15_000,
            startup_fen=30_000,
            university_fen=15_000,
            external_fen=30_000,
            assisted_surcharge_fen=4_000,
            minimum_charge_fen=0,
        )
    )
    db.session.commit()
    _cap(core, 5_000)
    attended = core.request("Attended", steps=[StepInput(180, capability="lc-ms")])
    alone = core.request(
        "Unattended, 50 min", steps=[StepInput(50, unit_ids=[core.lcms1.id], attended=False)]
    )
    other = core.request("Birch's", user=core.bob, project=core.birch)
    problem, _index = build_problem(core.bio, now=utcnow())
    costs = {r.id: [s.cost_fen for s in r.steps] for r in problem.requests}
    # 3 h × (150 + 40) on the dearer unit; 50 min are booked as a whole hour at 100 CNY/h.
    assert costs[f"r{attended.id}"] == [57_000]
    assert costs[f"r{alone.id}"] == [10_000]
    # Birch has no cap: its steps are not costed, and it has no budget.
    assert costs[f"r{other.id}"] == [0]
    assert [(b.project, b.remaining_fen) for b in problem.budgets] == [
        (f"p{core.amber.id}", 500_000)
    ]


def test_committed_counts_charges_and_uncharged_bookings_and_vouchers_add(core: Core) -> None:
    now = utcnow()
    yesterday = now - timedelta(days=1)
    # An uncharged booking of 2 h yesterday (200 CNY at 100 CNY/h) and a charged one (150 CNY).
    factories.make_booking(core.amber, core.lcms1, yesterday, yesterday + timedelta(hours=2))
    charged = factories.make_booking(
        core.amber, core.lcms2, yesterday - timedelta(hours=3), yesterday - timedelta(hours=2)
    )
    db.session.add(
        Charge(
            booking_id=charged.id,
            project_id=core.amber.id,
            facility_id=core.bio.id,
            equipment_id=core.lcms2.id,
            customer_kind="incubated",
            basis="actual",
            start=charged.start,
            end=charged.end,
            minutes=90,
            hourly_fen=10_000,
            amount_fen=15_000,
        )
    )
    # Long before the cap's period: not committed in it.
    old = now - timedelta(days=40)
    factories.make_booking(core.amber, core.lcms1, old, old + timedelta(hours=5))
    db.session.commit()
    # From two local days back: before 03:00 local, the charged use lies two days back.
    _cap(core, 1_000, start=now.astimezone(ZONE).date() - timedelta(days=2))
    _voucher(core, 100, scopes=[VoucherScope(facility_id=core.bio.id)])
    _voucher(core, 70, scopes=[VoucherScope(centre_id=core.bio.centre_id)])
    # Not counted: scoped to another facility, to a capability only, expired, or Birch's.
    _voucher(core, 1_000, scopes=[VoucherScope(facility_id=core.ict.id)])
    db.session.add(Capability(slug="lc-ms", name_zh="液质联用", name_en="LC-MS"))
    _voucher(core, 1_000, scopes=[VoucherScope(capability_slug="lc-ms")])
    _voucher(core, 1_000, valid_until=now.astimezone(ZONE).date() - timedelta(days=1))
    db.session.add(
        Voucher(
            project_id=core.birch.id,
            issuer="x",
            number="B-1",
            amount_fen=99_900,
            balance_fen=99_900,
            valid_from=date(2000, 1, 1),
            valid_until=date(2100, 1, 1),
        )
    )
    db.session.commit()

    found = project_budgets(core.bio, [core.amber, core.birch], now, now + timedelta(days=28))
    assert set(found) == {core.amber.id}
    budget = found[core.amber.id]
    assert budget.cap_fen == 100_000
    assert budget.committed_fen == 20_000 + 15_000
    assert budget.vouchers_fen == 17_000
    assert budget.remaining_fen == 100_000 - 35_000 + 17_000


def test_a_co_paying_voucher_adds_only_what_the_cap_can_co_pay(core: Core) -> None:
    now = utcnow()
    _cap(core, 100)
    # The voucher pays 40% of each charge: 100 CNY left can co-pay 60% of 166.66 CNY of
    # charges, of which the voucher pays 66.66 CNY, however large its balance.
    _voucher(core, 5_000, share_percent=40)
    budget = project_budgets(core.bio, [core.amber], now, now + timedelta(days=28))[core.amber.id]
    assert budget.vouchers_fen == 6_666
    assert budget.remaining_fen == 16_666


def test_of_two_caps_over_the_horizon_the_one_with_least_left_binds(core: Core) -> None:
    now = utcnow()
    today = now.astimezone(ZONE).date()
    _cap(core, 800, start=today - timedelta(days=5), end=today + timedelta(days=9))
    _cap(core, 300, start=today + timedelta(days=10), end=today + timedelta(days=40))
    budget = project_budgets(core.bio, [core.amber], now, now + timedelta(days=28))[core.amber.id]
    assert (budget.cap_fen, budget.remaining_fen) == (30_000, 30_000)
    # A cap whose period begins after the horizon does not limit this solve.
    short = project_budgets(core.bio, [core.amber], now, now + timedelta(days=5))
    assert short[core.amber.id].cap_fen == 80_000


def _page(client: Any, login: Any, core: Core, proposal_id: int, locale: str) -> str:
    core.mia.locale = locale
    db.session.commit()
    login(core.mia)
    return str(client.get(f"/proposals/{proposal_id}").get_data(as_text=True))


def test_a_tight_cap_leaves_the_request_unplaced_over_budget(
    core: Core, client: Any, login: Any
) -> None:
    # 3 h of LC-MS at 100 CNY/h cost 300 CNY; the cap leaves 250.
    _cap(core, 250)
    req = core.request()
    run = core.solve()
    proposal = run.proposal
    assert proposal is not None, run.error
    assert proposal.items == []
    [unplaced] = proposal.unplaced
    assert unplaced.request_id == req.id
    detail = unplaced.reason_detail
    assert detail["code"] == "over-budget"
    assert detail["args"]["budget_fen"] == 25_000
    assert detail["args"]["committed_fen"] == 0
    assert detail["args"]["cost_fen"] == 30_000
    assert db.session.get(BookingRequest, req.id).status == RequestStatus.UNPLACED
    assert proposal.metrics["budgets"] == [
        {
            "project_id": core.amber.id,
            "cap_fen": 25_000,
            "period_start": (utcnow().astimezone(ZONE).date() - timedelta(days=1)).isoformat(),
            "period_end": (utcnow().astimezone(ZONE).date() + timedelta(days=60)).isoformat(),
            "committed_fen": 0,
            "vouchers_fen": 0,
            "remaining_fen": 25_000,
        }
    ]

    english = _page(client, login, core, proposal.id, "en")
    assert 'id="budgets"' in english and "Amber Biologics" in english
    assert "has a budget of CN¥250.00 and has already committed CN¥0.00" in english
    assert "would cost CN¥300.00 more" in english
    chinese = _page(client, login, core, proposal.id, "zh")
    assert "的预算为 ¥250.00，已承诺 ¥0.00；本申请还需 ¥300.00" in chinese
    assert "支出上限" in chinese


def test_an_ample_cap_places_the_request(core: Core, client: Any, login: Any) -> None:
    _cap(core, 1_000)
    req = core.request()
    proposal = core.solve().proposal
    assert proposal is not None
    assert [i.request_id for i in proposal.items] == [req.id]
    assert proposal.unplaced == []
    [budget] = proposal.metrics["budgets"]
    assert budget["remaining_fen"] == 100_000
    page = _page(client, login, core, proposal.id, "en")
    assert 'id="budgets"' in page and "1,000.00" in page


def test_a_proposal_without_caps_shows_no_budgets(core: Core, client: Any, login: Any) -> None:
    core.request()
    proposal = core.solve().proposal
    assert proposal is not None and proposal.metrics["budgets"] == []
    assert 'id="budgets"' not in _page(client, login, core, proposal.id, "en")


def test_approval_refuses_a_plan_that_spending_since_the_solve_made_too_dear(
    core: Core,
) -> None:
    from app.billing.services import price_of_use
    from app.booking import bookings as booking_service
    from app.booking import proposals
    from app.booking.models import Booking, BookingStatus, Proposal, ProposalStatus
    from app.errors import Conflict

    # 3 h of LC-MS cost 300 CNY: the cap leaves 400 at the solve, so it is placed.
    _cap(core, 400)
    req = core.request()
    proposal = core.solve().proposal
    assert proposal is not None and [i.request_id for i in proposal.items] == [req.id]
    # Meanwhile the ICT centre books Amber's chamber for 3 h: within the cap on its own.
    chamber_cost = price_of_use(
        core.chamber, core.amber.customer_kind, 180, attended=True
    ).amount_fen
    assert 10_000 < chamber_cost <= 40_000
    booking_service.manual_booking(
        core.otto,
        project_id=core.amber.id,
        equipment_id=core.chamber.id,
        start=core.at(1, "09:00"),
        end=core.at(1, "12:00"),
        title="EMC pre-scan",
    )
    with pytest.raises(Conflict) as caught:
        proposals.approve_proposal(core.mia, proposal.id)
    [over] = caught.value.extra["budgets"]
    assert over["project_id"] == core.amber.id
    assert over["cost_fen"] == 30_000
    assert over["remaining_fen"] == 40_000 - chamber_cost
    assert "Amber Biologics" in caught.value.detail and "Solve again" in caught.value.detail
    db.session.rollback()
    # Nothing was published: no booking at the bio facility, the plan still a draft.
    assert db.session.get(Proposal, proposal.id).status == ProposalStatus.DRAFT.value
    assert db.session.get(BookingRequest, req.id).status == RequestStatus.PROPOSED
    active = db.session.scalars(
        select(Booking).where(Booking.status == BookingStatus.ACTIVE.value)
    ).all()
    assert [b.equipment_id for b in active] == [core.chamber.id]
    # Solved again, the request is left out for its budget.
    again = core.solve().proposal
    assert again is not None and again.items == []
    assert again.unplaced[0].reason_detail["code"] == "over-budget"


def test_the_request_page_says_before_the_solve_when_the_cap_leaves_too_little(
    core: Core, client: Any, login: Any
) -> None:
    # 3 h of LC-MS at 100 CNY/h cost 300 CNY; the cap leaves 250.
    _cap(core, 250)
    req = core.request()
    for locale, words in (
        ("en", ["estimated at CN¥300.00", "leaves there (CN¥250.00)"]),
        ("zh", ["估计费用为 ¥300.00", "仅剩 ¥250.00"]),
    ):
        core.alice.locale = locale
        db.session.commit()
        login(core.alice)
        page = client.get(f"/requests/{req.id}").get_data(as_text=True)
        assert 'class="card reason budget-notice"' in page
        for word in words:
            assert word in page
    # Solved, it is left out for the budget and the page still says why, once.
    core.solve()
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert page.count("budget-notice") == 1


def test_the_request_page_says_nothing_of_a_cap_that_leaves_enough(
    core: Core, client: Any, login: Any
) -> None:
    _cap(core, 300)
    req = core.request()
    login(core.alice)
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert req.title in page and "budget-notice" not in page


def test_the_api_gives_one_request_what_its_cap_says_and_lists_leave_it_out(
    core: Core, client_for: Any
) -> None:
    # 3 h of LC-MS at 100 CNY/h cost 300 CNY; the cap leaves 250.
    _cap(core, 250)
    req = core.request()
    alice = client_for(core.alice)
    [over] = alice.get(f"/api/v1/requests/{req.id}").get_json()["over_budget"]
    assert over["facility"] == req.steps[0].facility.slug
    assert (over["cost_fen"], over["remaining_fen"]) == (30_000, 25_000)
    assert "estimated at CN¥300.00" in over["message"]
    assert date.fromisoformat(over["period_start"]) <= req.earliest_start.date()
    listed = alice.get("/api/v1/requests").get_json()["requests"]
    assert [r["over_budget"] for r in listed if r["id"] == req.id] == [None]
    # Raised to what the request costs, the cap says nothing.
    cap = db.session.scalars(select(SpendingCap)).one()
    cap.amount_fen = 30_000
    db.session.commit()
    assert alice.get(f"/api/v1/requests/{req.id}").get_json()["over_budget"] == []
