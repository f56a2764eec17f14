"""Imports point down and vendor knowledge stays in its folder (STYLE.md, rule 2).

The import statements of every file are read with ``ast``, so the checks hold
for code that is never executed by a test. Besides the folder rules: no vendor
imports the edge, the control plane, the CLI (``mlc``) or the dev stack; no service
imports the CLI; nothing of the product (``services``, ``schemas``, ``sandboxes``, ``mlc``:
the wheel) imports the dev stack (``devstack``, not in the wheel); there is one list of
vendors (``services/vendors.py``); and no two modules, or two packages, import each
other, directly or around a circle.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from services.vendors import VENDORS

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.mark.parametrize("path", _python_files("schemas"), ids=lambda p: p.name)
def test_schemas_name_no_vendor_not_even_the_topic_catalog(path: Path) -> None:
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


# --- above the vendors ------------------------------------------------------------------------

# What a vendor folder may never import: the services that use the vendor plugins (the edge,
# the control plane, the dev stack), the CLI, and the registry that lists them.
_ABOVE_THE_VENDORS = (
    "services.ingest",
    "services.control",
    "services.vendors",
    "services.asyncapi",
    "mlc",
    "devstack",
)


@pytest.mark.parametrize("vendor", VENDORS)
def test_no_vendor_service_imports_the_edge_the_control_plane_the_cli_or_the_dev_stack(
    vendor: str,
) -> None:
    for path in _python_files(f"services/{vendor}"):
        upward = {
            module
            for module in _imported_modules(path)
            for above in _ABOVE_THE_VENDORS
            if _is_within(module, above)
        }
        assert not upward, f"{path.relative_to(ROOT)} imports {sorted(upward)}"


@pytest.mark.parametrize("path", _python_files("services/runtime"), ids=lambda p: p.name)
def test_the_runtime_kit_imports_nothing_that_uses_it(path: Path) -> None:
    upward = {
        module
        for module in _imported_modules(path)
        for above in _ABOVE_THE_VENDORS
        if _is_within(module, above)
    }

    assert not upward, f"{path.relative_to(ROOT)} imports {sorted(upward)}"


# The wheel's packages (pyproject.toml); the dev stack is not one of them.
_PRODUCT_FOLDERS = ("services", "schemas", "sandboxes", "mlc")


@pytest.mark.parametrize(
    "path",
    [p for folder in _PRODUCT_FOLDERS for p in _python_files(folder)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_nothing_of_the_product_imports_the_dev_stack(path: Path) -> None:
    dev = {m for m in _imported_modules(path) if _is_within(m, "devstack")}

    assert not dev, f"{path.relative_to(ROOT)} imports {sorted(dev)}: devstack is not shipped"


@pytest.mark.parametrize(
    "path",
    [p for folder in ("services", "schemas", "sandboxes") for p in _python_files(folder)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_service_imports_the_cli(path: Path) -> None:
    # The CLI uses the services (over HTTP, or their runtime directly), never the other way:
    # a helper both need lives in the runtime or the service.
    cli = {m for m in _imported_modules(path) if _is_within(m, "mlc")}

    assert not cli, f"{path.relative_to(ROOT)} imports {sorted(cli)}: mlc is the CLI"


def test_the_wheel_ships_the_product_and_not_the_dev_stack() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert sorted(packages) == sorted(_PRODUCT_FOLDERS)


# --- one list of vendors ----------------------------------------------------------------------

_REGISTRY = ROOT / "services" / "vendors.py"
_SOURCE_FOLDERS = ("services", "schemas", "sandboxes", "mlc", "benchmarks", "scripts", "devstack")


def _source_files() -> list[Path]:
    return [p for folder in _SOURCE_FOLDERS for p in _python_files(folder)]


def _vendor_names_in(node: ast.AST) -> set[str]:
    """Vendor names written as string constants directly in a tuple, list, set or dict."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items: Iterable[ast.expr | None] = node.elts
    elif isinstance(node, ast.Dict):
        items = node.keys
    else:
        return set()
    return {
        item.value
        for item in items
        if isinstance(item, ast.Constant) and isinstance(item.value, str) and item.value in VENDORS
    }


