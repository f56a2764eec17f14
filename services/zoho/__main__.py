"""`python -m services.zoho`: the zoho service (flow 2's sink: BambooHR people -> contacts)."""

import sys

import services.lean_start  # noqa: F401  (first: before anything imports structlog)
from services.runtime.service_main import run_service
from services.zoho.app import wire
from services.zoho.settings import ZohoServiceSettings

if __name__ == "__main__":
    sys.exit(run_service(ZohoServiceSettings, wire))
