"""`python -m services.bill`: the bill service (flow ap-bill's sink: vendors and bills -> BILL)."""

import sys

import services.lean_start  # noqa: F401  (first: before anything imports structlog)
from services.bill.app import wire
from services.bill.settings import BillServiceSettings
from services.runtime.service_main import run_service

if __name__ == "__main__":
    sys.exit(run_service(BillServiceSettings, wire))
