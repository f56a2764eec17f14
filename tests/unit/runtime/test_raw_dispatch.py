"""Reading raw.<vendor>: each kind of raw event to its handler, and one policy for the rest.

A read the lost consent stops goes through a real :class:`Outcomes` whose bus edge is a list.
"""

from __future__ import annotations

import pytest

from schemas import EventDecodeError
from schemas.envelope import Event, utcnow
from schemas.outcomes import SyncOutcome
from schemas.people import EmployeeChanged
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from services.runtime.oauth_tokens import OAuthRefusedError
from services.runtime.outcomes import Outcomes
from services.runtime.publishing import encode_event
from services.runtime.raw_dispatch import (
    RefusedReads,
    UndecodableMessageError,
    decode_raw,
    dispatch_raw,
)


class BodyOfNoKnownShapeError(ValueError):
    pass


class Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def on_delivery(self, delivery: RawDelivery) -> None:
        self.seen.append(delivery.type)
        if delivery.body == "garbage":
            raise BodyOfNoKnownShapeError("no known delivery shape")

    async def on_poll(self, tick: PollTick) -> None:
        self.seen.append(tick.type)

    async def on_reconcile(self, tick: ReconcileTick) -> None:
        self.seen.append(tick.type)


def _envelope() -> dict[str, object]:
    return {"connection_id": "conn-1", "occurred_at": utcnow(), "vendor": "acme"}


def _delivery(body: str) -> RawDelivery:
    return RawDelivery(
        **_envelope(), entity_key="d-1", delivery_id="d-1", content_type="text/plain", body=body
    )


def _tick(kind: type[PollTick] | type[ReconcileTick]) -> PollTick | ReconcileTick:
    due = utcnow().isoformat()
    return kind(**_envelope(), entity_key=f"tick:{due}", schedule="s", due_at=due)


async def test_each_kind_of_raw_event_reaches_its_handler() -> None:
    handlers = Recorder()
    for event in (_delivery("{}"), _tick(PollTick), _tick(ReconcileTick)):
        await dispatch_raw(encode_event(event), handlers)

    assert handlers.seen == ["RawDelivery", "PollTick", "ReconcileTick"]


@pytest.mark.parametrize(
    "message",
    [b"\x00 not an event", {"type": "NoSuchEvent"}, ["a", "list"], b'{"type": "RawDelivery"}'],
)
async def test_a_message_that_is_no_raw_event_is_undecodable_with_its_cause(
    message: object,
) -> None:
    with pytest.raises(UndecodableMessageError) as raised:
        await dispatch_raw(message, Recorder())

    cause = raised.value.__cause__
    assert cause is None or isinstance(cause, EventDecodeError)


async def test_an_event_that_does_not_belong_on_a_raw_topic_is_undecodable() -> None:
    employee = EmployeeChanged(
        connection_id="conn-1",
        occurred_at=utcnow(),
        source_updated_at=utcnow(),
        employee_id="7",
        status="active",
        first_name="Ada",
        last_name="Lovelace",
    )
    with pytest.raises(UndecodableMessageError, match="does not belong on a raw topic"):
        decode_raw(encode_event(employee))


async def test_a_vendor_body_of_no_known_shape_is_undecodable_with_the_vendor_error_as_cause() -> (
    None
):
    with pytest.raises(UndecodableMessageError, match="no known delivery shape") as raised:
        await dispatch_raw(
            encode_event(_delivery("garbage")), Recorder(), undecodable=(BodyOfNoKnownShapeError,)
        )

    assert isinstance(raised.value.__cause__, BodyOfNoKnownShapeError)


class ConsentGone:
    """A source whose every read the vendor refuses: the connection's consent is gone."""

    def __init__(self) -> None:
        self.refused = OAuthRefusedError("The refresh token is invalid or was revoked.")

    async def on_delivery(self, delivery: RawDelivery) -> None:
        raise self.refused

    async def on_poll(self, tick: PollTick) -> None:
        raise self.refused

    async def on_reconcile(self, tick: ReconcileTick) -> None:
        raise self.refused


class OutcomeList:
    """The bus edge of the outcomes: kept in a list, with what caused each."""

    def __init__(self) -> None:
        self.published: list[tuple[SyncOutcome, Event]] = []

    async def __call__(self, event: SyncOutcome, *, cause: Event) -> None:
        self.published.append((event, cause))


def _refused_reads(keys: tuple[str, ...]) -> tuple[RefusedReads, OutcomeList]:
    bus = OutcomeList()
    refused = RefusedReads(
        outcomes=Outcomes(bus, service="acme"),
        vendor="Acme Books",
        record_keys=lambda delivery: keys if delivery.body == "names records" else (),
    )
    return refused, bus


async def test_a_delivery_the_lost_consent_stops_fails_each_record_it_names_then_raises() -> None:
    handlers = ConsentGone()
    refused, bus = _refused_reads(("bill-7", "vendor-3"))
    delivery = _delivery("names records")

    with pytest.raises(OAuthRefusedError) as raised:
        await dispatch_raw(encode_event(delivery), handlers, refused=refused)

    assert raised.value is handlers.refused
    assert [(o.entity_key, o.status, o.operation) for o, _ in bus.published] == [
        ("bill-7", "failed", "read"),
        ("vendor-3", "failed", "read"),
    ]
    for outcome, cause in bus.published:
        assert cause.event_id == delivery.event_id
        assert (outcome.connection_id, outcome.service, outcome.link_id) == ("conn-1", "acme", None)
        assert outcome.detail == (
            "Acme Books did not let us read it: The refresh token is invalid or was revoked."
        )


async def test_a_refused_delivery_that_names_no_record_is_only_raised() -> None:
    refused, bus = _refused_reads(("bill-7",))

    with pytest.raises(OAuthRefusedError):
        await dispatch_raw(
            encode_event(_delivery("only says look")), ConsentGone(), refused=refused
        )

    assert bus.published == []


async def test_a_refused_tick_is_only_raised_as_it_names_no_record() -> None:
    refused, bus = _refused_reads(("bill-7",))

    for tick in (_tick(PollTick), _tick(ReconcileTick)):
        with pytest.raises(OAuthRefusedError):
            await dispatch_raw(encode_event(tick), ConsentGone(), refused=refused)

    assert bus.published == []


async def test_another_failure_of_a_delivery_is_no_refused_read() -> None:
    refused, bus = _refused_reads(("d-1",))

    with pytest.raises(BodyOfNoKnownShapeError):
        await dispatch_raw(encode_event(_delivery("garbage")), Recorder(), refused=refused)

    assert bus.published == []
