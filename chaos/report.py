"""``docs/reliability.md``: the machine, the command, each figure and what it means."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

from chaos.outages import OutageReport
from chaos.run import ChaosResult
from chaos.vendor_storms import storm_markdown, storm_passed
from chaos.workload import Census

__all__ = ["passed", "render_markdown", "verdict_line"]


def passed(result: ChaosResult) -> dict[str, bool]:
    """Each figure's verdict (of the figures that ran)."""
    hostile = result.hostile
    verdicts: dict[str, bool] = {}
    if result.kills is not None:
        counted = result.kills.census
        verdicts["R1"] = counted.total_lost == 0 and counted.total_duplicated == 0
    outages = [o for o in (result.outage, result.store_outage) if o is not None]
    if outages:
        verdicts["R2"] = all(_outage_met(outage) for outage in outages)
    if result.storms is not None:
        verdicts["R3"] = storm_passed(result.storms)
    if result.store_drops is not None:
        drops = result.store_drops.census
        verdicts["R6"] = (
            drops.total_lost == 0
            and drops.total_duplicated == 0
            and not result.store_drops.restarted
        )
    for name in result.broke_off:
        verdicts[name.split(" ")[0]] = False
    return verdicts | {
        "R4": hostile.server_errors == 0
        and hostile.unclear_refusals == 0
        and result.edge_up_after
        and result.genuine_accepted,
        "R5": not result.scan.found and not result.scan.loose_modes,
    }


def verdict_line(result: ChaosResult) -> str:
    """``R4 met, R5 met`` (or MISSED)."""
    return _verdicts(passed(result))


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _kill_rows(result: ChaosResult) -> list[str]:
    if result.kills is None:
        return []
    counted = result.kills.census
    return [
        f"| R1 effects lost after {result.kills.kills} SIGKILLs | {counted.total_lost:,} of "
        f"{result.kills.effects_expected:,} | 0 | {_met(counted.total_lost == 0)} |",
        f"| R1 effects duplicated | {counted.total_duplicated:,} | 0 | "
        f"{_met(counted.total_duplicated == 0)} |",
    ]


def _answered_503(outage: OutageReport) -> bool:
    return outage.resent_status == 503 and outage.resent_retry_after.isdigit()


def _outage_met(outage: OutageReport) -> bool:
    counted = outage.census
    return (
        counted.total_lost == 0
        and counted.total_duplicated == 0
        and not outage.restarted
        and _answered_503(outage)
    )


def _outage_rows(result: ChaosResult) -> list[str]:
    rows: list[str] = []
    for outage in (result.outage, result.store_outage):
        if outage is None:
            continue
        counted, what = outage.census, outage.stopped
        rows += [
            f"| R2 a delivery while {what} was down | {outage.resent_status} Retry-After "
            f"{outage.resent_retry_after or '(none)'} | 503 with Retry-After | "
            f"{_met(_answered_503(outage))} |",
            f"| R2 {what}: effects lost / duplicated | {counted.total_lost:,} / "
            f"{counted.total_duplicated:,} of {outage.effects_expected:,} | 0 / 0 | "
            f"{_met(counted.total_lost == 0 and counted.total_duplicated == 0)} |",
            f"| R2 {what}: services restarted to recover | {len(outage.restarted)} | 0 | "
            f"{_met(not outage.restarted)} |",
        ]
    return rows


def _storm_rows(result: ChaosResult) -> list[str]:
    report = result.storms
    if report is None:
        return []
    storms = report.storms
    lost = sum(storm.lost for storm in storms)
    doubled = sum(storm.duplicated for storm in storms)
    effects = sum(storm.effects for storm in storms)
    rows = [
        f"| R3 storms ({len(storms)} over {len({s.vendor for s in storms})} vendors): effects "
        f"lost / duplicated | {lost:,} / {doubled:,} of {effects:,} | 0 / 0 | "
        f"{_met(lost == 0 and doubled == 0)} |",
    ]
    rotation = report.rotation
    if rotation is not None:
        kept = not rotation.connection_lost and rotation.refresh_refused == 0
        rows.append(
            f"| R3 refresh-token rotations under two replicas, connection kept | "
            f"{rotation.rotations:,} of {report.rotations_asked:,}, "
            f"{'kept' if kept else 'LOST'} | {report.rotations_asked:,}, kept | "
            f"{_met(kept and rotation.rotations >= report.rotations_asked)} |"
        )
    rows.append(f"| R3 verdict (every storm row below) | | | {_met(storm_passed(report))} |")
    return rows


def _drop_rows(result: ChaosResult) -> list[str]:
    drops = result.store_drops
    if drops is None:
        return []
    counted = drops.census
    return [
        f"| R6 effects lost / duplicated, {2 * len(drops.replicas)} "
        f"consumer processes, {drops.drops} drops | {counted.total_lost:,} / "
        f"{counted.total_duplicated:,} of {drops.effects_expected:,} | 0 / 0 | "
        f"{_met(counted.total_lost == 0 and counted.total_duplicated == 0)} |",
        f"| R6 services restarted to recover | {len(drops.restarted)} | 0 | "
        f"{_met(not drops.restarted)} |",
    ]


