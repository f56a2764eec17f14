"""Headless Chromium on the console: Debian's ``chromium`` driven by Playwright.

The browser tests (``tests/e2e/test_console_browser.py``) and ``make screenshots``
(:mod:`devstack.console_screenshots`) open the console with these. Chromium is Debian's
package, found or installed by ``scripts/chromium-path.sh`` (``MLC_CHROMIUM`` overrides);
Playwright only drives it, so no browser build is downloaded.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

from playwright.async_api import Browser, Page, async_playwright

__all__ = ["ChromiumMissingError", "chromium", "chromium_path", "sign_in"]

ROOT: Final = Path(__file__).resolve().parent.parent
CHROMIUM_PATH_SCRIPT: Final = ROOT / "scripts" / "chromium-path.sh"
NOT_INSTALLED: Final = 3
_INSTALL_TIMEOUT_S: Final = 900


class ChromiumMissingError(RuntimeError):
    """No Chromium here, and none could be installed."""


def chromium_path() -> str:
    """The Chromium executable (installed from Debian's packages when there is none)."""
    result = subprocess.run(  # noqa: S603 - our own script
        [str(CHROMIUM_PATH_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=_INSTALL_TIMEOUT_S,
        check=False,
    )
    if result.returncode == NOT_INSTALLED:
        raise ChromiumMissingError(result.stderr.strip())
    if result.returncode != 0:
        msg = f"scripts/chromium-path.sh failed (exit {result.returncode}): {result.stderr}"
        raise RuntimeError(msg)
    return result.stdout.strip().splitlines()[-1]


@asynccontextmanager
async def chromium(executable: str) -> AsyncIterator[Browser]:
    """Headless Chromium at ``executable`` (no sandbox: CI runs it as root)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, chromium_sandbox=False
        )
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(page: Page, base_url: str, token: str) -> None:
    """Sign ``page`` in to the console at ``base_url`` with the operator token."""
    await page.goto(f"{base_url}/console/sign-in")
    await page.fill("#token", token)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}/console/links")
