"""``docs/reliability.md``: the machine, the command, each figure and what it means."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

from chaos.run import ChaosResult

__all__ = ["passed", "render_markdown", "verdict_line"]


def passed(result: ChaosResult) -> dict[str, bool]:
    """Each figure's verdict."""
    hostile = result.hostile
    return {
        "R4": hostile.server_errors == 0
        and hostile.unclear_refusals == 0
        and result.edge_up_after
        and result.genuine_accepted,
        "R5": not result.scan.found and not result.scan.loose_modes,
    }


def verdict_line(result: ChaosResult) -> str:
    """``R4 met, R5 met`` (or MISSED)."""
    return _verdicts(passed(result))


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
        "Written by `make chaos` (`python -m chaos`); do not edit by hand. A short version of",
        "R4 and R5 runs in `make test` (`tests/e2e/test_chaos_short.py`).",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}",
        f"- command: `{command}`",
        f"- run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, the dev stack of every built flow "
        "(real Kafka, the sandboxes over sockets), after `make demo`'s traffic",
        "",
        "| figure | result | target | verdict |",
        "|---|---|---|---|",
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
        f"{found.files:,} files ({found.bytes_scanned / 1e6:.0f} MB: the store and its WAL, "
        f"every log, Kafka's own data) and {found.messages:,} messages on every topic.",
        "",
        "What it means: no secret is anywhere in clear or trivially encoded; the store and",
        "the key files are owner-only.",
        "",
    ]
    lines += [f"- {f.secret_from} in {f.place} ({f.encoding})" for f in found.found[:20]]
    lines += [f"- loose mode: {mode}" for mode in found.loose_modes]
    lines += [
        "",
        "## Not measured by `make chaos` yet",
        "",
        "- R1 (100 SIGKILLs across every service during a 1,000-event run), R2 (the broker and",
        "  PostgreSQL restarted mid-run), R3 (vendor storms per vendor, refresh-token rotation",
        "  1,000 times under two replicas) and R6 (the store's connection dropped, two replicas",
        "  of every consumer) have no figure here yet. Parts of them are end-to-end tests of",
        "  each flow (a FreshBooks service SIGKILLed mid-burst, 429 and 503 storms, an expired",
        "  token met by two handlers at once, a replay killed halfway), which pass in",
        "  `make test` but are not run at this scale or across every flow.",
        "",
        f"Verdicts: {_verdicts(verdicts)}.",
        "",
    ]
    return "\n".join(lines)