def _by_kind(counted: Census) -> str:
    return "; ".join(
        f"{kind} {counted.landed[kind]:,} landed once, {counted.lost[kind]:,} lost, "
        f"{counted.duplicated[kind]:,} twice or more"
        for kind in counted.landed
    )


def _kill_section(result: ChaosResult) -> list[str]:
    kills = result.kills
    if kills is None:
        return []
    victims = ", ".join(f"{name} {n}" for name, n in sorted(kills.by_process.items()))
    lines = [
        "## R1: SIGKILLs",
        "",
        f"{kills.kills} SIGKILLs ({victims}; `ingest` is the edge and the control plane, one",
        f"process in the dev stack) at random moments while {kills.events:,} events were",
        "played over every built flow (hires in BambooHR, bills in FreshBooks, approved",
        f"Expensify reports), in {kills.seconds:.0f} s; each killed process was started again at",
        "once with the same command and environment, as a supervisor would, and was back in at",
        f"most {kills.slowest_restart_seconds:.0f} s. The run then settled in "
        f"{kills.settle_seconds:.0f} s (the vendors retried what the dead edge never answered,",
        "their retries brought forward; Expensify was polled). Expected effects: "
        f"{kills.effects_expected:,} ({_by_kind(kills.census)}).",
        "",
        "What it means: a process may die at any instruction (before or after its Kafka ack,",
        "its vendor write or its offset commit) and no hire, bill or report is lost or",
        "written twice: the edge answers only once a delivery is on Kafka, consumers commit",
        "only after their write, and the sinks find their earlier writes before writing.",
        "",
    ]
    return lines + [f"- {example}" for example in kills.census.examples] + [""]


def _outage_section(result: ChaosResult) -> list[str]:
    lines: list[str] = []
    for outage in (result.outage, result.store_outage):
        if outage is None:
            continue
        answers = ", ".join(f"{k}: {n}" for k, n in sorted(outage.deliveries_during.items()))
        lines += [
            f"## R2: {outage.stopped} stopped",
            "",
            f"The stack's {outage.stopped} was stopped for {outage.outage_seconds:.0f} s while "
            f"{outage.events_during} of {outage.events} events were played; the vendors'",
            f"webhook deliveries meanwhile were answered ({answers or 'none'}); a refused signed",
            f"delivery sent again mid-outage got {outage.resent_status} with Retry-After "
            f"{outage.resent_retry_after or '(none)'}. It was started again on its data and the",
            f"run settled in {outage.settle_seconds:.0f} s: {_by_kind(outage.census)}. "
            f"Processes restarted to recover: {', '.join(outage.restarted) or 'none'}.",
            "",
        ]
        lines += [f"- {example}" for example in outage.census.examples]
    if lines:
        lines += [
            "What it means: while the log or the store is down the edge refuses what it cannot",
            "store (the vendor keeps it and retries), nothing is half-written, and every",
            "service finds the broker and the store again by itself.",
            "",
        ]
    return lines


def _drop_section(result: ChaosResult) -> list[str]:
    drops = result.store_drops
    if drops is None:
        return []
    lines = [
        "## R6: the store's connections dropped, two replicas of every consumer",
        "",
        f"A second process of every vendor service ({', '.join(drops.replicas)}) shared the",
        f"consumer groups and the PostgreSQL store with the first while {drops.events:,} events",
        f"were played; {drops.drops} times, at random moments, every session on the store's",
        f"database was terminated ({drops.sessions_dropped:,} sessions in all). The run settled",
        f"in {drops.settle_seconds:.0f} s: {_by_kind(drops.census)}. Processes restarted to "
        f"recover: {', '.join(drops.restarted) or 'none'}.",
        "",
        "What it means: replicas split the work without writing a record twice (the lease of",
        "a record is in the store, and a write is found again before it is made), and a cut",
        "connection costs a retry, not an event: the pool opens a new one.",
        "",
    ]
    return lines + [f"- {example}" for example in drops.census.examples] + [""]


def _not_run(result: ChaosResult) -> list[str]:
    """The figures this run skipped (options set to 0, or no PostgreSQL to be had)."""
    absent = {
        "R1": ("`--kills 0`", result.kills),
        "R2 (Kafka)": ("`--outage-seconds 0`, or a broker from outside", result.outage),
        "R2 (PostgreSQL)": ("no PostgreSQL, or `--outage-seconds 0`", result.store_outage),
        "R3": ("`--rotations 0`", result.storms),
        "R6": ("no PostgreSQL, or `--drops 0`", result.store_drops),
    }
    return [
        f"- {name} ({why})"
        for name, (why, ran) in absent.items()
        if ran is None and name not in result.broke_off
    ]


