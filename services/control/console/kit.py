"""What every console page shares: rendering, the session and form-token guards, redirects.

A page handler gets the request and the live session (:meth:`Console.page`); a form
handler also gets the posted form, its token already checked (:meth:`Console.action`).
Without a session a GET goes to the sign-in form and a POST is answered 401; a POST whose
form token is not the session's is answered 403 and audited. Nothing changes either way.
Templates escape every value (Jinja2's autoescape); every page forbids framing and any
script, style or form target not our own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode

from fastapi.templating import Jinja2Templates
from faststream.kafka import KafkaBroker
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from schemas.envelope import utcnow
from services.control.connections import OperatorConnections
from services.control.console.sessions import ConsoleSessions, SignedIn
from services.control.console.views import CHART_STATUSES
from services.control.oauth import OAuthFlow
from services.control.review import EventPublisher
from services.runtime.store import StateStore
from services.runtime.ticks import TickPublisher

__all__ = [
    "ACTOR",
    "HERE",
    "Console",
    "ConsoleParts",
    "back",
    "next_path",
    "redirect",
]

HERE: Final = Path(__file__).parent
ACTOR: Final = "console"
FORM_FIELD: Final = "form_token"
HOME: Final = "/console/links"
_FORM_REFUSED: Final = (
    "This form was not sent by a console page of this session (its form token does not "
    "match). Nothing was changed. Reload the page and try again."
)
_SESSION_ENDED: Final = "Your session has ended (signed out or expired). Nothing was changed."
_CONSOLE_OFF: Final = "The console needs MLC_OPERATOR_TOKEN: set it and restart the control plane."

_templates = Jinja2Templates(directory=HERE / "templates")
_templates.env.globals["chart_statuses"] = CHART_STATUSES

Page = Callable[[Request, SignedIn], Awaitable[Response]]
Action = Callable[[Request, SignedIn, dict[str, str]], Awaitable[Response]]
Route = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class ConsoleParts:
    """What the console works with: the control plane's own parts."""

    store: StateStore
    sessions: ConsoleSessions
    operations: OperatorConnections
    bootstrap_servers: str
    flow: OAuthFlow | None = None
    oauth_vendors: tuple[str, ...] = ()
    """The vendors connected by consent (the rest by key: ``CREDENTIAL_SPECS``)."""
    publish_tick: TickPublisher | None = None
    publish_event: EventPublisher | None = None
    broker: KafkaBroker | None = None
    """Dead-letter replays publish through it; None: replays are not offered."""
    clock: Callable[[], datetime] = utcnow


class Console:
    """The console's shared behaviour over its parts."""

    def __init__(self, parts: ConsoleParts) -> None:
        self.parts = parts
        self.sessions = parts.sessions

    def render(
        self,
        request: Request,
        name: str,
        session: SignedIn | None,
        status_code: int = 200,
        **context: Any,  # noqa: ANN401 - whatever the template shows
    ) -> HTMLResponse:
        response = _templates.TemplateResponse(
            request,
            name,
            {
                "form_token": session.form_token if session else None,
                "form_field": FORM_FIELD,
                "notice": request.query_params.get("notice"),
                "error": request.query_params.get("error"),
                **context,
            },
            status_code=status_code,
        )
        _secure_headers(response)
        return response

    def message(
        self, request: Request, status_code: int, title: str, text: str, *, sign_in: bool = False
    ) -> HTMLResponse:
        """A page that only says something (a refusal, mostly)."""
        return self.render(
            request, "message.html", None, status_code, title=title, text=text, sign_in=sign_in
        )

    def page(self, handler: Page) -> Route:
        """A GET that wants a session: signed out, it goes to the sign-in form."""

        async def guarded(request: Request) -> Response:
            if (off := self.console_off(request)) is not None:
                return off
            session = await self.sessions.current(request)
            if session is None and request.headers.get("HX-Request"):
                # A page's own refresh: send the whole page to the sign-in form, not the div.
                return Response(status_code=204, headers={"HX-Redirect": "/console/sign-in"})
            if session is None:
                target = request.url.path
                if request.url.query:
                    target += f"?{request.url.query}"
                return redirect("/console/sign-in?" + urlencode({"next": target}))
            return await handler(request, session)

        return guarded

    def action(self, handler: Action) -> Route:
        """A POST that wants a session and its form token; refused with nothing changed."""

        async def guarded(request: Request) -> Response:
            if (off := self.console_off(request)) is not None:
                return off
            session = await self.sessions.current(request)
            if session is None:
                return self.message(request, 401, "Signed out", _SESSION_ENDED, sign_in=True)
            form = {key: str(value) for key, value in (await request.form()).items()}
            if not self.sessions.form_token_ok(session, form.get(FORM_FIELD)):
                await self.audit("console.form_refused", request.url.path, {})
                return self.message(request, 403, "Form refused", _FORM_REFUSED)
            return await handler(request, session, form)

        return guarded

    def console_off(self, request: Request) -> Response | None:
        """The answer while the console is off (no operator token), else None."""
        if self.sessions.enabled:
            return None
        return self.message(request, 503, "Console off", _CONSOLE_OFF)

    async def audit(self, action: str, subject: str, detail: dict[str, Any]) -> None:
        async with self.parts.store.transaction() as tx:
            await tx.audit_log.append(actor=ACTOR, action=action, subject=subject, detail=detail)


def next_path(value: str | None) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    if value and value.startswith("/console/") and not value.startswith("/console//"):
        return value
    return HOME


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def back(path: str, **message: str) -> RedirectResponse:
    """Back to ``path`` after a form, with what happened shown there (escaped)."""
    query = "&".join(f"{key}={quote(value)}" for key, value in message.items())
    return redirect(f"{path}?{query}" if query else path)


def _secure_headers(response: Response) -> None:
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self' https:; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