def _vendor_lists(path: Path, source: str | None = None) -> list[tuple[int, set[str]]]:
    """Literal collections naming three or more vendors, with their line: a list of vendors.

    Two may be a flow's source and target; three or more is a list someone must keep.
    """
    text = path.read_text(encoding="utf-8") if source is None else source
    found: list[tuple[int, set[str]]] = []
    for node in ast.walk(ast.parse(text, filename=str(path))):
        names = _vendor_names_in(node)
        if len(names) >= 3:
            found.append((getattr(node, "lineno", 0), names))
    return found


def _vendor_packages_imported(path: Path, source: str | None = None) -> set[str]:
    return {
        vendor
        for module in _imported_modules(path, source)
        for vendor in VENDORS
        if _is_within(module, f"services.{vendor}")
    }


def test_the_list_finders_see_a_literal_list_and_a_module_gathering_vendors() -> None:
    sample = ROOT / "services" / "ingest" / "sample.py"
    source = (
        "from services.bamboohr import webhook\n"
        "from services.zoho.auth import ZohoOAuth\n"
        "KNOWN = ('bamboohr', 'freshbooks', 'zoho')\n"
        "SPECS = {'bill': 1, 'acumatica': 2, 'expensify': 3}\n"
        "FLOW = ('bamboohr', 'freshbooks')\n"
    )

    assert [names for _, names in _vendor_lists(sample, source)] == [
        {"bamboohr", "freshbooks", "zoho"},
        {"bill", "acumatica", "expensify"},
    ]
    assert _vendor_packages_imported(sample, source) == {"bamboohr", "zoho"}


@pytest.mark.parametrize("path", _source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_but_the_registry_lists_vendors(path: Path) -> None:
    if path == _REGISTRY:
        return
    lists = _vendor_lists(path)

    assert not lists, (
        f"{path.relative_to(ROOT)} lists vendors {lists}: ask services/vendors.py instead"
    )


@pytest.mark.parametrize("path", _source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_but_the_registry_gathers_several_vendors(path: Path) -> None:
    if path == _REGISTRY:
        return
    gathered = _vendor_packages_imported(path)
    own = path.relative_to(ROOT).parts[1]  # a vendor's own folder is not gathering

    assert len(gathered - {own}) <= 1, (
        f"{path.relative_to(ROOT)} imports vendors {sorted(gathered)}: "
        "a module that needs several vendors asks services/vendors.py"
    )


def test_the_registry_imports_every_vendor_plugin_and_nothing_else_of_theirs() -> None:
    imported = {
        module
        for module in _imported_modules(_REGISTRY)
        for vendor in VENDORS
        if _is_within(module, f"services.{vendor}")
    }
    plugins = {m for m in imported if m.endswith(".plugin")}

    assert plugins == {f"services.{vendor}.plugin" for vendor in VENDORS}
    assert imported == plugins | {f"{m}.PLUGIN" for m in plugins}


# --- no circles -------------------------------------------------------------------------------

_GRAPH_FOLDERS = ("services", "schemas", "sandboxes", "mlc")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (anywhere in the file)."""
    files = {_module_name(p): p for folder in _GRAPH_FOLDERS for p in _python_files(folder)}
    return {
        name: {m for m in _imported_modules(path) if m in files and m != name}
        for name, path in files.items()
    }


def _package_of(module: str) -> str:
    """``services.ingest.webhooks`` -> ``services.ingest``; ``schemas.people`` -> ``schemas``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] in ("services", "sandboxes") else parts[0]


def _package_graph(modules: Mapping[str, set[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, imported in modules.items():
        package = _package_of(module)
        graph.setdefault(package, set()).update(
            _package_of(m) for m in imported if _package_of(m) != package
        )
    return graph


def _circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_circle_finder_finds_a_circle_and_only_that() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert _circles(graph) == [["a", "b", "c"]]


def test_no_module_imports_itself_around_a_circle() -> None:
    assert _circles(_module_graph()) == []


def test_no_package_imports_itself_around_a_circle() -> None:
    assert _circles(_package_graph(_module_graph())) == []


@pytest.mark.parametrize(
    ("folder", "other"),
    [("services/ingest", "services.control"), ("services/control", "services.ingest")],
)
def test_the_edge_and_the_control_plane_import_nothing_of_each_other(
    folder: str, other: str
) -> None:
    # Each is deployed on its own; they share state through the store and Kafka only.
    for path in _python_files(folder):
        crossing = {m for m in _imported_modules(path) if _is_within(m, other)}
        assert not crossing, f"{path.relative_to(ROOT)} imports {sorted(crossing)}"
