"""R5: no secret the sandboxes issued is anywhere in clear: the store, the topics, the logs.

The secrets are read from where they were issued: every sandbox's own state (tokens, keys,
client secrets, webhook secrets, passwords: any value under a key that names one) and the
stack's own (the operator token, the vault's key). Each is looked for as it is, URL-encoded,
and base64-encoded (standard and URL-safe, alone and as the ``id:secret`` pair of a Basic
header), in the bytes of every file of the run directory (the SQLite store with its WAL,
the logs, stack.json aside: it is the operator's own copy of the token) and of every
message on every topic. Files holding state must be owner-only.
"""

from __future__ import annotations

import base64
import json
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import quote, quote_plus

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.runtime.settings import RuntimeSettings
from services.runtime.store import StateStore
from services.runtime.topics_admin import partition_counts
from services.runtime.vault import Vault

__all__ = [
    "Finding",
    "ScanReport",
    "collect_secrets",
    "encodings",
    "issued_secrets",
    "scan",
    "scan_files",
    "scan_topics",
    "stored_secrets",
]

_SECRET_KEY: Final = re.compile(
    r"(token|secret|password|api_?key|apikey|private|signing|verifier|credential|session"
    r"|^key$)",
    re.IGNORECASE,
)
_SHORTEST: Final = 12  # shorter values (ids, flags) would match by chance
# The operator's own copies, written for them on purpose (mode 0600, checked below).
_OPERATORS_COPIES: Final = frozenset({"stack.json", "operator_token", "master_keys"})


@dataclass(frozen=True)
class Finding:
    secret_from: str  # where the secret was issued (sandbox, field)
    place: str  # file path or topic/partition/offset
    encoding: str


@dataclass
class ScanReport:
    secrets: int = 0
    files: int = 0
    bytes_scanned: int = 0
    messages: int = 0
    found: list[Finding] = field(default_factory=list)
    loose_modes: list[str] = field(default_factory=list)


