"""Faithful, stateful simulators of the vendor APIs, runnable as real HTTP servers.

Each vendor lives in `sandboxes/<vendor>/` and exposes `build_sandbox(**options)` in its
`app.py` (see `sandboxes/kit/README.md`). Sandboxes import nothing from `services/`.

There is no list of sandboxes here: a sandbox is a subpackage that names its `PORT_SLOT`
in its `__init__.py` (its place in `python -m sandboxes all`'s consecutive ports), so a new
sandbox is its own folder and nothing else.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from typing import cast

from sandboxes.kit import VendorSandbox

__all__ = [
    "VENDORS",
    "SandboxUnavailableError",
    "available_vendors",
    "port_offset",
    "sandbox_factory",
]


def _port_slots() -> dict[str, int]:
    slots: dict[str, int] = {}
    for module in pkgutil.iter_modules(__path__):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"{__name__}.{module.name}")
        slot = getattr(package, "PORT_SLOT", None)
        if isinstance(slot, int):
            slots[module.name] = slot
    return dict(sorted(slots.items(), key=lambda item: item[1]))


_PORT_SLOTS = _port_slots()

VENDORS: tuple[str, ...] = tuple(_PORT_SLOTS)
"""Every vendor sandbox, in the order `python -m sandboxes all` assigns consecutive ports."""


class SandboxUnavailableError(LookupError):
    """The vendor is unknown, or its sandbox has not been built yet."""


def port_offset(vendor: str) -> int:
    """Where the vendor's port is from `--base-port`: fixed, so no port moves when a
    sandbox arrives."""
    if vendor not in _PORT_SLOTS:
        raise SandboxUnavailableError(f"unknown vendor {vendor!r}; known: {', '.join(VENDORS)}")
    return _PORT_SLOTS[vendor]


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
