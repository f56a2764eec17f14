"""Which errors are an outage of the store or Kafka (the message waits) and which are the
message's own (retried, then dead-lettered)."""

from __future__ import annotations

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from services.runtime.outages import VendorThrottledError, is_outage, is_throttled


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _dbapi(sqlstate: str, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, _DriverError(sqlstate), connection_invalidated=invalidated)


def _wrapped(error: BaseException) -> RuntimeError:
    try:
        raise error
    except BaseException as cause:
        try:
            raise RuntimeError("the sink could not read its ledger") from cause
        except RuntimeError as wrapped:
            return wrapped


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        ConnectionResetError(104, "reset by peer"),
        OperationalError("SELECT 1", {}, Exception("database is locked")),
        _dbapi("57P01"),  # terminating connection due to administrator command
        _dbapi("57P03"),  # the database system is starting up
        _dbapi("08006"),  # connection failure
        _dbapi("53300"),  # too many connections
        _dbapi("23505", invalidated=True),
        KafkaConnectionError("broker down"),
        KafkaTimeoutError(),
        _wrapped(ConnectionRefusedError(111, "refused")),
    ],
    ids=lambda e: type(e).__name__ + ":" + str(getattr(getattr(e, "orig", None), "sqlstate", "")),
)
def test_the_store_or_kafka_being_down_is_an_outage(error: BaseException) -> None:
    assert is_outage(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("no such department"),
        IntegrityError("INSERT", {}, _DriverError("23505")),
        _dbapi("23505"),  # a unique violation: the statement's fault
        _dbapi("22P02"),  # invalid text representation
        KeyError("employee"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_fault_of_the_message_or_the_code_is_not_an_outage(error: BaseException) -> None:
    assert not is_outage(error)


def test_a_vendor_that_refuses_connections_is_the_vendors_matter_not_an_outage() -> None:
    # httpx raises its ConnectError from the socket's ConnectionRefusedError.
    refused = _wrapped(ConnectionRefusedError(111, "refused"))
    vendor_down = httpx.ConnectError("All connection attempts failed")
    vendor_down.__cause__ = refused

    assert not is_outage(vendor_down)
    assert not is_outage(_wrapped(vendor_down))


def test_an_error_merely_raised_while_handling_an_outage_is_not_one() -> None:
    bug = ValueError("a bug in the except block")
    bug.__context__ = ConnectionRefusedError(111, "refused")

    assert not is_outage(bug)


def test_a_vendor_throttling_us_is_waited_out_wherever_it_sits_in_the_causes() -> None:
    class SomeVendorThrottledError(VendorThrottledError):
        pass

    throttled = SomeVendorThrottledError("429: too many requests per minute")
    wrapped = RuntimeError("the sink gave up this try")
    wrapped.__cause__ = throttled
    assert is_throttled(throttled)
    assert is_throttled(wrapped)
    assert not is_throttled(RuntimeError("a 400 is the message's own fault"))
    assert not is_outage(throttled)  # a vendor's answer, not our store or broker
