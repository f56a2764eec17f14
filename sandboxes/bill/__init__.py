"""The BILL (v3 "Connect" API) sandbox. See `docs/vendors/bill-sandbox.md`."""

from typing import Final

PORT_SLOT: Final = 4
"""Its port in `python -m sandboxes all`: `--base-port` + 4 (9101 + 4 in `make up`)."""
