"""The traffic router: picks the variant that answers a request, by weight.

Sticky when the caller sends a routing key (the same key always lands on the same variant while
the weights stay the same: a hash of the key is placed on the cumulative weights), random
otherwise. Variants with weight 0 receive nothing, unless a caller targets them by name.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from hashlib import blake2b
from typing import Generic, TypeVar

T = TypeVar("T")


class Router(Generic[T]):
    """Immutable weighted choice over items (variants); cheap to call per request."""

    __slots__ = ("_bounds", "_by_name", "_items", "_total")

    def __init__(self, items: Sequence[tuple[str, int, T]]) -> None:
        self._items: list[T] = []
        self._bounds: list[int] = []
        self._by_name: dict[str, T] = {}
        total = 0
        for name, weight, item in items:
            self._by_name[name] = item
            if weight > 0:
                total += weight
                self._items.append(item)
                self._bounds.append(total)
        self._total = total

    def __bool__(self) -> bool:
        return self._total > 0

    def pick(self, key: str | None = None, target: str | None = None) -> T:
        """The item for a request: `target` names one directly; `key` makes the choice sticky."""
        if target is not None and target in self._by_name:
            return self._by_name[target]
        if len(self._items) == 1:
            return self._items[0]
        if key is None:
            point = random.random() * self._total
        else:
            digest = int.from_bytes(blake2b(key.encode(), digest_size=8).digest(), "big")
            point = digest / 18446744073709551616.0 * self._total
        return self._items[bisect_right(self._bounds, point)]