def _verdicts(verdicts: dict[str, bool]) -> str:
    return ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in verdicts.items())


def render_markdown(result: ChaosResult, *, command: str, requests: int, seed: int) -> str:
    hostile, found = result.hostile, result.scan
    verdicts = passed(result)
    statuses = ", ".join(f"{status}: {n:,}" for status, n in sorted(hostile.by_status.items()))
    doors = ", ".join(f"{door} {n:,}" for door, n in sorted(hostile.by_door.items()))
    lines = [
        "# Reliability: the fault suite's figures",
        "",
        "Written by `make chaos` (`python -m chaos`); do not edit by hand. Short versions run",
        "in `make test` on flow 1: R1 and R2's broker (`tests/e2e/test_chaos_faults_short.py`),",
        "R2's store, R6 and R4 on PostgreSQL (`tests/e2e/test_chaos_store_short.py`), R3",
        "(`tests/e2e/test_chaos_storms_short.py`), R4 and R5 (`tests/e2e/test_chaos_short.py`).",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}",
        f"- command: `{command}`",
        f"- run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, the dev stack of every built flow "
        "(real Kafka, the sandboxes over sockets), after `make demo`'s traffic",
        *(f"- setup: {line}" for line in result.setup),
        "",
        "| figure | result | target | verdict |",
        "|---|---|---|---|",
        *(
            f"| {name} broke off before its count | {why} | a count | MISSED |"
            for name, why in result.broke_off.items()
        ),
        *_kill_rows(result),
        *_outage_rows(result),
        *_storm_rows(result),
        *_drop_rows(result),
        f"| R4 hostile requests: 5xx | {hostile.server_errors:,} of {hostile.sent:,} | 0 | "
        f"{'met' if hostile.server_errors == 0 else 'MISSED'} |",
        f"| R4 refusals without a clear error | {hostile.unclear_refusals:,} | 0 | "
        f"{'met' if hostile.unclear_refusals == 0 else 'MISSED'} |",
        f"| R4 edge process up after | {'yes' if result.edge_up_after else 'no'} | yes | "
        f"{'met' if result.edge_up_after else 'MISSED'} |",
        f"| R4 a genuine delivery accepted after | {'yes' if result.genuine_accepted else 'no'} "
        f"| yes | {'met' if result.genuine_accepted else 'MISSED'} |",
        f"| R5 secrets found in clear or encoded | {len(found.found)} | 0 | "
        f"{'met' if not found.found else 'MISSED'} |",
        f"| R5 state files not owner-only | {len(found.loose_modes)} | 0 | "
        f"{'met' if not found.loose_modes else 'MISSED'} |",
        "",
        *_kill_section(result),
        *_outage_section(result),
        *(storm_markdown(result.storms) if result.storms is not None else []),
        *_drop_section(result),
        "## R4: hostile requests",
        "",
        f"{hostile.sent:,} requests ({requests:,} generated, seed {seed}; 2 % of them raw bytes "
        f"on a socket) in {result.hostile_seconds:.0f} s, 16 at a time, by door: {doors}.",
        f"Answers by status: {statuses}; connections closed without an answer (the HTTP "
        f"parser's choice for bytes that are not HTTP): {hostile.closed_without_answer:,}.",
        "",
        "What it means: every door (the webhook edge, the operator API with no, a wrong and the",
        "real token, the OAuth consent and callback, the console with forged cookies and form",
        "tokens, the HTTP parser) answered garbage with a 4xx that says what was wrong (JSON",
        "with `error` or `detail`, a page with a title, or a line of text), never a 5xx, and",
        "the edge was still up and accepted BambooHR's next signed webhook.",
        "",
    ]
    lines += [f"- {example}" for example in hostile.examples]
    lines += [
        "",
        "## R5: secrets",
        "",
        f"{found.secrets} secrets (everything the sandboxes hold under a secret's name, every "
        "credential in the store decrypted, the operator token and the vault key), each looked "
        "for as is, URL- and form-encoded, and base64 (standard, URL-safe), in "
        f"{found.files:,} files ({found.bytes_scanned / 1e6:.0f} MB: the store (PostgreSQL's "
        "cluster, or the SQLite file and its WAL), every log, Kafka's own data) and "
        f"{found.messages:,} messages on every topic.",
        "",
        "What it means: no secret is anywhere in clear or trivially encoded; the store and",
        "the key files are owner-only.",
        "",
    ]
    lines += [f"- {f.secret_from} in {f.place} ({f.encoding})" for f in found.found[:20]]
    lines += [f"- loose mode: {mode}" for mode in found.loose_modes]
    lines += [
        "",
        "## Not run this time",
        "",
        *(_not_run(result) or ["- Nothing: every figure ran."]),
        "",
        f"Verdicts: {_verdicts(verdicts)}.",
        "",
    ]
    return "\n".join(lines)
