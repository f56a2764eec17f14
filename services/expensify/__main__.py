"""`python -m services.expensify`: the expensify service (flow expenses: approved reports)."""

import sys

import services.lean_start  # noqa: F401  (first: before anything imports structlog)
from services.expensify.app import wire
from services.expensify.settings import ExpensifyServiceSettings
from services.runtime.service_main import run_service

if __name__ == "__main__":
    sys.exit(run_service(ExpensifyServiceSettings, wire))
