"""FreshBooks' three ways of writing a moment (sheet section 4).

Accounting `updated`-style fields are naive US/Eastern `YYYY-MM-DD HH:MM:SS`; bill and bill
vendor `created_at/updated_at` are the same form in UTC; auth, ledger and callbacks use
ISO-8601 with `Z`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

__all__ = ["eastern", "eastern_date", "iso_z", "money", "to_decimal", "utc_naive"]

EASTERN = ZoneInfo("America/New_York")
CENT = Decimal("0.01")


def eastern(moment: datetime) -> str:
    return moment.astimezone(EASTERN).strftime("%Y-%m-%d %H:%M:%S")


def eastern_date(moment: datetime) -> str:
    return moment.astimezone(EASTERN).strftime("%Y-%m-%d")


def utc_naive(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_decimal(value: object) -> Decimal:
    return Decimal(str(value))


def money(value: Decimal, code: str) -> dict[str, str]:
    """`{"amount": "10.00", "code": "USD"}`: string amounts, two decimals (sheet section 4)."""
    return {"amount": str(value.quantize(CENT, rounding=ROUND_HALF_UP)), "code": code}
