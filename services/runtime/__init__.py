"""The runtime kit every service imports: settings, logging, Kafka wiring, HTTP
policy, vault, state store, webhook signature helpers, and the sink and source kit
(outcomes, the idempotent upsert, raw-topic dispatch, snapshot diffing). It names no vendor.

This module is the public surface and nothing else; the modules behind it hold
one idea each (see docs/architecture.md).
"""

from services.runtime.audit_trail import AuditEntry, format_chain, read_chain
from services.runtime.bus import ACK_POLICY, create_broker, subscriber
from services.runtime.dead_letters import HandlerRetryPolicy, UndecodableMessageError
from services.runtime.http import DEFAULT_TIMEOUT, Page, PaginationLoopError, build_client, paginate
from services.runtime.logging import configure_logging, get_logger, redact, redact_text
from services.runtime.outcomes import BusPublisher, OutcomePublisher, Outcomes, WriteResult
from services.runtime.publishing import encode_event, publish, stamp
from services.runtime.ratelimit import RatePolicy
from services.runtime.raw_dispatch import RawHandlers, RefusedReads, decode_raw, dispatch_raw
from services.runtime.retry import RetryPolicy, parse_retry_after
from services.runtime.settings import RuntimeSettings, SettingsError, load_settings
from services.runtime.signatures import (
    VerificationError,
    check_window,
    constant_time_equals,
    decode_signature,
    hmac_sha256,
    parse_timestamp,
    verify_hmac_sha256,
)
from services.runtime.snapshots import PublishedSnapshots
from services.runtime.store import StateStore
from services.runtime.topics_admin import ensure_topics
from services.runtime.upsert import IdempotentUpsert, Known, UpsertTarget, Written
from services.runtime.vault import Vault, VaultError, generate_key_ring_entry

__all__ = [
    "ACK_POLICY",
    "DEFAULT_TIMEOUT",
    "AuditEntry",
    "BusPublisher",
    "HandlerRetryPolicy",
    "IdempotentUpsert",
    "Known",
    "OutcomePublisher",
    "Outcomes",
    "Page",
    "PaginationLoopError",
    "PublishedSnapshots",
    "RatePolicy",
    "RawHandlers",
    "RefusedReads",
    "RetryPolicy",
    "RuntimeSettings",
    "SettingsError",
    "StateStore",
    "UndecodableMessageError",
    "UpsertTarget",
    "Vault",
    "VaultError",
    "VerificationError",
    "WriteResult",
    "Written",
    "build_client",
    "check_window",
    "configure_logging",
    "constant_time_equals",
    "create_broker",
    "decode_raw",
    "decode_signature",
    "dispatch_raw",
    "encode_event",
    "ensure_topics",
    "format_chain",
    "generate_key_ring_entry",
    "get_logger",
    "hmac_sha256",
    "load_settings",
    "paginate",
    "parse_retry_after",
    "parse_timestamp",
    "publish",
    "read_chain",
    "redact",
    "redact_text",
    "stamp",
    "subscriber",
    "verify_hmac_sha256",
]
