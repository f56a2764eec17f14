"""The state store's errors: one base, so callers can catch the store as a whole."""

from __future__ import annotations

__all__ = ["RecordNotFoundError", "StaleRevisionError", "StoreError", "StorePermissionError"]


class StoreError(RuntimeError):
    """The state store cannot be opened or used; the message says what to change."""


class RecordNotFoundError(StoreError):
    """The row to change does not exist."""


class StaleRevisionError(StoreError):
    """A compare-and-set write found another revision than the one it expected."""


class StorePermissionError(StoreError):
    """The SQLite store's file or directory is open to other users; the message says the chmod."""
