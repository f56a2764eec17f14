"""The state store: SQLite (embedded default) or PostgreSQL, via SQLAlchemy's async Core.

Open it with :meth:`StateStore.open` (which migrates to head), work in
``async with store.transaction() as tx:`` and use ``tx.<table>`` repositories.
"""

from services.runtime.store.audit_log import AuditLog
from services.runtime.store.configuration import Connections, Credentials, Links, Mappings
from services.runtime.store.engine import DATABASE_URL_VARIABLE, create_engine, describe_url
from services.runtime.store.errors import (
    RecordNotFoundError,
    StaleRevisionError,
    StoreError,
    StorePermissionError,
)
from services.runtime.store.leases import Leases
from services.runtime.store.records import (
    AuditRecord,
    ConnectionRecord,
    CrossReference,
    Lease,
    LedgerEntry,
    LinkRecord,
    Mapping,
    PlannedWrite,
    ReplayPartRecord,
    ReplayRecord,
    ReviewItem,
    ReviewStatus,
    StoredCredential,
)
from services.runtime.store.replays import PartRange, Replays
from services.runtime.store.repositories import Repositories, StateStore
from services.runtime.store.review_queue import ReviewQueue
from services.runtime.store.schema import head_revision, migrate, schema_revision
from services.runtime.store.statements import insert_on_conflict
from services.runtime.store.sync_state import CrossReferences, IdempotencyLedger, Watermarks

__all__ = [
    "DATABASE_URL_VARIABLE",
    "AuditLog",
    "AuditRecord",
    "ConnectionRecord",
    "Connections",
    "Credentials",
    "CrossReference",
    "CrossReferences",
    "IdempotencyLedger",
    "Lease",
    "Leases",
    "LedgerEntry",
    "LinkRecord",
    "Links",
    "Mapping",
    "Mappings",
    "PartRange",
    "PlannedWrite",
    "RecordNotFoundError",
    "ReplayPartRecord",
    "ReplayRecord",
    "Replays",
    "Repositories",
    "ReviewItem",
    "ReviewQueue",
    "ReviewStatus",
    "StaleRevisionError",
    "StateStore",
    "StoreError",
    "StorePermissionError",
    "StoredCredential",
    "Watermarks",
    "create_engine",
    "describe_url",
    "head_revision",
    "insert_on_conflict",
    "migrate",
    "schema_revision",
]
