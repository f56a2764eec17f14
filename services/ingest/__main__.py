"""`python -m services.ingest`: the ingest service's entry point."""

from services.runtime.placeholder import exit_not_built

if __name__ == "__main__":
    exit_not_built("ingest")
