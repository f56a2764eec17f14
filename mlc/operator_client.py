"""The operator API (``/api/v1`` of a running control plane) as the commands call it.

The address is ``--url``/``MLC_OPERATOR_URL``, else ``MLC_PUBLIC_URL``, else the local
stack's server; the token is ``MLC_OPERATOR_TOKEN``. Failures become one line saying
what to do, and an exit code.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import httpx
import typer

from mlc.exits import EXIT_FAILED, EXIT_REFUSED, fail

__all__ = ["DEFAULT_OPERATOR_URL", "OperatorClient", "UrlOption", "operator_url"]

DEFAULT_OPERATOR_URL = "http://127.0.0.1:8080"

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="MLC_OPERATOR_URL",
        help="Ingest service base URL (default: MLC_PUBLIC_URL, then http://127.0.0.1:8080).",
        show_default=False,
    ),
]


def operator_url(given: str | None) -> str:
    """``--url``/``MLC_OPERATOR_URL``, else ``MLC_PUBLIC_URL``, else the local default."""
    return (given or os.environ.get("MLC_PUBLIC_URL") or DEFAULT_OPERATOR_URL).rstrip("/")


class OperatorClient:
    """A small client of ``/api/v1`` that turns failures into messages saying what to do."""

    def __init__(self, url: str | None) -> None:
        self.url = operator_url(url)
        token = os.environ.get("MLC_OPERATOR_TOKEN", "")
        if not token:
            msg = "MLC_OPERATOR_TOKEN is not set: export the control plane's operator token"
            raise fail(msg, EXIT_REFUSED)
        self._headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:  # noqa: ANN401 - JSON
        try:
            response = httpx.request(
                method,
                f"{self.url}/api/v1{path}",
                json=body,
                headers=self._headers,
                timeout=30.0,
            )
        except httpx.TransportError:
            msg = (
                f"cannot reach the control plane at {self.url}: "
                "start it with `python -m services.control` or set MLC_OPERATOR_URL"
            )
            raise fail(msg, EXIT_FAILED) from None
        if response.status_code == 401:
            msg = f"{self.url} refused the operator token: set MLC_OPERATOR_TOKEN to its token"
            raise fail(msg, EXIT_REFUSED)
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("error", response.text))
            except ValueError:
                detail = response.text
            raise fail(f"{detail} (HTTP {response.status_code})", EXIT_FAILED)
        return None if response.status_code == 204 else response.json()
