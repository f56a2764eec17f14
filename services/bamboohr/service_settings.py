"""The BambooHR service's runtime settings: the shared ``MLC_`` ones, named "bamboohr".

The service name is the consumer group, the dead-letter topic (``dlq.bamboohr``) and the
``service`` of its rows in the state store. BambooHR's own facts are in ``settings.py``
(``MLC_BAMBOOHR_``).
"""

from __future__ import annotations

from pydantic import Field

from services.runtime.settings import RuntimeSettings

__all__ = ["BambooHRServiceSettings"]


class BambooHRServiceSettings(RuntimeSettings):
    service_name: str = Field(
        default="bamboohr", description="Name used in logs, group ids and dlq.<service>."
    )
