"""The shared cache: bounded, least recently used leaves first, and size 0 keeps nothing."""

from __future__ import annotations

from copilot.lru import LRUCache


def test_the_least_recently_used_entry_leaves_first() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.keep([("a", 1), ("b", 2)])
    assert cache.get("a") == 1  # "a" is now the most recent; "b" the oldest
    cache.keep([("c", 3)])
    assert cache.found(["a", "b", "c"]) == {"a": 1, "c": 3}
    assert len(cache) == 2


def test_found_marks_what_it_returns_as_used() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.keep([("a", 1), ("b", 2)])
    assert cache.found(["a", "missing"]) == {"a": 1}
    cache.keep([("c", 3)])
    assert cache.get("b") is None and cache.get("a") == 1


def test_a_kept_key_is_refreshed_and_updated() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.keep([("a", 1), ("b", 2), ("a", 10)])
    cache.keep([("c", 3)])
    assert cache.found(["a", "b", "c"]) == {"a": 10, "c": 3}


def test_size_zero_keeps_nothing_and_clear_empties() -> None:
    empty: LRUCache[str, int] = LRUCache(0)
    empty.keep([("a", 1)])
    assert empty.get("a") is None and len(empty) == 0
    cache: LRUCache[str, int] = LRUCache(3)
    cache.keep([("a", 1)])
    cache.clear()
    assert cache.get("a") is None
