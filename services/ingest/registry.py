"""The webhook schemes the edge accepts, as the vendor registry (``services/vendors.py``) has them.

Not a list of its own: each scheme is its vendor plugin's (``services/<vendor>/plugin.py``),
and the types are the runtime's ports (``services/runtime/vendor_plugin.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from services.runtime.vendor_plugin import (
    DeliveryIdReader,
    Handshake,
    HandshakeReader,
    Verifier,
    WebhookScheme,
)
from services.vendors import webhook_schemes

__all__ = [
    "VENDORS",
    "DeliveryIdReader",
    "Handshake",
    "HandshakeReader",
    "Verifier",
    "WebhookScheme",
]

VENDORS: Final[Mapping[str, WebhookScheme]] = webhook_schemes()
"""Vendor name (as in the URL, ``raw.<vendor>`` and ``connections.vendor``) -> scheme."""
