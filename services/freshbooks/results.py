"""What one write attempt did, before it becomes a ``SyncOutcome`` on the bus."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.outcomes import OutcomeStatus

__all__ = ["WriteResult"]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """``operation`` names the calls made, joined by ``+`` (``compare`` when none was)."""

    status: OutcomeStatus
    operation: str
    target_ids: dict[str, str] = field(default_factory=dict)
    detail: str = ""
