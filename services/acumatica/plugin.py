"""Acumatica as the control plane sees it: a password or OAuth connection, its ping (no webhooks).

No sandbox settings: the instance URL is part of each connection, so pointing a connection
at the sandbox is the connection's business.
"""

from __future__ import annotations

from schemas.people import DepartmentChanged, EmployeeChanged
from services.acumatica.access import FLOW
from services.acumatica.auth import AcumaticaOAuth
from services.acumatica.connection import CREDENTIALS
from services.acumatica.ping import AcumaticaPing
from services.acumatica.settings import AcumaticaSettings
from services.runtime.settings import load_settings
from services.runtime.vendor_plugin import FlowSink, VendorPlugin

__all__ = ["PLUGIN"]

PLUGIN = VendorPlugin(
    name="acumatica",
    credentials=CREDENTIALS,
    key_ping=lambda: AcumaticaPing(load_settings(AcumaticaSettings)),
    oauth=lambda: AcumaticaOAuth(load_settings(AcumaticaSettings)),
    # Departments first: an employee names one.
    sinks=(
        FlowSink(FLOW, DepartmentChanged.topic_name),
        FlowSink(FLOW, EmployeeChanged.topic_name),
    ),
)
