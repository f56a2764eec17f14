"""The Acumatica ERP sandbox: a faithful simulator of the contract-based REST API."""

from typing import Final

PORT_SLOT: Final = 3
"""Its port in `python -m sandboxes all`: `--base-port` + 3 (9101 + 3 in `make up`)."""
