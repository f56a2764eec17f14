"""`mlc mappings list | set | remove` against a SQLite store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlc.app import app
from mlc.exits import EXIT_REFUSED
from services.runtime.store import StateStore

runner = CliRunner()


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("MLC_DATABASE_URL", url)
    return url


async def _link(url: str, *, waiting_for: str = "Meals") -> tuple[str, int]:
    """A link, a service's own bookkeeping in its mappings, and an item waiting for one."""
    store = await StateStore.open(url)
    try:
        async with store.transaction() as tx:
            source = await tx.connections.create(
                vendor="expensify", tenant_id="t", display_name="E"
            )
            target = await tx.connections.create(
                vendor="freshbooks", tenant_id="t", display_name="F"
            )
            link = await tx.links.create(
                source_connection_id=source.id, target_connection_id=target.id, flow="expenses"
            )
            await tx.mappings.put(link.id, "freshbooks.department_by_email", "a@x.test", "Ops")
            item = await tx.review_queue.raise_item(
                service="freshbooks",
                reason="unmapped_category",
                link_id=link.id,
                entity_key="R1",
                note=f"no account for {waiting_for!r}",
                reasons=[{"missing": "category", "value": waiting_for, "fix": "map it"}],
            )
        return link.id, item.id
    finally:
        await store.close()


async def _audit(url: str, link: str) -> list[tuple[str, str, dict[str, object]]]:
    store = await StateStore.open(url)
    try:
        async with store.transaction() as tx:
            entries = await tx.audit_log.list(subject=link)
        return [(e.actor, e.action, e.detail) for e in reversed(entries)]
    finally:
        await store.close()


def test_set_list_and_remove_a_mapping_audited_with_who(store_url: str) -> None:
    link, item = asyncio.run(_link(store_url))
    base = ["--link", link, "--kind", "category"]

    added = runner.invoke(app, ["mappings", "set", *base, "Meals", "6100", "--by", "alice"])
    changed = runner.invoke(
        app, ["mappings", "set", *base, "Meals", "6150", "--by", "bob", "--json"]
    )
    runner.invoke(app, ["mappings", "set", "--link", link, "--kind", "tag", "Ops", "Operations"])
    listed = runner.invoke(app, ["mappings", "list", "--link", link, "--json"])
    one_kind = runner.invoke(app, ["mappings", "list", "--link", link, "--kind", "tag"])
    removed = runner.invoke(app, ["mappings", "remove", *base, "Meals", "--by", "carol"])
    after = runner.invoke(app, ["mappings", "list", "--link", link, "--kind", "category"])

    assert added.exit_code == 0, added.output
    assert f"category 'Meals' -> '6100' on link {link}" in added.output
    assert f"review items waiting for it: {item}" in added.output
    assert json.loads(changed.output) == {
        "link": link,
        "kind": "category",
        "source": "Meals",
        "target": "6150",
        "previous": "6100",
        "waiting_items": [item],
    }
    assert json.loads(listed.output)["mappings"] == [  # the service's own kinds are not shown
        {"link": link, "kind": "category", "source": "Meals", "target": "6150"},
        {"link": link, "kind": "tag", "source": "Ops", "target": "Operations"},
    ]
    assert "Operations" in one_kind.output
    assert "6150" not in one_kind.output
    assert removed.exit_code == 0, removed.output
    assert "removed category 'Meals' (was '6150')" in removed.output
    assert after.output.strip() == f"link {link} has no category mappings"
    audit = asyncio.run(_audit(store_url, link))
    assert [(action, detail["kind"], detail["target"]) for _, action, detail in audit] == [
        ("mapping.set", "category", "6100"),
        ("mapping.set", "category", "6150"),
        ("mapping.set", "tag", "Operations"),
        ("mapping.removed", "category", "6150"),
    ]
    assert [audit[i][0] for i in (0, 1, 3)] == ["alice", "bob", "carol"]
    assert audit[1][2]["previous"] == "6100"


def test_an_unknown_link_a_bad_kind_and_a_missing_mapping_are_refused(store_url: str) -> None:
    link, _ = asyncio.run(_link(store_url))

    unknown = runner.invoke(app, ["mappings", "list", "--link", "nope"])
    bad_kind = runner.invoke(
        app, ["mappings", "set", "--link", link, "--kind", "bill.waiting_for_vendor:5", "a", "b"]
    )
    empty_target = runner.invoke(
        app, ["mappings", "set", "--link", link, "--kind", "tag", "a", " "]
    )
    missing = runner.invoke(app, ["mappings", "remove", "--link", link, "--kind", "tag", "Ops"])

    assert (unknown.exit_code, bad_kind.exit_code) == (EXIT_REFUSED, EXIT_REFUSED)
    assert "no link 'nope'" in unknown.output
    assert "is not a mapping kind" in bad_kind.output
    assert empty_target.exit_code == EXIT_REFUSED
    assert "target value is empty" in empty_target.output
    assert missing.exit_code == EXIT_REFUSED
    assert f"link {link} has no tag mapping for 'Ops'" in missing.output
