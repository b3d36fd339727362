"""The page's renderings, cached for one version of its sources and one minute."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import func, select

from copilot.incidents.db import IncidentStore
from copilot.status.models import StatusDraft
from copilot.statuspage.config import PageConfig
from copilot.statuspage.models import Maintenance, MaintenanceUpdate


def version(store: IncidentStore) -> tuple[Any, ...]:
    """What changes whenever the page's sources do: two small aggregate queries."""
    published = (StatusDraft.audience == "public", StatusDraft.published_at.is_not(None))
    with store.read() as session:
        updates = session.execute(
            select(func.count(StatusDraft.id), func.max(StatusDraft.published_at)).where(*published)
        ).one()
        windows = session.execute(
            select(
                func.count(Maintenance.id),
                func.max(Maintenance.updated_at),
                select(func.max(MaintenanceUpdate.id)).scalar_subquery(),
            )
        ).one()
    return (*updates, *windows)


class PageCache:
    """The page's state and renderings for one version of its sources and one minute.

    A published update or a maintenance change is a new version, so the page is never stale
    after one; the minute bounds how old the uptime figures and "today" can be.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # One build at a time: requests that arrive while the page is being built are answered
        # with the previous rendering when there is one (a build can wait seconds for the
        # embedding model while the knowledge base re-ingests), else wait for the build and
        # reuse it. Re-entrant: the HTML asks for the state.
        self._build = threading.RLock()
        self._key: Hashable = None
        self._items: dict[str, Any] = {}
        self._last: dict[str, Any] = {}

    def _cached(self, key: Hashable, kind: str) -> tuple[bool, Any]:
        with self._lock:
            if key != self._key:
                self._key, self._items = key, {}
            return (kind in self._items, self._items.get(kind))

    def get(self, key: Hashable, kind: str, make: Callable[[], Any]) -> Any:
        found, value = self._cached(key, kind)
        if found:
            return value
        if not self._build.acquire(blocking=False):
            with self._lock:
                if kind in self._last:
                    return self._last[kind]
            self._build.acquire()
        try:
            found, value = self._cached(key, kind)
            if found:
                return value
            made = make()
            with self._lock:
                self._last[kind] = made
                if key == self._key:
                    self._items[kind] = made
            return made
        finally:
            self._build.release()


def cache_key(store: IncidentStore, config: PageConfig) -> tuple[Any, ...]:
    minute = store.now().replace(second=0, microsecond=0)
    return (config, version(store), minute)
