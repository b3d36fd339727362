"""A bounded, thread-safe least-recently-used map, for the caches of embedded texts.

The embedder, the injection detector and the insights report each keep vectors or scores of
texts they have seen; this is the one implementation they share."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    """At most `size` entries; the one used least recently leaves first (size 0 keeps none)."""

    def __init__(self, size: int) -> None:
        self.size = max(0, size)
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def found(self, keys: Iterable[K]) -> dict[K, V]:
        """The entries held for `keys`, each marked as just used."""
        with self._lock:
            hits = {k: v for k in keys if (v := self._data.get(k)) is not None}
            for key in hits:
                self._data.move_to_end(key)
            return hits

    def keep(self, items: Iterable[tuple[K, V]]) -> None:
        """Store `items` as the most recently used, dropping the oldest past the size."""
        if not self.size:
            return
        with self._lock:
            for key, value in items:
                self._data[key] = value
                self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
