"""Imported first by every service process: keep out of memory what a service never runs.

Two libraries load console tooling whenever it is installed, and a service never uses it:

- structlog imports ``rich`` (and through it ``pygments``) to draw coloured console
  tracebacks; a service logs one JSON object a line (:mod:`services.runtime.logging`);
- httpx imports its command-line client (``httpx._main``: ``click``, ``pygments``, ``rich``),
  which only the ``httpx`` command runs.

Their code stayed resident: about 5 MB of every service process (``python -m
services.bamboohr``'s imports: 91.7 MB, 86.7 MB without). ``rich`` is installed for the
``mlc`` command, so it cannot be left out of the environment; marking these modules absent
here, before anything imports structlog or httpx, sends both down their plain path (each
expects the ImportError). An entry point imports this module before any other of ours
(``tests/unit/test_lean_start.py`` imports each one in a fresh interpreter and checks).
"""

import sys

__all__: list[str] = []

for _unused in ("rich", "httpx._main"):
    if _unused not in sys.modules:
        # None in sys.modules makes `import <name>` raise ImportError.
        sys.modules[_unused] = None  # type: ignore[assignment]
