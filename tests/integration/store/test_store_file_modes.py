"""A SQLite store is owner-only whatever the umask, and one open to others is refused at start.

The store holds encrypted credentials, the audit log and people's work emails;
issue 10, defect 7 found ``state.db``, its ``-wal`` and ``-shm`` at 0644 and the
directory at 0755.
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from services.runtime.settings import RuntimeSettings
from services.runtime.store import (
    StateStore,
    StoreError,
    StorePermissionError,
    create_engine,
    migrate,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes_in(directory: Path) -> dict[str, int]:
    return {path.name: _mode(path) for path in directory.iterdir()}


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(
    params=[0o022, 0o000, 0o277],
    ids=["umask-022", "umask-000", "umask-277-takes-owner-write"],
)
def umask(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[int]:
    """The process umask for one test, restored after it (``tmp_path`` exists before it)."""
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


async def test_a_new_store_is_created_owner_only_with_its_wal_and_shm(
    umask: int, tmp_path: Path
) -> None:
    path = tmp_path / "run" / "nested" / "state.db"
    engine = create_engine(_url(path))
    try:
        async with engine.connect() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
            await connection.commit()
            # The connection is still open, so SQLite keeps its -wal and -shm files.
            modes = _modes_in(path.parent)
    finally:
        await engine.dispose()
    assert modes == {"state.db": 0o600, "state.db-wal": 0o600, "state.db-shm": 0o600}
    assert _mode(tmp_path / "run") == 0o700
    assert _mode(tmp_path / "run" / "nested") == 0o700


async def test_a_store_opened_from_settings_is_owner_only(umask: int, tmp_path: Path) -> None:
    path = tmp_path / "store" / "state.db"
    store = await StateStore.from_settings(RuntimeSettings(database_url=_url(path)))
    try:
        async with store.transaction() as tx:
            await tx.audit_log.append(actor="test", action="wrote", subject="modes")
        modes = _modes_in(path.parent)
    finally:
        await store.close()
    assert modes == {"state.db": 0o600, "state.db-wal": 0o600, "state.db-shm": 0o600}
    assert _mode(path.parent) == 0o700


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", "-journal"])
def test_a_store_file_open_to_others_is_refused_with_the_chmod(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "state.db"
    path.touch(mode=0o600)
    path.chmod(0o600)
    wide = Path(f"{path}{suffix}")
    wide.touch()
    wide.chmod(0o644)

    with pytest.raises(StorePermissionError) as raised:
        create_engine(_url(path))

    message = str(raised.value)
    assert f"{wide} has mode 0644" in message
    assert message.endswith(f"chmod 600 {shlex.quote(str(wide))}")
    assert _mode(wide) == 0o644  # refused, not silently changed


def test_every_file_open_to_others_is_named_in_one_command(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    for wide in (path, wal, shm):
        wide.touch()
        wide.chmod(0o640)

    with pytest.raises(StorePermissionError) as raised:
        create_engine(_url(path))

    assert str(raised.value).endswith(f"chmod 600 {path} {wal} {shm}")


@pytest.mark.parametrize("mode", [0o775, 0o757, 0o770], ids=["0775", "0757", "0770"])
def test_a_directory_others_can_write_is_refused_before_a_file_is_made(
    tmp_path: Path, mode: int
) -> None:
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(mode)

    with pytest.raises(StorePermissionError) as raised:
        create_engine(_url(directory / "state.db"))

    message = str(raised.value)
    assert f"{directory} holding the state store is writable by its group or others" in message
    assert f"(mode {mode:04o})" in message
    assert message.endswith(f"chmod 700 {directory}")
    assert list(directory.iterdir()) == []


def test_a_shared_sticky_directory_is_refused_without_advising_to_chmod_it(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "like-tmp"
    directory.mkdir()
    directory.chmod(0o1777)

    with pytest.raises(StorePermissionError) as raised:
        create_engine(_url(directory / "state.db"))

    message = str(raised.value)
    assert "(mode 1777)" in message
    assert "Point MLC_DATABASE_URL at a directory only this user can write" in message
    assert "chmod" not in message


async def test_an_existing_directory_others_may_only_read_is_kept_as_it_is(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "var-lib-mlc"
    directory.mkdir()
    directory.chmod(0o755)

    store = await StateStore.open(_url(directory / "state.db"))
    await store.close()

    assert _mode(directory) == 0o755
    assert _mode(directory / "state.db") == 0o600


async def test_migrate_and_the_settings_refuse_a_store_open_to_others(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.touch()
    path.chmod(0o644)
    url = _url(path)

    with pytest.raises(StoreError, match=r"has mode 0644.*chmod 600"):
        await migrate(url)
    with pytest.raises(StorePermissionError):
        await StateStore.from_settings(RuntimeSettings(database_url=url))


def test_a_relative_store_path_is_named_absolute_in_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("run").mkdir(mode=0o700)
    path = Path.cwd() / "run" / "state.db"
    path.touch()
    path.chmod(0o604)

    with pytest.raises(StorePermissionError) as raised:
        create_engine("sqlite+aiosqlite:///run/state.db")

    assert str(raised.value).endswith(f"chmod 600 {path}")
