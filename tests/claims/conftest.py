"""Claims' world: the usage tests' site, an administrator, vouchers of two issuers, and helpers
that bill a use and let a voucher pay part of it (voucher draws made directly, as the
draw-down would)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.billing import services as billing
from app.billing.models import Charge, Statement
from app.extensions import db
from app.usage import services as usage
from app.vouchers.models import Voucher, VoucherDraw
from tests import factories
from tests.usage.conftest import MONDAY_9, Site, build_site

BUREAU = "苏州工业园区科技创新局"
OTHER_BUREAU = "南京市江北新区科技创新局"
MARCH = date(2027, 3, 1)
MARCH_31 = date(2027, 3, 31)


@dataclass
class ClaimSite:
    site: Site
    admin: User
    voucher: Voucher
    other_voucher: Voucher
    other_issuers_voucher: Voucher

    def use(self, start: datetime, minutes: int = 60, *, project: Any = None) -> Charge:
        """Check a booking in and out: its charge, not yet billed."""
        booking = self.site.book(start, hours=max(1, minutes / 60), project=project)
        usage.check_in(self.site.manager, booking.id, now=start)
        usage.check_out(self.site.manager, booking.id, now=start + timedelta(minutes=minutes))
        charge = db.session.scalar(select(Charge).where(Charge.booking_id == booking.id))
        assert charge is not None
        # Each case places its own draws with the amounts it needs: any the draw-down made
        # at check-out go back to their vouchers.
        for made in db.session.scalars(
            select(VoucherDraw).where(VoucherDraw.charge_id == charge.id)
        ).all():
            made.voucher.balance_fen += made.amount_fen
            db.session.delete(made)
        db.session.commit()
        return charge

    def bill(self, month: date, project: Any = None) -> Statement:
        """Issue the month's statement (of the site's project unless another is named)."""
        following = date(month.year + month.month // 12, month.month % 12 + 1, 2)
        return billing.issue_statement(
            self.site.manager,
            self.site.facility.id,
            (project or self.site.project).id,
            month,
            now=factories.at(f"{following.isoformat()} 00:00"),
        )

    def draw(self, charge: Charge, amount_fen: int | None = None, voucher: Voucher | None = None):
        """Let a voucher pay part of a charge (half of it unless an amount is given)."""
        made = VoucherDraw(
            voucher_id=(voucher or self.voucher).id,
            charge_id=charge.id,
            amount_fen=amount_fen if amount_fen is not None else charge.amount_fen // 2,
        )
        db.session.add(made)
        db.session.commit()
        return made


def make_voucher(project: Any, issuer: str = BUREAU, **overrides: Any) -> Voucher:
    values: dict[str, Any] = {
        "project_id": project.id,
        "issuer": issuer,
        "number": f"CXQ-{factories._n():05d}",
        "amount_fen": 5_000_000,
        "balance_fen": 5_000_000,
        "share_percent": 50,
        "valid_from": date(2027, 1, 1),
        "valid_until": date(2027, 12, 31),
    }
    values.update(overrides)
    voucher = Voucher(**values)
    db.session.add(voucher)
    db.session.commit()
    return voucher


def build_claim_site() -> ClaimSite:
    site = build_site()
    admin = factories.make_user(name="Ada Admin", is_admin=True)
    return ClaimSite(
        site,
        admin,
        make_voucher(site.project),
        make_voucher(site.other_project),
        make_voucher(site.project, OTHER_BUREAU),
    )


@pytest.fixture
def cs(db: Any) -> ClaimSite:
    return build_claim_site()


__all__ = ["BUREAU", "MARCH", "MARCH_31", "MONDAY_9", "OTHER_BUREAU", "ClaimSite", "cs"]
