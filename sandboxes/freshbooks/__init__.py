"""The FreshBooks sandbox: OAuth, identity, accounting, ledger, team members and callbacks.

See `docs/vendors/freshbooks-sandbox.md`; facts come from `../shared/vendors/freshbooks.md`.
"""

from typing import Final

PORT_SLOT: Final = 1
"""Its port in `python -m sandboxes all`: `--base-port` + 1 (9101 + 1 in `make up`)."""
