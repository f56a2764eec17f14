"""The connections page: each vendor account, its webhook or polling, ping; add one (a
form for key vendors, the consent page for OAuth ones), reconnect an OAuth one in place,
register webhooks anew, remove."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from services.control.connections import (
    CREDENTIAL_SPECS,
    ConnectionConflictError,
    ConnectionInputError,
    ConnectionNotFoundError,
    WebhookVendorError,
)
from services.control.console.kit import Console, back
from services.control.console.sessions import SignedIn

__all__ = ["add_routes"]


def add_routes(router: APIRouter, console: Console) -> None:
    """Add this page's routes to the console's router."""

    async def connections(request: Request, session: SignedIn) -> Response:
        views = await console.parts.operations.list_connections()
        return console.render(
            request,
            "connections.html",
            session,
            connections=views,
            key_specs=[CREDENTIAL_SPECS[name] for name in sorted(CREDENTIAL_SPECS)],
            oauth_vendors=console.parts.oauth_vendors,
        )

    async def add_key_connection(
        request: Request, session: SignedIn, form: dict[str, str]
    ) -> Response:
        vendor = form.get("vendor", "")
        credentials = _prefixed(form, "field:")
        try:
            view = await console.parts.operations.add_connection(
                vendor=vendor,
                display_name=form.get("display_name", "").strip() or vendor,
                tenant_id=form.get("tenant_id", "").strip() or None,
                credentials=credentials,
            )
        except (ConnectionInputError, ConnectionConflictError, WebhookVendorError) as exc:
            return back("/console/connections", error=str(exc))
        return back("/console/connections", notice=f"connection {view.record.id} added")

    async def start_consent(request: Request, session: SignedIn, form: dict[str, str]) -> Response:
        if console.parts.flow is None:
            return back("/console/connections", error="OAuth consent is not configured here")
        vendor = form.get("vendor", "")
        options = _prefixed(form, "option:")
        name = form.get("display_name", "").strip() or vendor
        try:
            connection_id, url = await console.parts.flow.start(
                vendor,
                tenant_id=form.get("tenant_id", "").strip() or "default",
                display_name=name,
                options=options,
            )
        except KeyError as exc:
            return back("/console/connections", error=str(exc.args[0]))
        except ValueError as exc:
            return back("/console/connections", error=str(exc))
        what = f"Connection {connection_id} ({name}) waits for your consent"
        return _to_consent(console, request, session, vendor=vendor, what=what, url=url)

    router.add_api_route("/connections", console.page(connections), methods=["GET"])
    router.add_api_route("/connections", console.action(add_key_connection), methods=["POST"])
    router.add_api_route("/connections/consent", console.action(start_consent), methods=["POST"])
    _add_account_routes(router, console)


def _add_account_routes(router: APIRouter, console: Console) -> None:
    """One connection's buttons: ping, reconnect (OAuth), register webhooks anew, remove
    (confirmed)."""

    async def ping(request: Request, session: SignedIn, _: dict[str, str]) -> Response:
        connection_id = request.path_params["connection_id"]
        if console.parts.flow is None:
            return back("/console/connections", error="ping is not available here")
        verdict = await console.parts.flow.ping(connection_id)
        text = f"{connection_id}: {'ok' if verdict.ok else 'broken'}: {verdict.detail}"
        if verdict.action:
            text += f" Next step: {verdict.action}"
        key = "notice" if verdict.ok else "error"
        return back("/console/connections", **{key: text})

    async def reconnect(request: Request, session: SignedIn, _: dict[str, str]) -> Response:
        connection_id = request.path_params["connection_id"]
        if console.parts.flow is None:
            return back("/console/connections", error="OAuth consent is not configured here")
        try:
            view = await console.parts.operations.show_connection(connection_id)
            url = await console.parts.flow.reconnect(connection_id)
        except KeyError as exc:
            return back("/console/connections", error=str(exc.args[0]))
        except (LookupError, ValueError) as exc:
            return back("/console/connections", error=str(exc))
        what = (
            f"Reconnecting {connection_id} ({view.record.display_name}): its links and "
            "settings are kept, and it needs a consent for the same account"
        )
        return _to_consent(console, request, session, vendor=view.record.vendor, what=what, url=url)

    async def webhooks(request: Request, session: SignedIn, _: dict[str, str]) -> Response:
        connection_id = request.path_params["connection_id"]
        try:
            view = await console.parts.operations.register_webhooks(connection_id)
        except (ConnectionNotFoundError, ConnectionConflictError, WebhookVendorError) as exc:
            return back("/console/connections", error=str(exc))
        state = view.record.settings.get("webhook", {}).get("state", "registered")
        return back("/console/connections", notice=f"{connection_id}: webhook {state}")

    async def confirm_remove(request: Request, session: SignedIn) -> Response:
        connection_id = request.path_params["connection_id"]
        try:
            view = await console.parts.operations.show_connection(connection_id)
        except ConnectionNotFoundError as exc:
            return back("/console/connections", error=str(exc))
        async with console.parts.store.transaction() as tx:
            linked = await tx.links.list(connection_id=connection_id)
        return console.render(
            request, "confirm_remove.html", session, connection=view, links=linked
        )

    async def remove(request: Request, session: SignedIn, form: dict[str, str]) -> Response:
        connection_id = request.path_params["connection_id"]
        if form.get("confirm") != connection_id:
            return back(
                "/console/connections",
                error=f"not removed: type the connection id {connection_id} to confirm",
            )
        try:
            await console.parts.operations.remove_connection(connection_id)
        except (ConnectionNotFoundError, ConnectionConflictError) as exc:
            return back("/console/connections", error=str(exc))
        return back("/console/connections", notice=f"connection {connection_id} removed")

    router.add_api_route(
        "/connections/{connection_id}/ping", console.action(ping), methods=["POST"]
    )
    router.add_api_route(
        "/connections/{connection_id}/reconnect", console.action(reconnect), methods=["POST"]
    )
    router.add_api_route(
        "/connections/{connection_id}/webhooks", console.action(webhooks), methods=["POST"]
    )
    router.add_api_route(
        "/connections/{connection_id}/remove", console.page(confirm_remove), methods=["GET"]
    )
    router.add_api_route(
        "/connections/{connection_id}/remove", console.action(remove), methods=["POST"]
    )


def _to_consent(
    console: Console, request: Request, session: SignedIn, *, vendor: str, what: str, url: str
) -> Response:
    """A page with a link to the vendor's consent page. Not a redirect: the console's
    policy lets a form lead only to itself (and https), and a link is the person's own
    step out to the vendor."""
    return console.render(
        request, "consent.html", session, vendor=vendor, what=what, consent_url=url
    )


def _prefixed(form: dict[str, str], prefix: str) -> dict[str, str]:
    """The form's filled fields named ``<prefix><name>``, by name (credentials, options)."""
    return {
        name.removeprefix(prefix): value
        for name, value in form.items()
        if name.startswith(prefix) and value
    }
