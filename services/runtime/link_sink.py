"""What a sink offers per link, so a replay or a preview can drive it one link at a time.

A sink's subscriber takes a canonical event and writes it for every link it concerns. A
replay (``mlc replay --link``) re-drives the events of *one* link, and a preview (a dry run)
asks what the writes would be without making them. Both go through these three methods, so
they do exactly what the subscriber does for that link, no more:

- :meth:`LinkSink.accepts`: whether the subscriber hands ``event`` to ``link`` at all (the
  event comes from the link's source, the link's options want that kind, ...);
- :meth:`LinkSink.apply`: the subscriber's whole write for that link (review items queued
  included), returning the outcome instead of publishing it;
- :meth:`LinkSink.preview`: the same decisions against the target as it is now, with reads
  only: no write to the vendor, nothing in the store (no cross-reference, review item or
  mapping), no lease.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from schemas.snapshot import Snapshot
from services.runtime.outcomes import WriteResult
from services.runtime.store.records import LinkRecord

__all__ = ["LinkSink"]

EventT_contra = TypeVar("EventT_contra", bound=Snapshot, contravariant=True)


class LinkSink(Protocol[EventT_contra]):
    """A sink, per link: accepts, apply, preview (see the module's docstring)."""

    def accepts(self, event: EventT_contra, link: LinkRecord) -> bool: ...

    async def apply(self, event: EventT_contra, link: LinkRecord) -> WriteResult: ...

    async def preview(self, event: EventT_contra, link: LinkRecord) -> WriteResult: ...
