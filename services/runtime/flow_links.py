"""The enabled links of one flow at one end of a connection: what every sink looks up."""

from __future__ import annotations

from typing import Literal

from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord

__all__ = ["flow_links"]


async def flow_links(
    store: StateStore, connection_id: str, flow: str, *, end: Literal["source", "target"]
) -> list[LinkRecord]:
    """Enabled ``flow`` links whose ``end`` (source or target) is ``connection_id``."""
    async with store.reading() as repos:
        links = await repos.links.list(connection_id=connection_id, enabled_only=True)
    return [
        link
        for link in links
        if link.flow == flow
        and (link.source_connection_id if end == "source" else link.target_connection_id)
        == connection_id
    ]
