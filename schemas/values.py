"""Value types the canonical events share: money, currency codes, references.

Money is :class:`~decimal.Decimal` on the inside and a decimal string on the
wire (``"149.00"``), so an amount survives any number of hops exactly. A float
is refused where money is expected: by the time it arrives it may already have
lost a cent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

__all__ = ["AccountRef", "CurrencyCode", "Money", "PostalAddress", "Quantity", "ValueModel"]


def _decimal_text(value: Decimal) -> str:
    # Fixed-point text: str() would write Decimal("1E+2") as "1E+2".
    return format(value, "f")


def _refuse_float(value: object) -> object:
    if isinstance(value, float):
        msg = "must be a decimal string such as '12.30', not a float (floats are inexact)"
        raise ValueError(msg)
    return value


_DECIMAL_TEXT = r"^-?\d+(\.\d+)?$"

Money = Annotated[
    Decimal,
    BeforeValidator(_refuse_float),
    Field(allow_inf_nan=False),
    PlainSerializer(_decimal_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _DECIMAL_TEXT,
            "description": "A decimal amount in major units, as a string (e.g. '149.00').",
        }
    ),
]
"""An exact amount of money in major units (dollars, not cents)."""

Quantity = Annotated[
    Decimal,
    BeforeValidator(_refuse_float),
    Field(allow_inf_nan=False),
    PlainSerializer(_decimal_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "pattern": _DECIMAL_TEXT, "description": "A decimal number."}
    ),
]
"""An exact count of units (hours, items), which may be fractional."""

CurrencyCode = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code, e.g. 'USD'."),
]


class ValueModel(BaseModel):
    """Base of the small value objects nested inside events: immutable, strict about extras."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class AccountRef(ValueModel):
    """The ledger account or expense category a line is booked to, as the source names it."""

    account_id: str = Field(
        min_length=1, description="The account's or category's id in the source."
    )
    name: str | None = Field(default=None, description="Its display name in the source.")
    code: str | None = Field(
        default=None, description="Its general-ledger number or code, where the source has one."
    )


class PostalAddress(ValueModel):
    """A postal address; every part is optional because sources keep partial addresses."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = Field(default=None, description="State, province or county.")
    postal_code: str | None = None
    country: str | None = Field(
        default=None, description="Country as the source gives it (ISO 3166 code or name)."
    )
