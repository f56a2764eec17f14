"""Faithful, stateful simulators of the vendor APIs, runnable as real HTTP servers.

Each vendor lives in `sandboxes/<vendor>/` and exposes `build_sandbox(**options)` in its
`app.py` (see `sandboxes/kit/README.md`). Sandboxes import nothing from `services/`.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import cast

from sandboxes.kit import VendorSandbox

__all__ = ["VENDORS", "SandboxUnavailableError", "available_vendors", "sandbox_factory"]

VENDORS: tuple[str, ...] = ("bamboohr", "freshbooks", "zoho", "acumatica", "bill", "expensify")
"""Every vendor, in the order `python -m sandboxes all` assigns consecutive ports."""


class SandboxUnavailableError(LookupError):
    """The vendor is unknown, or its sandbox has not been built yet."""


def available_vendors() -> list[str]:
    """The vendors whose sandbox exists in this checkout, in `VENDORS` order."""
    return [vendor for vendor in VENDORS if _has_app(vendor)]


def _has_app(vendor: str) -> bool:
    if importlib.util.find_spec(f"sandboxes.{vendor}") is None:
        return False
    return importlib.util.find_spec(f"sandboxes.{vendor}.app") is not None


def sandbox_factory(vendor: str) -> Callable[..., VendorSandbox]:
    """`build_sandbox` of one vendor: call it with `VendorSandbox` keyword options."""
    if vendor not in VENDORS:
        raise SandboxUnavailableError(f"unknown vendor {vendor!r}; known: {', '.join(VENDORS)}")
    if vendor not in available_vendors():
        raise SandboxUnavailableError(f"the {vendor} sandbox is not built yet")
    module = importlib.import_module(f"sandboxes.{vendor}.app")
    return cast("Callable[..., VendorSandbox]", module.build_sandbox)
