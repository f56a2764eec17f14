"""Reading raw.<vendor>: each kind of raw event to its handler, and one policy for the rest."""

from __future__ import annotations

import pytest

from schemas import EventDecodeError
from schemas.envelope import utcnow
from schemas.people import EmployeeChanged
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from services.runtime.publishing import encode_event
from services.runtime.raw_dispatch import UndecodableMessageError, decode_raw, dispatch_raw


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
