"""The README is part of the product: its promises must match the code."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic_settings import BaseSettings

from services.acumatica.settings import AcumaticaSettings
from services.bamboohr.settings import BambooHRSettings
from services.bill.settings import BillSettings
from services.control.settings import ControlSettings
from services.expensify.settings import ExpensifySettings
from services.freshbooks.settings import FreshBooksSettings
from services.ingest.schedules import SchedulerSettings
from services.ingest.settings import IngestSettings
from services.runtime.settings import RuntimeSettings
from services.zoho.settings import ZohoSettings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SETTINGS_CLASSES: tuple[type[BaseSettings], ...] = (
    RuntimeSettings,
    IngestSettings,
    ControlSettings,
    SchedulerSettings,
    BambooHRSettings,
    FreshBooksSettings,
    ZohoSettings,
    BillSettings,
    AcumaticaSettings,
    ExpensifySettings,
)


def _variables() -> set[str]:
    return {
        f"{cls.model_config.get('env_prefix', '')}{name}".upper()
        for cls in SETTINGS_CLASSES
        for name in cls.model_fields
    }


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    documented = set(re.findall(r"`(MLC_[A-Z0-9_]+)`", README))
    assert _variables() - documented == set(), "document these settings in README.md"


def test_the_readme_documents_no_setting_that_does_not_exist() -> None:
    documented = set(re.findall(r"^\| `(MLC_[A-Z0-9_]+)` \|", README, flags=re.MULTILINE))
    assert documented - _variables() == set()


def test_the_readme_make_targets_exist_in_the_makefile() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z-]+):", makefile, flags=re.MULTILINE))
    mentioned = set(re.findall(r"`make ([a-z-]+)`", README)) | set(
        re.findall(r"^make ([a-z-]+)", README, flags=re.MULTILINE)
    )
    assert mentioned, "the README names no make target"
    assert mentioned - targets == set()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [
        line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")
    ]
    assert "make test" in commands
