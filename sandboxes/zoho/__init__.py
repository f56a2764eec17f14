"""The Zoho Books (API v3) sandbox: eight data centres, Zoho Accounts OAuth, contacts,
reporting tags and workflow webhooks. See `docs/vendors/zoho-sandbox.md`."""

from typing import Final

PORT_SLOT: Final = 2
"""Its port in `python -m sandboxes all`: `--base-port` + 2 (9101 + 2 in `make up`)."""
