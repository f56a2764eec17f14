"""Signing in and out: the operator token once, then the session cookie (``sessions.py``)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from services.control.console.kit import HOME, Console, next_path, redirect
from services.control.console.sessions import SignedIn

__all__ = ["add_routes"]


def add_routes(router: APIRouter, console: Console) -> None:
    """Add this page's routes to the console's router."""

    @router.get("")
    async def home() -> Response:
        return redirect(HOME)

    @router.get("/sign-in")
    async def sign_in_form(request: Request) -> Response:
        if (off := console.console_off(request)) is not None:
            return off
        if await console.sessions.current(request) is not None:
            return redirect(next_path(request.query_params.get("next")))
        return console.render(
            request, "sign_in.html", None, next=next_path(request.query_params.get("next"))
        )

    @router.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        if (off := console.console_off(request)) is not None:
            return off
        form = await request.form()
        target = next_path(str(form.get("next") or ""))
        if not console.sessions.token_ok(str(form.get("token") or "")):
            await console.audit("console.sign_in_refused", "console", {})
            return console.render(
                request,
                "sign_in.html",
                None,
                401,
                next=target,
                refused="That is not the operator token (MLC_OPERATOR_TOKEN). Try again.",
            )
        response = redirect(target)
        await console.sessions.sign_in(response, secure=request.url.scheme == "https")
        await console.audit("console.signed_in", "console", {})
        return response

    async def sign_out(request: Request, session: SignedIn, _: dict[str, str]) -> Response:
        response = redirect("/console/sign-in?" + urlencode({"notice": "Signed out."}))
        await console.sessions.sign_out(session, response)
        await console.audit("console.signed_out", "console", {})
        return response

    router.add_api_route("/sign-out", console.action(sign_out), methods=["POST"])
