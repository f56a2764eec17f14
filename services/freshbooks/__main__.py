"""`python -m services.freshbooks`: the freshbooks service (flow 1's sink, expense departments)."""

import sys

import services.lean_start  # noqa: F401  (first: before anything imports structlog)
from services.freshbooks.app import wire
from services.freshbooks.settings import FreshBooksServiceSettings
from services.runtime.service_main import run_service

if __name__ == "__main__":
    sys.exit(run_service(FreshBooksServiceSettings, wire))
