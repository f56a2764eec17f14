"""A faithful BambooHR simulator: per-company hosts, API keys and OAuth, employees, tables,
changed-since, reports, list metadata, signed webhooks, throttling. See
`docs/vendors/bamboohr-sandbox.md`; `build_sandbox` in `app.py` is the entry point."""
