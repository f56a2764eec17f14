"""A people-zoho link's reconcile interval: its option, the default, off, and a typo."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from schemas.envelope import utcnow
from services.runtime.store.records import LinkRecord
from services.zoho.source import RECONCILE_EVERY, link_interval


def _link(**options: Any) -> LinkRecord:
    now = utcnow()
    return LinkRecord(
        id="l1",
        source_connection_id="b",
        target_connection_id="z",
        flow="people-zoho",
        options=options,
        enabled=True,
        created_at=now,
        updated_at=now,
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, timedelta(seconds=900)),
        ({RECONCILE_EVERY: 3600}, timedelta(hours=1)),
        ({RECONCILE_EVERY: " 120 "}, timedelta(minutes=2)),
        ({RECONCILE_EVERY: "off"}, None),
        ({RECONCILE_EVERY: "Disabled"}, None),
        # Under a minute, or no number at all: the default, never "never".
        ({RECONCILE_EVERY: 5}, timedelta(seconds=900)),
        ({RECONCILE_EVERY: "15m"}, timedelta(seconds=900)),
    ],
)
def test_the_interval_comes_from_the_link_option_or_the_default(
    options: dict[str, Any], expected: timedelta | None
) -> None:
    assert link_interval(_link(**options), 900) == expected
