"""A faithful BambooHR simulator: per-company hosts, API keys and OAuth, employees, tables,
changed-since, reports, list metadata, signed webhooks, throttling. See
`docs/vendors/bamboohr-sandbox.md`; `build_sandbox` in `app.py` is the entry point."""

from typing import Final

PORT_SLOT: Final = 0
"""Its port in `python -m sandboxes all`: `--base-port` + 0 (9101 + 0 in `make up`)."""
