"""docs/reliability.md's verdicts: each figure that ran is judged from its own counts, and a
single lost, doubled or restarted thing turns it MISSED."""

from __future__ import annotations

from dataclasses import replace

from chaos.hostile_requests import HostileReport
from chaos.kills import KillReport
from chaos.outages import OutageReport
from chaos.report import passed, render_markdown
from chaos.run import ChaosResult
from chaos.secret_scan import ScanReport
from chaos.store_faults import StoreDropReport
from chaos.workload import Census


def _census(*, lost: int = 0, doubled: int = 0) -> Census:
    examples = [f"BILL bill for CH-r1-{n}: none" for n in range(lost)]
    return Census(
        landed={"FreshBooks team member": 40, "BILL bill": 10 - lost - doubled},
        lost={"FreshBooks team member": 0, "BILL bill": lost},
        duplicated={"FreshBooks team member": 0, "BILL bill": doubled},
        examples=examples,
    )


def _outage(stopped: str, *, status: int = 503, restarted: list[str] | None = None) -> OutageReport:
    return OutageReport(
        stopped=stopped,
        outage_seconds=61.0,
        events=40,
        events_during=30,
        deliveries_during={"503": 12, "timeout": 3},
        resent_status=status,
        resent_retry_after="30" if status == 503 else "",
        effects_expected=50,
        census=_census(),
        restarted=restarted or [],
        settle_seconds=20.0,
    )


def _result() -> ChaosResult:
    return ChaosResult(
        hostile=HostileReport(sent=1_000),
        hostile_seconds=3.0,
        edge_up_after=True,
        genuine_accepted=True,
        scan=ScanReport(secrets=31),
        kills=KillReport(
            kills=100,
            by_process={"ingest": 14, "freshbooks": 16},
            events=1_000,
            effects_expected=50,
            census=_census(),
            seconds=900.0,
            settle_seconds=30.0,
            slowest_restart_seconds=12.0,
        ),
        outage=_outage("Kafka"),
        store_outage=_outage("PostgreSQL"),
        store_drops=StoreDropReport(
            replicas=["bamboohr-2", "freshbooks-2"],
            drops=50,
            sessions_dropped=400,
            events=500,
            effects_expected=50,
            census=_census(),
            restarted=[],
            settle_seconds=10.0,
        ),
    )


def test_every_figure_that_ran_is_judged_and_met_when_nothing_went_wrong() -> None:
    result = _result()

    assert passed(result) == {"R1": True, "R2": True, "R6": True, "R4": True, "R5": True}
    page = render_markdown(result, command="make chaos", requests=1_000, seed=1)
    assert "MISSED" not in page
    for heading in ("## R1: SIGKILLs", "## R2: Kafka stopped", "## R2: PostgreSQL stopped",
                    "## R6: the store's connections dropped"):  # fmt: skip
        assert heading in page
    assert "| R1 effects lost after 100 SIGKILLs | 0 of 50 | 0 | met |" in page
    assert "ingest 14" in page


def test_a_figure_not_run_is_neither_judged_nor_shown() -> None:
    result = replace(_result(), kills=None, outage=None, store_outage=None, store_drops=None)

    assert set(passed(result)) == {"R4", "R5"}
    page = render_markdown(result, command="make chaos", requests=1_000, seed=1)
    assert "## R1" not in page
    assert "## R6" not in page


def test_one_lost_effect_one_duplicate_or_one_restart_misses_its_figure() -> None:
    lost = _result()
    assert lost.kills is not None
    lost.kills = replace(lost.kills, census=_census(lost=1))
    assert passed(lost)["R1"] is False
    page = render_markdown(lost, command="make chaos", requests=1_000, seed=1)
    assert "| R1 effects lost after 100 SIGKILLs | 1 of 50 | 0 | MISSED |" in page
    assert "- BILL bill for CH-r1-0: none" in page

    doubled = _result()
    assert doubled.store_drops is not None
    doubled.store_drops = replace(doubled.store_drops, census=_census(doubled=1))
    assert passed(doubled)["R6"] is False

    restarted = replace(_result(), store_outage=_outage("PostgreSQL", restarted=["bamboohr"]))
    assert passed(restarted)["R2"] is False
    unanswered = replace(_result(), outage=_outage("Kafka", status=500))
    assert passed(unanswered)["R2"] is False


def test_a_figure_that_broke_off_is_missed_with_its_reason_and_not_listed_as_skipped() -> None:
    result = replace(_result(), outage=None, broke_off={"R2 (Kafka)": "TimeoutError: no answer"})

    assert passed(result)["R2"] is False
    page = render_markdown(result, command="make chaos", requests=1_000, seed=1)
    assert "| R2 (Kafka) broke off before its count | TimeoutError: no answer |" in page
    assert "- R2 (Kafka) (" not in page
