"""Two administrators prepare overlapping claims of the same issuer at the same moment, on
PostgreSQL: both read the draw as free, yet it lands on one claim only."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.errors import Conflict
from app.extensions import db
from app.vouchers import claims
from app.vouchers.models import Claim, VoucherDraw
from tests import factories
from tests.claims.conftest import BUREAU, MARCH, MARCH_31, ClaimSite


def test_concurrent_overlapping_claims_take_a_draw_once(
    cs: ClaimSite, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers before they read; the race needs PostgreSQL")
    draw = cs.draw(cs.use(factories.at("2027-03-20 01:00"), 60), 1_000)
    cs.bill(MARCH)
    admin_id = cs.admin.id
    both_read = threading.Barrier(2, timeout=20)
    original = claims.claimable_draws

    def read_then_wait(*args: Any) -> Any:
        found = original(*args)
        both_read.wait()
        return found

    monkeypatch.setattr(claims, "claimable_draws", read_then_wait)
    outcomes: dict[str, Any] = {}

    def prepare(name: str, start: date, end: date) -> None:
        with app.app_context():
            try:
                from app.accounts.models import User

                admin = db.session.get(User, admin_id)
                assert admin is not None
                outcomes[name] = claims.prepare_claim(admin, BUREAU, start, end).id
            except Conflict as error:
                outcomes[name] = error
            finally:
                db.session.remove()

    db.session.commit()
    threads = [
        threading.Thread(target=prepare, args=("month", MARCH, MARCH_31)),
        threading.Thread(target=prepare, args=("fortnight", date(2027, 3, 15), date(2027, 4, 14))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    won = [v for v in outcomes.values() if isinstance(v, int)]
    lost = [v for v in outcomes.values() if isinstance(v, Conflict)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert "meanwhile" in lost[0].detail
    db.session.expire_all()
    assert db.session.scalars(select(Claim.id)).all() == won
    assert (
        db.session.scalar(select(VoucherDraw.claim_id).where(VoucherDraw.id == draw.id)) == won[0]
    )
