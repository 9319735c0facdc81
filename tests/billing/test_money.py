"""The one rounding rule: minutes × hourly fen / 60, to the nearest fen, halves up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.billing.money import fen_for_minutes, fen_from_yuan, yuan


@pytest.mark.parametrize(
    ("minutes", "hourly_fen", "expected"),
    [
        (60, 45_000, 45_000),
        (90, 12_345, 18_518),  # 18 517.5 rounds up
        (30, 1, 1),  # 0.5 rounds up
        (29, 1, 0),  # 0.483 rounds down
        (1, 15_050, 251),  # 250.83
        (0, 99_999, 0),
    ],
)
def test_charges_round_to_the_nearest_fen_halves_up(
    minutes: int, hourly_fen: int, expected: int
) -> None:
    assert fen_for_minutes(minutes, hourly_fen) == expected


def test_negative_minutes_or_rates_are_refused() -> None:
    with pytest.raises(ValueError):
        fen_for_minutes(-1, 100)
    with pytest.raises(ValueError):
        fen_for_minutes(1, -100)


def test_yuan_convert_exactly_or_not_at_all() -> None:
    assert fen_from_yuan("150.5") == 15_050
    assert fen_from_yuan(Decimal("0.01")) == 1
    assert fen_from_yuan(450) == 45_000
    with pytest.raises(ValueError):
        fen_from_yuan("1.005")
    assert yuan(15_050) == Decimal("150.50")
