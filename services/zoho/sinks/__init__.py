"""The zoho service's sinks: contacts (flow people-zoho)."""
