"""`python -m services.acumatica`: the acumatica service (flow 3's sink: people -> Employees)."""

import sys

import services.lean_start  # noqa: F401  (first: before anything imports structlog)
from services.acumatica.app import wire
from services.acumatica.settings import AcumaticaServiceSettings
from services.runtime.service_main import run_service

if __name__ == "__main__":
    sys.exit(run_service(AcumaticaServiceSettings, wire))
