"""`python -m services.bill`: the bill service's entry point."""

from services.runtime.placeholder import exit_not_built

if __name__ == "__main__":
    exit_not_built("bill")
