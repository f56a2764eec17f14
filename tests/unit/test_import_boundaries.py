"""Imports point down and vendor knowledge stays in its folder (STYLE.md, rule 2).

The import statements of every file are read with ``ast``, so the checks hold
for code that is never executed by a test.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from schemas.topics import VENDORS

ROOT = Path(__file__).resolve().parents[3]


def _python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Absolute names of every module the file imports, relative imports resolved.

    ``source`` stands in for the file's text, for checking this reader itself.
    """
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text, filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                stem = f"{base}.{node.module}" if node.module else base
            else:
                stem = node.module or ""
            modules.add(stem)
            # `from services import bamboohr` imports the vendor package too.
            modules.update(f"{stem}.{alias.name}" for alias in node.names)
    return modules


def _is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def test_the_import_reader_sees_absolute_relative_and_from_imports() -> None:
    sample = ROOT / "services" / "runtime" / "store" / "sample.py"
    source = (
        "import json\n"
        "from ...bamboohr import client\n"
        "from services import zoho\n"
        "from . import engine\n"
        "from .. import bus\n"
    )

    modules = _imported_modules(sample, source)

    assert "json" in modules
    assert "services.bamboohr.client" in modules
    assert "services.zoho" in modules
    assert "services.runtime.store.engine" in modules
    assert "services.runtime.bus" in modules


@pytest.mark.parametrize("path", _python_files("schemas"), ids=lambda p: p.name)
def test_schemas_import_only_pydantic_the_standard_library_and_themselves(path: Path) -> None:
    foreign = {
        module
        for module in _imported_modules(path)
        if module.split(".")[0] not in sys.stdlib_module_names
        and not _is_within(module, "pydantic")
        and not _is_within(module, "schemas")
        and module != "__future__"
    }

    assert not foreign, f"{path.relative_to(ROOT)} imports {sorted(foreign)}"


# "bill" is also the domain's word for an invoice, so only the other vendors'
# names can be searched for in prose.
_VENDOR_WORDS = re.compile(
    r"\b(" + "|".join(v for v in VENDORS if v != "bill") + r")\b", re.IGNORECASE
)


@pytest.mark.parametrize(
    "path", [p for p in _python_files("schemas") if p.name != "topics.py"], ids=lambda p: p.name
)
def test_schemas_name_no_vendor_outside_the_topic_catalog(path: Path) -> None:
    mentions = _VENDOR_WORDS.findall(path.read_text(encoding="utf-8"))

    assert not mentions, f"{path.relative_to(ROOT)} names vendors {sorted(set(mentions))}"


@pytest.mark.parametrize("path", _python_files("services/runtime"), ids=lambda p: p.name)
def test_the_runtime_kit_imports_no_vendor_folder(path: Path) -> None:
    vendor_imports = {
        module
        for module in _imported_modules(path)
        for vendor in VENDORS
        if _is_within(module, f"services.{vendor}") or _is_within(module, f"sandboxes.{vendor}")
    }

    assert not vendor_imports, f"{path.relative_to(ROOT)} imports {sorted(vendor_imports)}"


@pytest.mark.parametrize("path", _python_files("sandboxes"), ids=lambda p: str(p.relative_to(ROOT)))
def test_sandboxes_import_nothing_from_a_vendor_service(path: Path) -> None:
    vendor_imports = {
        module
        for module in _imported_modules(path)
        for vendor in VENDORS
        if _is_within(module, f"services.{vendor}")
    }

    assert not vendor_imports, f"{path.relative_to(ROOT)} imports {sorted(vendor_imports)}"


@pytest.mark.parametrize("vendor", VENDORS)
def test_no_vendor_service_imports_another_vendor_service(vendor: str) -> None:
    others = [v for v in VENDORS if v != vendor]
    for path in _python_files(f"services/{vendor}"):
        crossing = {
            module
            for module in _imported_modules(path)
            for other in others
            if _is_within(module, f"services.{other}")
        }
        assert not crossing, f"{path.relative_to(ROOT)} imports {sorted(crossing)}"