def collect_secrets(node: object, path: str, into: dict[str, str]) -> None:
    """Every string of ``node`` under a key that names a secret (and long enough to be one)
    into ``into``: value -> its path."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            where = f"{path}.{key}"
            if isinstance(value, str) and _SECRET_KEY.search(str(key)) and len(value) >= _SHORTEST:
                into[value] = where
            else:
                collect_secrets(value, where, into)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            collect_secrets(value, f"{path}[{index}]", into)


async def issued_secrets(
    sandboxes: Mapping[str, str], run_dir: Path, http: httpx.AsyncClient
) -> dict[str, str]:
    """secret -> where it was issued: every sandbox's state, and the stack's own."""
    found: dict[str, str] = {}
    for vendor, url in sandboxes.items():
        answer = await http.get(f"{url}/_sandbox/state")
        answer.raise_for_status()
        collect_secrets(answer.json(), vendor, found)
    token = (run_dir / "operator_token").read_text(encoding="utf-8").strip()
    found[token] = "stack.operator_token"
    for entry in (run_dir / "master_keys").read_text(encoding="utf-8").strip().split(","):
        found[entry.split(":", 1)[1]] = "stack.master_keys"
    return found


async def stored_secrets(settings: RuntimeSettings) -> dict[str, str]:
    """secret -> where: every credential the store holds, decrypted with the stack's own key
    ring (the vendors' tokens issued at runtime are known nowhere else), and each string
    inside one that is JSON (an OAuth token pair)."""
    vault = Vault.from_settings(settings)
    store = await StateStore.from_settings(settings)
    try:
        async with store.transaction() as repos:
            rows = await repos.credentials.list()
    finally:
        await store.close()
    found: dict[str, str] = {}
    for row in rows:
        clear = vault.decrypt(row.token, connection_id=row.connection_id, field=row.field)
        where = f"store.{row.field}"
        try:
            parsed = json.loads(clear)
        except ValueError:
            parsed = clear
        if isinstance(parsed, dict | list):
            collect_secrets(parsed, where, found)
        elif len(clear) >= _SHORTEST:
            found[clear] = where
    return found


def encodings(secret: str, pairs: Iterable[str] = ()) -> dict[str, bytes]:
    """The forms a leaked secret would take in a log, a URL or a header."""
    raw = secret.encode()
    forms = {
        "clear": raw,
        "url": quote(secret, safe="").encode(),
        "form": quote_plus(secret).encode(),
        "base64": base64.b64encode(raw).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
    }
    for other in pairs:  # a Basic header: base64 of "id:secret"
        forms[f"basic({other})"] = base64.b64encode(f"{other}:{secret}".encode()).rstrip(b"=")
    # An encoding equal to the secret itself is found as "clear" already.
    return {name: form for name, form in forms.items() if name == "clear" or form != raw}


def _search(
    data: bytes, place: str, patterns: Mapping[str, dict[str, bytes]], origins: Mapping[str, str]
) -> list[Finding]:
    return [
        Finding(origins[secret], place, name)
        for secret, forms in patterns.items()
        for name, form in forms.items()
        if form in data
    ]


def scan_files(
    secrets: Mapping[str, str],
    run_dir: Path,
    report: ScanReport,
    client_ids: Iterable[str] = (),
    *,
    store_dir: Path | None = None,
) -> None:
    """Every form of every secret in the run directory's files (and a PostgreSQL store's
    cluster in ``store_dir``); state files owner-only."""
    patterns = {secret: encodings(secret, client_ids) for secret in secrets}
    run_mode = stat.S_IMODE(run_dir.stat().st_mode)
    if run_mode & 0o077:
        report.loose_modes.append(f"{run_dir} {run_mode:o}")
    trees = [run_dir, *([store_dir] if store_dir is not None else [])]
    for path in sorted(p for tree in trees for p in tree.rglob("*") if p.is_file()):
        mode = stat.S_IMODE(path.stat().st_mode)
        if (path.name.startswith("state.db") or path.name in _OPERATORS_COPIES) and mode & 0o077:
            report.loose_modes.append(f"{path} {mode:o}")
        if path.name in _OPERATORS_COPIES:
            continue
        data = path.read_bytes()
        report.files += 1
        report.bytes_scanned += len(data)
        report.found += _search(data, str(path), patterns, secrets)


async def scan_topics(
    secrets: Mapping[str, str],
    bootstrap: str,
    topics: Iterable[str],
    report: ScanReport,
    client_ids: Iterable[str] = (),
) -> None:
    """Every form of every secret in every message (value, key, headers) on ``topics``."""
    patterns = {secret: encodings(secret, client_ids) for secret in secrets}
    counts = await partition_counts(bootstrap, topics)
    partitions = [TopicPartition(t, p) for t, n in sorted(counts.items()) for p in range(n)]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if ends[tp] > await consumer.position(tp)}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=5000)
            for records in batch.values():
                for record in records:
                    report.messages += 1
                    data = b"".join(
                        [record.value or b"", record.key or b""]
                        + [value for _, value in record.headers or ()]
                    )
                    place = f"{record.topic}/{record.partition}/{record.offset}"
                    report.found += _search(data, place, patterns, secrets)
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()


async def scan(
    secrets: Mapping[str, str],
    *,
    run_dir: Path,
    bootstrap: str,
    topics: Iterable[str],
    client_ids: Iterable[str] = (),
    store_dir: Path | None = None,
) -> ScanReport:
    """Look for every form of every secret in the run directory's files (and the
    PostgreSQL store's in ``store_dir``) and on ``topics``."""
    ids = list(client_ids)
    report = ScanReport(secrets=len(secrets))
    scan_files(secrets, run_dir, report, ids, store_dir=store_dir)
    await scan_topics(secrets, bootstrap, topics, report, ids)
    return report
