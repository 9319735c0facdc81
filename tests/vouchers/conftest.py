"""The usage tests' site, an administrator, capabilities, and a voucher factory."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.billing.models import Charge
from app.catalog.models import Capability
from app.extensions import db
from app.vouchers import services
from app.vouchers.models import Voucher, VoucherDraw
from tests import factories
from tests.usage.conftest import Site, build_site

ISSUER = "苏州工业园区科技创新局"


def admin() -> User:
    found = db.session.scalar(select(User).where(User.is_admin.is_(True)))
    return found or factories.make_user(name="Ada Admin", is_admin=True)


def capabilities() -> None:
    for slug in ("lc-ms", "sem"):
        if db.session.get(Capability, slug) is None:
            db.session.add(Capability(slug=slug, name_zh=slug, name_en=slug.upper()))
    db.session.commit()


def make_voucher(site: Site, **overrides: Any) -> Voucher:
    """Record a voucher for the site's project through the service: 1,000.00 CNY, 100 %, valid
    through 2027."""
    values: dict[str, Any] = {
        "project_id": str(site.project.id),
        "issuer": ISSUER,
        "number": f"KJQ-{factories._n()}",
        "amount": "1000",
        "valid_from": "2027-01-01",
        "valid_until": "2027-12-31",
        "share_percent": "100",
    }
    values.update(overrides)
    return services.record_voucher(admin(), values)


def balance(voucher: Voucher) -> int:
    db.session.expire_all()
    return db.session.get(Voucher, voucher.id).balance_fen  # type: ignore[union-attr]


def draws(charge: Charge) -> dict[int, int]:
    """Return {voucher id: fen} of a charge's draws."""
    rows = db.session.scalars(select(VoucherDraw).where(VoucherDraw.charge_id == charge.id))
    return {d.voucher_id: d.amount_fen for d in rows}


def day(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture
def site(db: Any) -> Site:
    capabilities()
    return build_site()
