"""Money: integer fen, one rounding rule, and its display.

The rule, stated once: a charge is minutes × (hourly rate in fen) / 60, rounded to the nearest
fen, halves up. Every amount the app computes from a time goes through `fen_for_minutes`."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import format_currency, format_decimal

FEN_PER_YUAN = 100
# The largest amount a form or the catalogue may set, in fen (one hundred million yuan).
MAX_FEN = 100_000_000 * FEN_PER_YUAN


def fen_for_minutes(minutes: int, hourly_fen: int) -> int:
    """Return minutes × hourly_fen / 60 rounded to the nearest fen, halves up."""
    if minutes < 0 or hourly_fen < 0:
        raise ValueError("minutes and rates are never negative")
    return (minutes * hourly_fen * 2 + 60) // 120


def fen_from_yuan(value: Decimal | int | str) -> int:
    """Return an amount in yuan with at most two decimals as fen; raise ValueError otherwise."""
    amount = Decimal(str(value))
    fen = amount * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise ValueError("at most two decimal places")
    return int(fen)


def yuan(fen: int) -> Decimal:
    """Return fen as an exact Decimal amount of yuan (for spreadsheets and forms)."""
    return Decimal(fen).scaleb(-2)


def money(fen: int) -> str:
    """Format fen as yuan in the page's language, with two decimals."""
    return format_decimal(yuan(fen), "#,##0.00")


def currency(fen: int) -> str:
    """Format fen as yuan with the currency sign of the page's language (exact: no float)."""
    return format_currency(Decimal(int(fen)) / 100, "CNY")
