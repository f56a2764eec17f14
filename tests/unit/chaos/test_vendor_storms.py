"""R3's verdict and page: each storm is judged from its own counts; a storm the sandbox never
fired, a lost or doubled effect, a revoked connection not shown broken, or a rotation that
lost its connection turns it MISSED, and the page shows the report's figures."""

from __future__ import annotations

from dataclasses import replace

import httpx

from chaos.vendor_storms import (
    RotationResult,
    StormReport,
    StormResult,
    _consumer_lag,
    storm_markdown,
    storm_passed,
)


def _storm(**changes: object) -> StormResult:
    storm = StormResult(
        vendor="freshbooks",
        kind="429 burst",
        records=7,
        effects=7,
        landed_once=7,
        duplicated=0,
        lost=0,
        waiting_with_cause=0,
        fired=13,
        seconds=4.0,
    )
    return replace(storm, **changes)  # type: ignore[arg-type]


def _revoked(**changes: object) -> StormResult:
    revoked = {
        "kind": "revoked token",
        "landed_once": 0,
        "waiting_with_cause": 7,
        "connection_status": "broken",
        "cause": "freshbooks failed: OAuthRefusedError: revoked; connection c1 is broken",
        "replayed": 3,
        "landed_after_reconnect": 7,
    }
    return _storm(**{**revoked, **changes})


def _rotation(**changes: object) -> RotationResult:
    rotation = RotationResult(
        vendor="freshbooks",
        replicas=("freshbooks", "freshbooks-2"),
        rounds=37,
        rotations=37,
        refresh_refused=0,
        connection_lost=False,
        records=74,
        landed_once=74,
        duplicated=0,
        lost=0,
        writes_by_replica={"freshbooks": 40, "freshbooks-2": 34},
    )
    return replace(rotation, **changes)  # type: ignore[arg-type]


def _report(*storms: StormResult, rotation: RotationResult | None = None) -> StormReport:
    return StormReport(storms=storms, rotation=rotation, rotations_asked=37, skipped=())


def test_storms_that_land_everything_once_and_a_kept_rotation_pass() -> None:
    assert storm_passed(_report(_storm(), _revoked(), rotation=_rotation()))


def test_a_storm_fired_by_nobody_or_losing_or_doubling_an_effect_is_missed() -> None:
    assert not storm_passed(_report(_storm(fired=0)))
    assert not storm_passed(_report(_storm(landed_once=6, lost=1)))
    assert not storm_passed(_report(_storm(landed_once=6, duplicated=1)))
    # Waiting with its cause is an answer; an effect neither landed nor waiting is not.
    assert storm_passed(_report(_storm(landed_once=6, waiting_with_cause=1)))
    assert not storm_passed(_report(_storm(landed_once=6)))
    assert not storm_passed(_report())


def test_a_revoked_token_must_show_the_connection_broken_with_a_cause_and_land_after() -> None:
    assert not storm_passed(_report(_revoked(connection_status="active")))
    assert not storm_passed(_report(_revoked(cause="")))
    assert not storm_passed(_report(_revoked(landed_after_reconnect=6)))


def test_a_rotation_that_lost_its_connection_or_fell_short_is_missed() -> None:
    storm = _storm()
    assert not storm_passed(_report(storm, rotation=_rotation(connection_lost=True)))
    assert not storm_passed(_report(storm, rotation=_rotation(refresh_refused=1)))
    assert not storm_passed(_report(storm, rotation=_rotation(rotations=36)))
    assert not storm_passed(_report(storm, rotation=_rotation(landed_once=73, lost=1)))
    assert not storm_passed(_report(storm, rotation=_rotation(broke_off="ValueError: x")))


def test_the_page_shows_the_reports_figures_and_verdicts() -> None:
    page = storm_markdown(
        _report(_storm(), _storm(vendor="bamboohr", fired=0), _revoked(), rotation=_rotation())
    )
    assert page[0] == "## R3: vendor storms"
    assert "| freshbooks | 429 burst | 7 | 7 | 7 | 0 | 0 | 0 | 13 | 4 | met |" in page
    assert "| bamboohr | 429 burst | 7 | 7 | 7 | 0 | 0 | 0 | 0 | 4 | MISSED |" in page
    text = "\n".join(page)
    assert "became `broken`" in text
    assert "Reconnected in place and 3 dead letters replayed: 7 of 7 effects then" in text
    assert "| 37 of 37 | 0 | no | 74 | 74 | 0 | 0 | freshbooks 40, freshbooks-2 34 | met |" in text
    assert "What it means:" in text


async def test_the_lag_read_before_a_revoked_token_storm_sums_every_process_and_partition() -> None:
    pages = {
        "bamboohr": (
            "# HELP mlc_consumer_lag_messages ...\n"
            'mlc_consumer_lag_messages{group="bamboohr",topic="raw.bamboohr",partition="0"} 3.0\n'
            'mlc_consumer_lag_messages{group="bamboohr",topic="raw.bamboohr",partition="1"} 0.0\n'
            "mlc_other_total 99.0\n"
        ),
        "zoho": (
            'mlc_consumer_lag_messages{group="zoho",topic="people.employee",partition="4"} 512.0\n'
        ),
    }

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host not in pages:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, text=pages[request.url.host])

    urls = ["http://bamboohr", "http://zoho"]
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        assert await _consumer_lag(urls, http) == 515.0
        # A process that does not answer (restarting) leaves the backlog unknown, not 0.
        assert await _consumer_lag([*urls, "http://restarting"], http) is None
