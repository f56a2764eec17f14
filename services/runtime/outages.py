"""Is an error an outage of what the service stands on (the state store, the broker), not
a fault of the message being handled?

The difference decides what happens to the message (:mod:`services.runtime.dead_letters`):
a message that fails on its own is tried a few times and then dead-lettered, so the
partition moves on; a message that fails because the store or Kafka is down would fail
the same way for every message behind it, and dead-lettering them all would turn a
minute's outage into a queue of replays for an operator. Those wait, in place, until the
dependency is back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import httpx
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
)
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

__all__ = ["VendorThrottledError", "is_outage", "is_throttled"]

_UNREACHABLE: Final = (
    ConnectionError,  # refused or reset, outside an HTTP error: the store driver's
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
)
# PostgreSQL's SQLSTATE classes for "not now": 08 connection exception, 57P operator
# intervention (a terminated session, a server shutting down or starting up), 53 out of
# resources (too many connections).
_STORE_DOWN_STATES: Final = ("08", "57P", "53")
_CHAIN_DEPTH: Final = 8  # an outage is found within a few causes, or not at all


class VendorThrottledError(Exception):
    """A vendor said "not now" to our request rate (a 429, or its body's code for one).

    Vendor clients raise their own error for it, with this as a base: every message behind
    this one would meet the same answer until the vendor's window turns, so the message
    waits in place like an outage instead of spending its attempts and being dead-lettered.
    (A vendor's daily quota spent is not this: its sink parks the work until the reset.)
    """


def is_throttled(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from, is a vendor's throttling."""
    return any(isinstance(seen, VendorThrottledError) for seen in _causes(error))


def is_outage(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from, says the store or Kafka is down.

    Only explicit causes (``raise ... from``) are followed, not the errors being handled
    when it was raised, and never through an HTTP error: a vendor's refused connection
    (httpx's error, raised from the socket's) is the vendor's matter, which its sink
    decides, not an outage of ours.
    """
    for seen in _causes(error):
        if isinstance(seen, httpx.HTTPError):
            return False
        if _is_outage_itself(seen):
            return True
    return False


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the errors it was explicitly raised from, nearest first."""
    seen: BaseException | None = error
    for _ in range(_CHAIN_DEPTH):
        if seen is None:
            return
        yield seen
        seen = seen.__cause__


def _is_outage_itself(error: BaseException) -> bool:
    if isinstance(error, _UNREACHABLE):
        return True
    if isinstance(error, OperationalError | InterfaceError):
        return True  # SQLAlchemy's word for "the database, not the statement"
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        state = getattr(error.orig, "sqlstate", None)
        return isinstance(state, str) and state.startswith(_STORE_DOWN_STATES)
    return False
