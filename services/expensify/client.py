"""Expensify's Integration Server, the jobs the expenses flow sends: export, download.

Every job is one form post of ``requestJobDescription`` (JSON) to the one endpoint (sheet
section 1). The HTTP status says little: an export answers the file's name as plain text,
any failure a JSON body ``{"responseCode", "responseMessage"}`` (section 3, 9), so the body
decides. A rate-limited job did nothing (section 10): the transport retries it with backoff
(``access.py``), and one still refused after that is :class:`ExpensifyRateLimitedError`.

The export never filters on our export label: Expensify marks a report when the export
finishes, before we have published anything, so a crash there would lose it (sheet 3).
Reports are kept once by the source's memory of what it published; the label, when a link
asks for it, only shows people in Expensify what was read.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import httpx
import orjson

from services.expensify.settings import ExpensifySettings
from services.runtime.retry import RetryPolicy, backoff_delay

__all__ = [
    "ExpensifyClient",
    "ExpensifyJobError",
    "ExpensifyRateLimitedError",
    "ExportRequest",
    "is_rate_limited",
]

_DOWNLOAD_BACKOFF: Final = RetryPolicy(base_backoff=1.0, max_backoff=8.0)


class ExpensifyJobError(RuntimeError):
    """Expensify refused a job: its ``responseCode`` and ``responseMessage``."""

    def __init__(self, code: int | None, message: str, *, job: str) -> None:
        super().__init__(f"Expensify refused the {job} job (responseCode {code}): {message}")
        self.code = code
        self.message = message


class ExpensifyRateLimitedError(ExpensifyJobError):
    """Still rate-limited after the transport's retries: the poll is tried again later."""


def _error_of(answer: httpx.Response) -> tuple[int | None, str] | None:
    """``(responseCode, responseMessage)`` of a JSON error body; None for anything else."""
    text = answer.content.lstrip()
    if not text.startswith(b"{"):
        return None
    try:
        body: Any = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict) or "responseCode" not in body:
        return None
    code = body.get("responseCode")
    if isinstance(code, int) and 200 <= code < 300:
        return None
    return (code if isinstance(code, int) else None, str(body.get("responseMessage") or ""))


def is_rate_limited(answer: httpx.Response, settings: ExpensifySettings) -> bool:
    """Whether ``answer`` is Expensify's rate limit (429, or its message whatever the status)."""
    if answer.status_code == httpx.codes.TOO_MANY_REQUESTS:
        return True
    error = _error_of(answer)
    return error is not None and settings.rate_limit_message.lower() in error[1].lower()


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """One report export: which reports, and whether to label them in Expensify."""

    policy_ids: Sequence[str]
    states: Sequence[str]
    approved_after: date
    filed_from: date  # the later of created and submitted, inclusive (sheet 3)
    filed_to: date
    report_ids: Sequence[str] = ()
    mark_labels: Sequence[str] = ()
    limit: int = 200


class ExpensifyClient:
    """The jobs of one partner credential, on a client that keeps Expensify's limits."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        settings: ExpensifySettings,
        partner_user_id: str,
        partner_user_secret: str,
    ) -> None:
        self._http = http
        self._settings = settings
        self._credentials = {
            "partnerUserID": partner_user_id,
            "partnerUserSecret": partner_user_secret,
        }

    async def _post(
        self, job: Mapping[str, Any], *, name: str, extra: Mapping[str, str] | None = None
    ) -> httpx.Response:
        form = {"requestJobDescription": orjson.dumps(job).decode(), **(extra or {})}
        answer = await self._http.post(self._settings.integration_url, data=form)
        if is_rate_limited(answer, self._settings):
            error = _error_of(answer)
            code, message = error if error is not None else (answer.status_code, answer.text)
            raise ExpensifyRateLimitedError(code, message[:200], job=name)
        error = _error_of(answer)
        if error is not None:
            raise ExpensifyJobError(*error, job=name)
        if answer.status_code >= httpx.codes.BAD_REQUEST:
            raise ExpensifyJobError(answer.status_code, answer.text[:200], job=name)
        return answer

    async def export(self, request: ExportRequest, template: str) -> str:
        """Render the chosen reports through ``template`` on the server; the file's name."""
        filters: dict[str, str] = {
            # Reports approved after the day (the day itself left out, open question 4),
            # filed within the window (the older manual requires a startDate).
            "approvedAfter": request.approved_after.isoformat(),
            "startDate": request.filed_from.isoformat(),
            "endDate": request.filed_to.isoformat(),
            "policyIDList": ",".join(request.policy_ids),
        }
        if request.report_ids:
            filters["reportIDList"] = ",".join(request.report_ids)
        job: dict[str, Any] = {
            "type": "file",
            "credentials": self._credentials,
            "onReceive": {"immediateResponse": ["returnRandomFileName"]},
            "inputSettings": {
                "type": "combinedReportData",
                "reportState": ",".join(request.states),
                "limit": str(request.limit),
                "filters": filters,
            },
            "outputSettings": {"fileExtension": "json", "fileBasename": "mlc"},
        }
        if request.mark_labels:
            job["onFinish"] = [
                {"actionName": "markAsExported", "label": label} for label in request.mark_labels
            ]
        answer = await self._post(job, name="export", extra={"template": template})
        name = answer.text.strip()
        if not name or any(c in name for c in "/\\ \n"):
            raise ExpensifyJobError(None, f"not a file name: {name[:80]!r}", job="export")
        return name

    async def download(self, file_name: str) -> bytes:
        """The export file; asked again with backoff while it lags its name (sheet 4)."""
        job = {
            "type": "download",
            "credentials": self._credentials,
            "fileName": file_name,
            "fileSystem": "integrationServer",
        }
        attempt = 1
        while True:
            try:
                return (await self._post(job, name="download")).content
            except ExpensifyRateLimitedError:
                raise
            except ExpensifyJobError:
                if attempt >= self._settings.download_attempts:
                    raise
            # Waiting for the file to exist, not for a test: the server writes it after
            # answering its name.
            await asyncio.sleep(backoff_delay(_DOWNLOAD_BACKOFF, attempt, draw=random.random()))  # noqa: S311 - jitter
            attempt += 1
