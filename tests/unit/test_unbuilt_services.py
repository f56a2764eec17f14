"""A service whose flow is not built yet must say so, not pretend to run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from services.runtime.placeholder import NOT_BUILT_EXIT_CODE

# Starts Python processes (seconds each): left out of `make test-fast`.
pytestmark = pytest.mark.process

UNBUILT = ["expensify"]


@pytest.mark.parametrize("service", UNBUILT)
def test_an_unbuilt_service_explains_itself_and_exits_non_zero(service: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"services.{service}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == NOT_BUILT_EXIT_CODE
    assert f"services.{service}: no handlers are built" in result.stderr
