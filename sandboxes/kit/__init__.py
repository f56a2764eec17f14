"""The sandbox kit: everything a vendor simulator shares. See `sandboxes/kit/README.md`."""

from sandboxes.kit.app import SandboxApp, build_app
from sandboxes.kit.clock import SandboxClock
from sandboxes.kit.faults import FaultInjector, FaultSpec
from sandboxes.kit.limits import Limiter, LimitPolicy, LimitRefusal
from sandboxes.kit.oauth import (
    Grant,
    IssuedTokens,
    OAuthClient,
    OAuthError,
    OAuthPolicy,
    OAuthProvider,
)
from sandboxes.kit.pagination import Page, page_of
from sandboxes.kit.requestlog import LoggedRequest, RequestLog
from sandboxes.kit.sandbox import Action, ActionError, VendorSandbox
from sandboxes.kit.server import RunningServer, ServerStartError, run_servers, serve
from sandboxes.kit.state import Record, Seed, State, UnknownCollectionError
from sandboxes.kit.waiting import wait_until
from sandboxes.kit.webhooks import DeliveryRecord, WebhookConfig, WebhookDispatcher

__all__ = [
    "Action",
    "ActionError",
    "DeliveryRecord",
    "FaultInjector",
    "FaultSpec",
    "Grant",
    "IssuedTokens",
    "LimitPolicy",
    "LimitRefusal",
    "Limiter",
    "LoggedRequest",
    "OAuthClient",
    "OAuthError",
    "OAuthPolicy",
    "OAuthProvider",
    "Page",
    "Record",
    "RequestLog",
    "RunningServer",
    "SandboxApp",
    "SandboxClock",
    "Seed",
    "ServerStartError",
    "State",
    "UnknownCollectionError",
    "VendorSandbox",
    "WebhookConfig",
    "WebhookDispatcher",
    "build_app",
    "page_of",
    "run_servers",
    "serve",
    "wait_until",
]
