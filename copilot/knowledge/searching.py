"""The search half of the knowledge base: dense and keyword search over the live sections.

`store.KnowledgeBase` owns the catalog (which sections are live), writes, and the version that
tells a replica another one changed the knowledge base. This half owns what a replica keeps in
memory only to search: the live vectors for exact search, each kind's share of the sections,
each document's mean vector, and on PostgreSQL an FTS5 keyword index. The store drops all of it
(`drop`) whenever the knowledge base changes.

The two halves share one thing, `Changes`: the lock and the count of changes this process has
seen. Whatever is built from the knowledge base is kept only if no change came while it was
built, so a copy made across a change is used once and never cached.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from sqlalchemy import Connection, func, select

from copilot.embedding import Embedder, Vectors
from copilot.knowledge import keyword
from copilot.knowledge.keyword import MemoryKeywordIndex
from copilot.knowledge.models import Chunk
from copilot.knowledge.tables import FTS_TABLE, kb_chunks
from copilot.knowledge.terms import keyword_terms
from copilot.knowledge.vectors import (
    ChromaVectors,
    Exact,
    build_exact,
    exact_means,
    exact_similarities,
    exact_top,
    unit,
)
from copilot.settings import Settings

# A kind-filtered dense search first asks Chroma for this many times the neighbours, unfiltered.
DENSE_OVERFETCH = 3


class Changes:
    """The changes this process has seen, counted under one lock (re-entrant: the store holds
    it across a write transaction)."""

    def __init__(self) -> None:
        self.mutex = threading.RLock()
        self._seen = 0

    @property
    def seen(self) -> int:
        with self.mutex:
            return self._seen

    def bump(self) -> None:
        with self.mutex:
            self._seen += 1

    def keep(self, since: int, keep: Callable[[], None]) -> None:
        """Run `keep` (which caches something built) only if nothing changed `since`."""
        with self.mutex:
            if since == self._seen:
                keep()


class Catalog(Protocol):
    """What search reads from the store."""

    settings: Settings
    embedder: Embedder

    @property
    def is_postgresql(self) -> bool: ...

    def refresh(self, *, force: bool = False) -> bool: ...

    def reading(self) -> contextlib.AbstractContextManager[Connection]: ...

    def all_chunks(self) -> list[Chunk]: ...

    def document_chunks(self, source: str) -> list[Chunk]: ...

    def vectors_for(self, ids: Sequence[str]) -> dict[str, Vectors]: ...


class Search:
    """Dense and keyword search, with this replica's in-memory copies for them."""

    def __init__(self, catalog: Catalog, vectors: ChromaVectors, changes: Changes) -> None:
        self._catalog = catalog
        self._vectors = vectors
        self._changes = changes
        # Each document's mean section vector (near twins).
        self._document_vectors: dict[str, np.ndarray] = {}
        # Share of the live chunks of each kind.
        self._kind_shares: dict[str, float] | None = None
        # Live vectors in memory for exact search (ids, unit-length rows, kinds), or False when
        # the store is too large for it; None until first needed, and again after every change.
        self._exact: Exact | bool | None = None
        self._exact_lock = threading.Lock()
        # PostgreSQL: the FTS5 index this replica keeps in memory, built from kb_chunks.
        self._memory_fts: MemoryKeywordIndex | None = None
        self._fts_lock = threading.Lock()
        self._fts_build = threading.Lock()

    def drop(self) -> None:
        """Forget every in-memory copy (the knowledge base changed)."""
        with self._changes.mutex:
            self._document_vectors.clear()
            self._kind_shares = None
            self._exact = None
        self.close()

    def close(self) -> None:
        with self._fts_lock:
            if self._memory_fts is not None:
                self._memory_fts.close()
                self._memory_fts = None

    # -- dense -------------------------------------------------------------------------------

    def dense_search(
        self, vector: Vectors, *, n: int, kind: str | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first."""
        self._catalog.refresh()
        exact = self.exact_index()
        if exact is not None:
            return exact_top(exact, vector, n=n, kind=kind)
        # No count() first: it costs more than the query (18 ms at 1.4k chunks), and Chroma
        # returns fewer results, or none, when the collection holds fewer than n.
        if kind is None:
            return [(cid, sim) for cid, sim, _ in self._vectors.query(vector, n=n, where=None)]
        # Chroma's `where` filter is slow when it admits most of the collection (18 ms for
        # "runbook" at 6k chunks, against 1 ms unfiltered): ask for more unfiltered neighbours
        # and keep those of the kind; filter in Chroma only when too few of them are left,
        # which is when the kind is rare and the filtered query is cheap.
        mine: list[tuple[str, float]] = []
        wider: list[tuple[str, float, str]] = []
        if self._kind_share(kind) * DENSE_OVERFETCH >= 1.0:
            wider = self._vectors.query(vector, n=n * DENSE_OVERFETCH, where=None)
            mine = [(cid, sim) for cid, sim, found in wider if found == kind]
        if len(mine) < n and (not wider or len(wider) == n * DENSE_OVERFETCH):
            mine = [(cid, sim) for cid, sim, _ in self._vectors.query(vector, n=n, where=kind)]
        return mine[:n]

    def similarities(self, vector: Vectors, ids: Sequence[str]) -> dict[str, float]:
        """The cosine similarity of `vector` to each of these sections that has a vector, as
        `dense_search` measures it: from the in-memory copy when there is one."""
        exact = self.exact_index()
        if exact is not None:
            return exact_similarities(exact, vector, ids)
        query = unit(vector)
        return {cid: float(unit(v) @ query) for cid, v in self._catalog.vectors_for(ids).items()}

    def document_vectors(self, sources: Sequence[str]) -> dict[str, np.ndarray]:
        """Each live document's mean section vector, unit length (what the document is about
        as a whole); from the in-memory copy when there is one, kept until the next change."""
        wanted = {src: [c.id for c in self._catalog.document_chunks(src)] for src in sources}
        with self._changes.mutex:
            known = {s: self._document_vectors[s] for s in wanted if s in self._document_vectors}
            since = self._changes.seen
        missing = {src: cids for src, cids in wanted.items() if src not in known}
        if not missing:
            return known
        rows: dict[str, np.ndarray] = {}
        exact = self.exact_index()
        if exact is not None:
            rows = exact_means(exact, missing)
        else:
            vectors = self._catalog.vectors_for([c for cids in missing.values() for c in cids])
            for src, cids in missing.items():
                some = [vectors[c] for c in cids if c in vectors]
                if some:
                    rows[src] = np.mean(np.stack(some), axis=0)
        made = {
            src: (row / max(float(np.linalg.norm(row)), 1e-12)).astype(np.float32)
            for src, row in rows.items()
        }
        self._changes.keep(since, lambda: self._document_vectors.update(made))
        return {**known, **made}

    def exact_index(self) -> Exact | None:
        """The in-memory copy of the live vectors, built on first use after a change."""
        with self._exact_lock:
            built = self._exact
            if built is None:
                since = self._changes.seen
                built = self._build_exact()

                def keep() -> None:
                    self._exact = built

                self._changes.keep(since, keep)
            return built if isinstance(built, tuple) else None

    def _build_exact(self) -> Exact | bool:
        with self._catalog.reading() as conn:
            rows = conn.execute(
                select(kb_chunks.c.id, kb_chunks.c.kind).order_by(
                    kb_chunks.c.source, kb_chunks.c.ordinal
                )
            ).all()
        if len(rows) > self._catalog.settings.exact_search_max_chunks:
            return False
        vectors = self._catalog.vectors_for([r[0] for r in rows])
        dimension = self._catalog.embedder.dimension
        return build_exact([(cid, kind) for cid, kind in rows], vectors, dimension)

    def _kind_share(self, kind: str) -> float:
        with self._changes.mutex:
            shares = self._kind_shares
        if shares is None:
            with self._catalog.reading() as conn:
                rows = conn.execute(
                    select(kb_chunks.c.kind, func.count()).group_by(kb_chunks.c.kind)
                ).all()
            counts = {k: int(c) for k, c in rows}
            total = sum(counts.values()) or 1
            shares = {k: c / total for k, c in counts.items()}
            with self._changes.mutex:
                self._kind_shares = shares
        return shares.get(kind, 0.0)

    # -- keyword -----------------------------------------------------------------------------

    def keyword_search(
        self, query: str, *, n: int, kind: str | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score, higher is better) best first."""
        terms = keyword_terms(query)
        if not terms:
            return []
        match = keyword.match_expression(terms)
        if self._catalog.is_postgresql:
            self._catalog.refresh()
            return self.keyword_index().search(match, kind=kind, n=n)
        with self._catalog.reading() as conn:
            rows = conn.exec_driver_sql(
                keyword.search_sql(FTS_TABLE, kind=bool(kind)),
                keyword.search_params(match, kind=kind, n=n),
            ).all()
        return [(r[0], float(r[1])) for r in rows]

    def keyword_index(self) -> MemoryKeywordIndex:
        """This replica's in-memory FTS5 index of the live chunks, built after each change."""
        with self._fts_lock:
            if self._memory_fts is not None:
                return self._memory_fts
        with self._fts_build:  # one build at a time; searches meanwhile wait for it
            with self._fts_lock:
                if self._memory_fts is not None:
                    return self._memory_fts
            since = self._changes.seen
            index = MemoryKeywordIndex(self._catalog.all_chunks())

            def keep() -> None:
                with self._fts_lock:
                    self._memory_fts = index

            self._changes.keep(since, keep)
        return index
