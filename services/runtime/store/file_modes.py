"""Keeping a SQLite state store owner-only, whatever the umask.

The store holds the vault-encrypted credentials, the audit log and people's
work emails with their departments, so no other local user may read it or
swap it. Before SQLite touches the file, the engine calls

* :func:`make_owner_only_directories`: every directory it has to create on
  the way to the file is made ``0700``; existing ones are left as they are;
* :func:`create_owner_only_sqlite_file`: a new database file is made ``0600``
  before SQLite opens it. SQLite gives the ``-wal``, ``-shm`` and ``-journal``
  files it creates the database file's permission bits, so they are ``0600``
  too. Then it checks what is there, and refuses (:class:`StorePermissionError`,
  naming each path, its mode and the ``chmod`` that fixes it) when

  - the database file, or an existing ``-wal``, ``-shm`` or ``-journal``
    file, grants its group or others anything (mode wider than ``0600``):
    these files are the store's contents;
  - the directory holding the database is writable by its group or others:
    whoever can write there can replace the database or plant a ``-wal`` or
    ``-journal`` file that SQLite replays into it. A sticky, world-writable
    directory such as ``/tmp`` counts: the sticky bit stops others deleting
    our files, not creating those names before we do.

  A directory that others may only read or enter (``0755``, say
  ``/var/lib/mlc`` or a home directory) is accepted: it shows the files'
  names, never their contents, which the ``0600`` files keep to the owner.

Modes are checked, not owners. Only SQLite files are checked: a PostgreSQL
store has no local file, and who may read it is the server's to enforce
(its roles and ``pg_hba.conf``). POSIX permission bits are assumed.
"""

from __future__ import annotations

import errno
import os
import shlex
import stat
from pathlib import Path

from services.runtime.store.errors import StorePermissionError

__all__ = [
    "OWNER_ONLY_DIRECTORY",
    "OWNER_ONLY_FILE",
    "SQLITE_COMPANION_SUFFIXES",
    "create_owner_only_sqlite_file",
    "make_owner_only_directories",
]

OWNER_ONLY_FILE = 0o600
OWNER_ONLY_DIRECTORY = 0o700
# Files SQLite keeps beside the database; they hold the same rows as the database.
SQLITE_COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")

_GROUP_OR_OTHERS = stat.S_IRWXG | stat.S_IRWXO
_WRITABLE_BY_GROUP_OR_OTHERS = stat.S_IWGRP | stat.S_IWOTH


def create_owner_only_sqlite_file(database: Path) -> None:
    """Create ``database`` 0600 if missing, after checking its directory; then check the files.

    The directory must exist (:func:`make_owner_only_directories`). Raises
    StorePermissionError when the directory or a file is open to others (see
    the module docstring), OSError when the file cannot be created.
    """
    # The directory first: a file created in a directory others can write is theirs to swap.
    _refuse(_directory_problem(database.parent))
    _create_owner_only_file(database)
    _refuse(_file_problems(database))


def make_owner_only_directories(directory: Path) -> None:
    """Create ``directory`` and any missing parents 0700 whatever the umask; keep existing ones.

    Raises OSError (NotADirectoryError when a file stands in the way).
    """
    missing: list[Path] = []
    probe = directory
    while not probe.exists() and probe.parent != probe:
        missing.append(probe)
        probe = probe.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, OWNER_ONLY_DIRECTORY)
        except FileExistsError:
            continue  # another process made it meanwhile: it is checked like any existing one
        # mkdir's mode passes through the umask, which may take bits the owner needs.
        os.chmod(path, OWNER_ONLY_DIRECTORY)
    if not directory.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(directory))


def _create_owner_only_file(path: Path) -> None:
    try:
        # O_EXCL: never follows a symlink or adopts a file someone else just made.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY_FILE)
    except FileExistsError:
        return
    try:
        # os.open's mode passes through the umask too; set exactly 0600.
        os.fchmod(fd, OWNER_ONLY_FILE)
    finally:
        os.close(fd)


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None


def _directory_problem(directory: Path) -> str | None:
    mode = _mode(directory)
    if mode is None or not mode & _WRITABLE_BY_GROUP_OR_OTHERS:
        return None
    where = _shown(directory)
    if mode & stat.S_ISVTX:
        return (
            f"the directory {where} holding the state store is shared (mode {mode:04o}): "
            "others can create the store's files there before it does. "
            "Point MLC_DATABASE_URL at a directory only this user can write "
            f"(the store creates a missing one with mode {OWNER_ONLY_DIRECTORY:04o})"
        )
    return (
        f"the directory {where} holding the state store is writable by its group or others "
        f"(mode {mode:04o}), so they could replace the store's files. "
        f"Fix it, then start again: chmod 700 {shlex.quote(where)}"
    )


def _file_problems(database: Path) -> str | None:
    paths = [database, *(Path(f"{database}{suffix}") for suffix in SQLITE_COMPANION_SUFFIXES)]
    open_to_others: list[tuple[str, int]] = []
    for path in paths:
        try:
            status = path.stat()
        except FileNotFoundError:
            continue
        mode = stat.S_IMODE(status.st_mode)
        # Not a regular file (a directory, say): SQLite itself says what is wrong.
        if stat.S_ISREG(status.st_mode) and mode & _GROUP_OR_OTHERS:
            open_to_others.append((_shown(path), mode))
    if not open_to_others:
        return None
    listed = ", ".join(f"{where} has mode {mode:04o}" for where, mode in open_to_others)
    command = " ".join(["chmod", "600", *(shlex.quote(where) for where, _ in open_to_others)])
    return (
        f"the state store is open to other users: {listed} (group or others may use it); "
        "it holds the encrypted credentials, the audit log and people's work emails, "
        f"so it must be owner-only ({OWNER_ONLY_FILE:04o}). Fix it, then start again: {command}"
    )


def _shown(path: Path) -> str:
    """The path as a message shows it: absolute, so the printed command works from anywhere."""
    return str(path.absolute())


def _refuse(problem: str | None) -> None:
    if problem is not None:
        raise StorePermissionError(problem)
