"""The Expensify Integration Server sandbox: one endpoint, jobs in `requestJobDescription`.

See `docs/vendors/expensify-sandbox.md`; facts from `../shared/vendors/expensify.md`.
"""

from typing import Final

PORT_SLOT: Final = 5
"""Its port in `python -m sandboxes all`: `--base-port` + 5 (9101 + 5 in `make up`)."""
