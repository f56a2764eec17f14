"""Page-number pagination with the clamping most vendors do (out-of-range pages answer the last)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Page", "page_of"]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int
    pages: int

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None

    @property
    def prev_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None


def page_of(
    items: Sequence[T], *, page: int, per_page: int, max_per_page: int, clamp: bool = True
) -> Page[T]:
    """The `page`-th slice (1-based); `per_page` capped; with `clamp` the page stays in range."""
    size = max(1, min(per_page, max_per_page))
    pages = max(1, math.ceil(len(items) / size))
    number = min(max(1, page), pages) if clamp else max(1, page)
    start = (number - 1) * size
    return Page(
        items=list(items[start : start + size]),
        page=number,
        per_page=size,
        total=len(items),
        pages=pages,
    )
