"""facilities.yaml's rate cards and billing settings: parsed, synced, with clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.billing.models import RateCard
from app.catalog.models import Equipment, Facility
from app.catalog.sync import CatalogueInvalid, sync_catalogue
from app.extensions import db
from tests.catalog.conftest import variant

__all__ = ["variant"]

RATES = """        hourly_rate_cny: 450
        rates: {startup: 600, external: 900.5, assisted_surcharge: 80, minimum_charge: 50}
"""
BILLING = """    timezone: Asia/Shanghai
    billing: {no_show_grace_minutes: 45, charge_basis: booked, bill_changeover: true}
"""


def _card(slug: str) -> RateCard:
    db.session.expire_all()
    unit = db.session.scalar(select(Equipment).where(Equipment.slug == slug))
    assert unit is not None
    card = db.session.get(RateCard, unit.id)
    assert card is not None
    return card


def test_rates_and_billing_settings_sync_from_the_file(
    db: Any, variant: Callable[..., Path]
) -> None:
    path = variant(
        ("        hourly_rate_cny: 450\n", RATES), ("    timezone: Asia/Shanghai\n", BILLING)
    )
    sync_catalogue(path)
    card = _card("alpha-lcms")
    assert (card.incubated_fen, card.startup_fen, card.external_fen) == (45_000, 60_000, 90_050)
    assert (card.assisted_surcharge_fen, card.minimum_charge_fen) == (8_000, 5_000)
    plain = _card("alpha-hplc")
    assert (plain.university_fen, plain.assisted_surcharge_fen) == (15_050, 0)
    alpha = db.session.scalar(select(Facility).where(Facility.slug == "alpha-poc"))
    assert alpha is not None
    assert (alpha.no_show_grace_minutes, alpha.charge_basis, alpha.bill_changeover) == (
        45,
        "booked",
        True,
    )


def test_an_administrators_card_survives_the_next_sync(
    db: Any, variant: Callable[..., Path]
) -> None:
    sync_catalogue(variant(("        hourly_rate_cny: 450\n", RATES)))
    card = _card("alpha-lcms")
    card.startup_fen, card.source = 1, "admin"
    db.session.commit()
    report = sync_catalogue(variant(("        hourly_rate_cny: 450\n", RATES), name="again.yaml"))
    assert _card("alpha-lcms").startup_fen == 1
    assert not any("rates" in changed for _what, changed in report.changed)


@pytest.mark.parametrize(
    ("replacement", "field"),
    [
        ("rates: {startup: 1.005}", "facilities[0].equipment[0].rates.startup"),
        ("rates: {friends: 1}", "facilities[0].equipment[0].rates.friends"),
    ],
)
def test_a_bad_rate_is_named_by_its_path(
    db: Any, variant: Callable[..., Path], replacement: str, field: str
) -> None:
    path = variant(
        (
            "        hourly_rate_cny: 450\n",
            f"        hourly_rate_cny: 450\n        {replacement}\n",
        )
    )
    with pytest.raises(CatalogueInvalid) as raised:
        sync_catalogue(path)
    assert raised.value.field == field
