"""Sandboxes stand alone: none imports `services`, the kit names no vendor, vendors keep apart."""

from __future__ import annotations

import ast
from pathlib import Path

import sandboxes

ROOT = Path(sandboxes.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_sandbox_module_imports_the_services() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in _imports(path) if n.split(".")[0] == "services"
        )
        for path in ROOT.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_kit_names_no_vendor_and_vendors_do_not_import_each_other() -> None:
    vendors = set(sandboxes.VENDORS)
    for path in (ROOT / "kit").rglob("*.py"):
        used = {n.split(".")[1] for n in _imports(path) if n.startswith("sandboxes.")}
        assert not used & vendors, path
    for vendor in sandboxes.available_vendors():
        for path in (ROOT / vendor).rglob("*.py"):
            used = {n.split(".")[1] for n in _imports(path) if n.startswith("sandboxes.")}
            assert used & vendors <= {vendor}, path
