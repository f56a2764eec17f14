"""``python -m mlc``: the same command as the ``mlc`` script."""

from __future__ import annotations

from mlc.app import main

if __name__ == "__main__":
    main()
