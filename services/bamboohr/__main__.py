"""`python -m services.bamboohr`: the BambooHR source (raw.bamboohr -> people.*)."""

import sys

import services.lean_start  # noqa: F401  (first: before anything imports structlog)
from services.bamboohr.app import wire
from services.bamboohr.settings import BambooHRServiceSettings
from services.runtime.service_main import run_service

if __name__ == "__main__":
    sys.exit(run_service(BambooHRServiceSettings, wire))
