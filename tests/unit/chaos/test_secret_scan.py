"""The scan finds what it looks for: a secret planted in a file, clear or encoded, and a state
file others can read; and finds nothing where there is nothing. (R5's figure is only as good
as this.)"""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import pytest

from chaos.secret_scan import ScanReport, collect_secrets, encodings, scan_files

SECRET = "s3cr3t/with+odd=chars&more"


def _run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    (run / "state.db").write_bytes(b"nothing to see")
    (run / "state.db").chmod(0o600)
    (run / "logs").mkdir()
    return run


@pytest.mark.parametrize(
    ("planted", "encoding"),
    [
        (SECRET.encode(), "clear"),
        (quote(SECRET, safe="").encode(), "url"),
        (base64.b64encode(SECRET.encode()), "base64"),
        (base64.urlsafe_b64encode(SECRET.encode()).rstrip(b"="), "base64url"),
        (base64.b64encode(f"client-1:{SECRET}".encode()), "basic(client-1)"),
    ],
)
def test_a_planted_secret_is_found_in_each_encoding(
    tmp_path: Path, planted: bytes, encoding: str
) -> None:
    run = _run_dir(tmp_path)
    (run / "logs" / "service.log").write_bytes(b'{"event":"x","header":"' + planted + b'"}\n')
    report = ScanReport()
    scan_files({SECRET: "sandbox.client_secret"}, run, report, client_ids=["client-1"])
    # Some encodings coincide for a given secret (URL and form, base64 and its URL-safe
    # form): the planted one must be among what was found, and only in that file.
    assert encoding in {f.encoding for f in report.found}
    assert {(f.secret_from, Path(f.place).name) for f in report.found} == {
        ("sandbox.client_secret", "service.log")
    }


def test_a_clean_run_dir_finds_nothing_and_a_loose_store_is_reported(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    (run / "logs" / "service.log").write_text("redacted\n", encoding="utf-8")
    report = ScanReport()
    scan_files({SECRET: "x"}, run, report)
    assert report.found == []
    assert report.loose_modes == []
    assert report.files == 2
    (run / "state.db").chmod(0o644)
    report = ScanReport()
    scan_files({SECRET: "x"}, run, report)
    assert len(report.loose_modes) == 1
    assert "state.db 644" in report.loose_modes[0]


def test_secrets_are_taken_from_values_under_a_secrets_name_only() -> None:
    found: dict[str, str] = {}
    state = {
        "oauth_clients": [{"id": "mlc-freshbooks", "client_secret": "a" * 40}],
        "api_keys": [{"id": "1", "key": "b" * 40, "employeeId": "102"}],
        "employees": [{"firstName": "Grace", "workEmail": "grace@example.com" * 2}],
        "users": [{"id": "api.sync", "password": "Sandbox#2026"}],
        "short": {"token": "tiny"},
    }
    collect_secrets(state, "vendor", found)
    assert found == {
        "a" * 40: "vendor.oauth_clients[0].client_secret",
        "b" * 40: "vendor.api_keys[0].key",
        "Sandbox#2026": "vendor.users[0].password",
    }


def test_an_encoding_equal_to_the_secret_is_not_counted_twice() -> None:
    assert set(encodings("plainsecret123")) == {"clear", "base64", "base64url"}
