"""The HTTP edge: verified webhooks, schedules, OAuth callbacks and the operator API (issue 5)."""
