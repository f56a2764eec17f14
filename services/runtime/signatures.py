"""Building blocks for verifying webhook signatures, shared by every vendor's ``webhook.py``.

Each vendor composes its own scheme (which header, what is signed, which
encoding) from these pieces; this module knows no vendor. Whatever the input,
the only exception that leaves it is :class:`VerificationError`, whose
``reason`` the HTTP edge turns into a refusal (401) and an audit entry, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

__all__ = [
    "VerificationError",
    "VerificationFailure",
    "check_window",
    "constant_time_equals",
    "decode_signature",
    "hmac_sha256",
    "parse_timestamp",
    "verify_hmac_sha256",
]

VerificationFailure = Literal[
    "missing_signature",
    "bad_signature",
    "missing_timestamp",
    "bad_timestamp",
    "stale_timestamp",
]
SignatureEncoding = Literal["hex", "base64", "base64url"]

_DEFAULT_MESSAGES: Final[dict[VerificationFailure, str]] = {
    "missing_signature": "the request carries no signature",
    "bad_signature": "the signature does not match the request",
    "missing_timestamp": "the request carries no timestamp",
    "bad_timestamp": "the timestamp is not unix seconds, unix milliseconds or ISO-8601",
    "stale_timestamp": "the timestamp is outside the replay window",
}
# Unix values at or above this are milliseconds: as seconds they would be after the year 5000.
_MILLISECONDS_FROM: Final = 100_000_000_000
# Longer input is no timestamp; the cap also keeps int() away from huge digit strings.
_MAX_TIMESTAMP_CHARS: Final = 64
_UNIX_TIMESTAMP: Final = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,9})?")
_OUT_OF_RANGE: Final = "the timestamp is outside the years 1-9999 in UTC"
_HEX: Final = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_BASE64: Final = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]+={0,2}")


class VerificationError(Exception):
    """A webhook request failed verification; ``reason`` is machine-readable."""

    def __init__(self, reason: VerificationFailure, detail: str | None = None) -> None:
        self.reason: VerificationFailure = reason
        self.detail = detail or _DEFAULT_MESSAGES[reason]
        super().__init__(f"{reason}: {self.detail}")


def constant_time_equals(a: bytes | str, b: bytes | str) -> bool:
    """Compare in time independent of where the inputs differ (str is compared as UTF-8)."""
    # surrogatepass: a lone surrogate (no UTF-8 form) must compare, not raise.
    left = a.encode("utf-8", "surrogatepass") if isinstance(a, str) else a
    right = b.encode("utf-8", "surrogatepass") if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def hmac_sha256(secret: bytes, message: bytes) -> bytes:
    """The raw HMAC-SHA256 digest of ``message`` under ``secret``."""
    return hmac.new(secret, message, hashlib.sha256).digest()


def decode_signature(text: str | bytes, encoding: SignatureEncoding) -> bytes:
    """Decode a signature as sent; anything malformed is a ``bad_signature``.

    Surrounding whitespace is ignored; missing base64 padding is tolerated
    because several senders strip it.
    """
    try:
        candidate = (text.decode("ascii") if isinstance(text, bytes) else text).strip()
    except UnicodeDecodeError:
        raise VerificationError("bad_signature", "the signature is not ASCII text") from None
    if not candidate:
        raise VerificationError("missing_signature")
    if encoding == "hex":
        if not _HEX.fullmatch(candidate):
            raise VerificationError("bad_signature", "the signature is not hex")
        return bytes.fromhex(candidate)
    pattern = _BASE64 if encoding == "base64" else _BASE64URL
    if not pattern.fullmatch(candidate):
        raise VerificationError("bad_signature", f"the signature is not {encoding}")
    unpadded = candidate.rstrip("=")
    padded = unpadded + "=" * (-len(unpadded) % 4)
    try:
        if encoding == "base64":
            return base64.b64decode(padded, validate=True)
        return base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        raise VerificationError("bad_signature", f"the signature is not {encoding}") from None


def verify_hmac_sha256(
    *,
    secret: bytes | str,
    message: bytes,
    signatures: str | Iterable[str] | None,
    encoding: SignatureEncoding,
) -> None:
    """Pass if any of ``signatures`` is the HMAC-SHA256 of ``message``; else raise.

    Several candidates are accepted because senders rotating a secret sign with
    both; a malformed candidate counts as a non-matching one. A text secret is keyed
    as UTF-8, as every vendor documents.
    """
    key = _secret_bytes(secret)
    candidates = [signatures] if isinstance(signatures, str) else list(signatures or ())
    candidates = [candidate for candidate in candidates if candidate.strip()]
    if not candidates:
        raise VerificationError("missing_signature")
    expected = hmac_sha256(key, message)
    matched = False
    for candidate in candidates:
        try:
            received = decode_signature(candidate, encoding)
        except VerificationError:
            continue
        # No early exit: every candidate costs the same whether or not one matched.
        matched |= constant_time_equals(expected, received)
    if not matched:
        raise VerificationError("bad_signature")


def _secret_bytes(secret: bytes | str) -> bytes:
    if isinstance(secret, bytes):
        return secret
    try:
        return secret.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate has no UTF-8 form, so no sender can have signed with this secret.
        raise VerificationError("bad_signature", "the secret is not UTF-8 text") from None


def parse_timestamp(text: str | bytes | None) -> datetime:
    """A signed timestamp as an aware UTC datetime: unix seconds, unix milliseconds or ISO-8601.

    An ISO-8601 value without an offset is read as UTC. A value that names no instant
    of the years 1-9999 in UTC (``9999-12-31T23:59:59-23:59``, 10**16 milliseconds) is a
    ``bad_timestamp``: it cannot be compared with the clock, and no sender's clock is there.
    """
    if text is None:
        raise VerificationError("missing_timestamp")
    try:
        candidate = (text.decode("ascii") if isinstance(text, bytes) else text).strip()
    except UnicodeDecodeError:
        raise VerificationError("bad_timestamp", "the timestamp is not ASCII text") from None
    if not candidate:
        raise VerificationError("missing_timestamp")
    if len(candidate) > _MAX_TIMESTAMP_CHARS:
        raise VerificationError("bad_timestamp", "the timestamp is too long")
    try:
        if _UNIX_TIMESTAMP.fullmatch(candidate):
            return _from_unix(candidate)
        parsed = datetime.fromisoformat(candidate)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        # Inside the try: an offset can carry a year-1 or year-9999 value off the calendar.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise VerificationError("bad_timestamp", _OUT_OF_RANGE) from None
    except (ValueError, OSError):
        raise VerificationError("bad_timestamp") from None


def _from_unix(candidate: str) -> datetime:
    whole, _, fraction = candidate.partition(".")
    # Integer arithmetic keeps sub-second digits exact, where float would round.
    microseconds = int(whole) * 1_000_000 + int((fraction + "000000")[:6])
    if int(whole) >= _MILLISECONDS_FROM:
        microseconds //= 1000
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=microseconds)


def check_window(ts: datetime, *, now: datetime, tolerance: timedelta) -> None:
    """Refuse a timestamp further than ``tolerance`` from ``now``, in the past or the future.

    Naive datetimes are read as UTC. Total for any datetimes and tolerance: the
    difference of two datetimes, and its negation, always fit a timedelta.
    """
    age = _as_utc(now) - _as_utc(ts)
    if age > tolerance:
        detail = (
            f"the timestamp is {age.total_seconds():.0f}s old; "
            f"the tolerance is {tolerance.total_seconds():.0f}s"
        )
        raise VerificationError("stale_timestamp", detail)
    if -age > tolerance:
        detail = (
            f"the timestamp is {(-age).total_seconds():.0f}s in the future; "
            f"the tolerance is {tolerance.total_seconds():.0f}s"
        )
        raise VerificationError("stale_timestamp", detail)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
