"""Acumatica facts as settings (prefix ``MLC_ACUMATICA_``).

The instance URL, tenant and endpoint version are per connection (its credentials); what
is here is the same for every connection.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["AcumaticaSettings"]


class AcumaticaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLC_ACUMATICA_", extra="ignore")

    ping_entity: str = Field(
        default="Employee", description="Entity read by `mlc connections ping` (one record)."
    )
    ping_select: str = Field(
        default="EmployeeID", description="Field the ping selects, to keep the read small."
    )
