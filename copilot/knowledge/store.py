"""Persistent knowledge base: Chroma for vectors, the one database for the catalog and keywords.

The catalog (`kb_documents`, `kb_chunks`, `kb_state`: see copilot/knowledge/tables.py) is the
source of truth for which chunks are live. Writing a document upserts its vectors into Chroma
first, then swaps its rows in the catalog in one transaction (bumping the knowledge-base
version), then deletes vectors that are no longer referenced. A crash at any point leaves either
the old or the new document visible, never half of one; vectors that a crash orphaned are swept
on the next ingest.

By default the database is the SQLite file of the data directory, Chroma is embedded in it, and
one process owns the store (`store.lock`). Scaled out (`COPILOT_DATABASE_URL` on PostgreSQL and
`COPILOT_CHROMA_URL`), any number of replicas share both: nothing is locked on local disk, an
ingest holds a PostgreSQL advisory lock, and each replica polls the version to drop what it keeps
in memory (chunks, vectors for exact search, the keyword index, word stems) when another one
changed the knowledge base.

The Chroma side (the collection, the in-memory copy for exact search) is `vectors.py`; dense and
keyword search, with what a replica keeps in memory only to search, is `searching.py`; who may
write (the data directory's lock, the ingest advisory lock) is `locks.py`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from copilot.db import Database
from copilot.db.database import unavailable
from copilot.embedding import Embedder, Vectors
from copilot.errors import StoreMismatch
from copilot.knowledge import keyword
from copilot.knowledge.keyword import BM25_WEIGHTS
from copilot.knowledge.locks import IngestBusy, StoreLock, advisory_lock, now_text
from copilot.knowledge.models import Chunk, Kind
from copilot.knowledge.searching import Changes, Search
from copilot.knowledge.tables import FTS_TABLE, insert_chunks, kb_chunks, kb_documents, kb_state
from copilot.knowledge.terms import WORD, parts, stem
from copilot.knowledge.vectors import (
    DISTANCE,
    ChromaVectors,
    VectorsUnavailable,
)
from copilot.settings import Settings

__all__ = [
    "BM25_WEIGHTS",
    "DISTANCE",
    "IngestBusy",
    "KnowledgeBase",
    "VectorsUnavailable",
    "stems_of",
]

T = TypeVar("T")
log = logging.getLogger("copilot.knowledge")

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class FileRecord:
    source: str
    root: str
    sha256: str
    kind: str
    title: str
    chunk_ids: tuple[str, ...]


def stems_of(chunks: Iterable[Chunk]) -> frozenset[str]:
    """Stems of every word a document shows: titles, headings, alert names, tags and text."""
    terms: set[str] = set()
    for chunk in chunks:
        text = " ".join((chunk.title, chunk.section, keyword.keywords_field(chunk), chunk.text))
        terms.update(stem(part) for word in WORD.findall(text) for part in parts(word))
    return frozenset(terms)


class KnowledgeBase:
    """The indexed runbooks and postmortems of one data directory, or of a shared database."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        *,
        lock: bool = True,
        database: Database | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self._owns_database = database is None
        self._database: Database | None = database
        self._lock: StoreLock | None = None
        # The lock for what this process keeps in memory, and the count of changes it has seen
        # (shared with the search half: a copy built across a change is not kept).
        self._changes = Changes()
        self._mutex = self._changes.mutex
        self._hosts_cache: set[str] | None = None
        # Live chunks by id, read-through; cleared by every write and version change.
        self._chunk_cache: dict[str, Chunk] = {}
        # Live chunks of each document, in document order (ask and search read a few documents
        # whole on every request); read-through, cleared likewise.
        self._document_cache: dict[str, tuple[Chunk, ...]] = {}
        self._hosts_lock = threading.Lock()  # one reader of the link hosts at a time
        # Views computed from the whole knowledge base by the layers above (links between
        # documents), by name; cleared likewise.
        self._derived: dict[str, Any] = {}
        # Word stems of each live document: loaded in one scan when first asked for, then kept
        # current by this process's writes and dropped when another process changed the base.
        self._terms_cache: dict[str, frozenset[str]] | None = None
        # The knowledge-base version the caches above reflect, and when it was last read.
        self._version: int | None = None
        self._checked_at = 0.0
        self._ingest_mutex = threading.Lock()
        try:
            if self._database is None:
                self._database = Database.open(settings)
            # Scaled out (shared database and Chroma server) nothing on local disk is shared
            # state, so replicas take no data-directory lock; an ingest takes an advisory lock.
            if lock and not self.shared:
                self._lock = StoreLock(settings.lock_path)
                self._lock.acquire()
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            from copilot.knowledge.legacy import import_legacy_catalog

            import_legacy_catalog(self)
            self._check_identity()
            self._vectors = ChromaVectors(settings, embedder, self.identity, self._mismatch)
            self._search = Search(self, self._vectors, self._changes)
        except BaseException:
            self.close()
            raise

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def database(self) -> Database:
        assert self._database is not None, "the knowledge base is closed"
        return self._database

    @property
    def is_postgresql(self) -> bool:
        return self.database.is_postgresql

    @property
    def shared(self) -> bool:
        """Whether replicas share this store: a database server and a Chroma server."""
        return self.database.dialect != "sqlite" and bool(self.settings.chroma_url)

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "embedding_model": self.embedder.name,
            "dimension": self.embedder.dimension,
            "distance": DISTANCE,
            "schema": SCHEMA_VERSION,
        }

    def _mismatch(self, found: dict[str, Any]) -> StoreMismatch:
        want = self.identity
        where = self.settings.data_dir if self.database.dialect == "sqlite" else "the database"
        return StoreMismatch(
            f"the knowledge base in {where} was built with model "
            f"{found.get('embedding_model')!r} (dimension {found.get('dimension')}, "
            f"{found.get('distance')} distance, schema {found.get('schema')}), but the settings "
            f"ask for {want['embedding_model']!r} (dimension {want['dimension']}, "
            f"{want['distance']}, schema {want['schema']}). Rebuild it with "
            "`copilot ingest --rebuild PATH`, or point COPILOT_DATA_DIR at a new directory."
        )

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only connection; a database that does not answer is a 503."""
        try:
            with self.database.reading() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise unavailable(exc, self.database.safe_url) from exc

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        try:
            with self.database.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise unavailable(exc, self.database.safe_url) from exc

    def _check_identity(self) -> None:
        with self._writing() as conn:
            found = conn.execute(
                select(kb_state.c.identity).where(kb_state.c.id == 1)
            ).scalar_one_or_none()
            if found is None:
                conn.execute(update(kb_state).values(identity=self.identity))
        if found is not None and found != self.identity:
            raise self._mismatch(found)

    def close(self) -> None:
        if "_search" in self.__dict__:  # not when opening failed before it was made
            self._search.close()
        if "_vectors" in self.__dict__:
            # Chroma keeps an embedded store's files open until its client is closed: ~11
            # descriptors per store, which a process opening many stores ran out of.
            self._vectors.close()
        if self._database is not None and self._owns_database:
            self._database.close()
        self._database = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the version: what tells a replica that another one changed the knowledge base ------

    def version(self) -> int:
        """The knowledge-base version in the database (every write bumps it)."""
        with self.reading() as conn:
            return int(conn.execute(select(kb_state.c.version)).scalar_one())

    @property
    def generation(self) -> int:
        """Bumped each time this process drops what it keeps in memory: a search that sees it
        change while it runs may have read one half from before and one from after."""
        return self._changes.seen

    def refresh(self, *, force: bool = False) -> bool:
        """Drop what this process keeps in memory if the knowledge base changed since; read the
        version at most every `kb_refresh_s` seconds. True when something was dropped."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.settings.kb_refresh_s:
            return False
        self._checked_at = now
        current = self.version()
        with self._mutex:
            if current == self._version:
                return False
            changed = self._version is not None
            self._invalidate(keep_terms=False)
            self._version = current
        if changed:
            log.info("the knowledge base changed (version %s): caches dropped", current)
        return changed

    def _invalidate(self, *, keep_terms: bool) -> None:
        """Forget what was read from the catalog (called with the mutex held)."""
        self._chunk_cache.clear()
        self._document_cache.clear()
        self._hosts_cache = None
        self._derived.clear()
        self._changes.bump()
        if not keep_terms:
            self._terms_cache = None
        self._search.drop()

    # -- writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A write transaction that bumps the version; this process's caches are dropped."""
        with self._mutex:
            self._invalidate(keep_terms=True)
            with self._writing() as conn:
                yield conn
                version = conn.execute(
                    update(kb_state)
                    .values(version=kb_state.c.version + 1, changed_at=datetime.now(UTC))
                    .returning(kb_state.c.version)
                ).scalar_one()
            # Only when nothing else changed in between do the caches reflect this version.
            self._version = int(version) if self._version == int(version) - 1 else None
            if self._version is None:
                self._checked_at = 0.0

    @contextlib.contextmanager
    def ingest_lock(self, *, wait_s: float = 0.0) -> Iterator[None]:
        """Hold the knowledge base for one ingest: a second one waits up to `wait_s` seconds,
        then is told who holds it (IngestBusy). On PostgreSQL this is a session advisory lock,
        so replicas serialise; on SQLite one process owns the store (`store.lock`) already."""
        holder = f"{socket.gethostname()} pid {os.getpid()}, since {now_text()}"
        deadline = time.monotonic() + wait_s
        while not self._ingest_mutex.acquire(timeout=0.2):
            if time.monotonic() >= deadline:
                raise IngestBusy(
                    "an ingest is already running in this process; try again when it is done"
                )
        try:
            if not self.is_postgresql:
                yield
                return
            with advisory_lock(self.database, holder, deadline):
                yield
        finally:
            self._ingest_mutex.release()

    def files(self) -> dict[str, FileRecord]:
        t = kb_documents.c
        with self.reading() as conn:
            rows = conn.execute(
                select(t.source, t.root, t.sha256, t.kind, t.title, t.chunk_ids)
            ).all()
        return {r[0]: FileRecord(r[0], r[1], r[2], r[3], r[4], tuple(r[5])) for r in rows}

    def upsert_vectors(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        """Write vectors for chunks; invisible to search until the catalog points at them."""
        if not chunks:
            return
        self._vectors.upsert(
            [c.id for c in chunks], [{"source": c.source, "kind": c.kind} for c in chunks], vectors
        )

    def replace_document(
        self,
        *,
        source: str,
        root: str,
        sha256: str,
        kind: Kind,
        title: str,
        chunks: Sequence[Chunk],
    ) -> list[str]:
        """Make `chunks` the live content of `source` atomically; return ids no longer used."""
        new_ids = [c.id for c in chunks]
        with self._transaction() as conn:
            old = conn.execute(select(kb_chunks.c.id).where(kb_chunks.c.source == source))
            old_ids = list(old.scalars())
            self._delete_rows(conn, source)
            insert_chunks(conn, chunks)
            conn.execute(delete(kb_documents).where(kb_documents.c.source == source))
            conn.execute(
                insert(kb_documents).values(
                    source=source,
                    root=root,
                    sha256=sha256,
                    kind=kind,
                    title=title,
                    chunk_ids=new_ids,
                    ingested_at=datetime.now(UTC),
                )
            )
            if self._terms_cache is not None:
                self._terms_cache[source] = stems_of(chunks)
        keep = set(new_ids)
        return [cid for cid in old_ids if cid not in keep]

    def remove_document(self, source: str) -> list[str]:
        with self._transaction() as conn:
            old = conn.execute(select(kb_chunks.c.id).where(kb_chunks.c.source == source))
            old_ids = list(old.scalars())
            self._delete_rows(conn, source)
            conn.execute(delete(kb_documents).where(kb_documents.c.source == source))
            if self._terms_cache is not None:
                self._terms_cache.pop(source, None)
        return old_ids

    def _delete_rows(self, conn: Connection, source: str) -> None:
        if not self.is_postgresql:
            conn.exec_driver_sql(
                f"DELETE FROM {FTS_TABLE} WHERE id IN (SELECT id FROM kb_chunks WHERE source = ?)",
                (source,),
            )
        conn.execute(delete(kb_chunks).where(kb_chunks.c.source == source))

    def delete_vectors(self, ids: Iterable[str]) -> None:
        self._vectors.delete(ids)

    def existing_vector_ids(self, ids: Sequence[str]) -> set[str]:
        return self._vectors.existing(ids)

    def vectors_for(self, ids: Sequence[str]) -> dict[str, Vectors]:
        return self._vectors.get(ids)

    def sweep_orphans(self) -> int:
        """Delete vectors that no live chunk references (left by an interrupted write)."""
        with self.reading() as conn:
            live = set(conn.execute(select(kb_chunks.c.id)).scalars())
        stored = self._vectors.all_ids()
        orphans = [i for i in stored if i not in live]
        self.delete_vectors(orphans)
        return len(orphans)

    def rebuild(self) -> None:
        """Drop everything indexed so far, and the identity check with it."""
        with self._transaction() as conn:
            self._terms_cache = None
            conn.execute(delete(kb_documents))
            conn.execute(delete(kb_chunks))
            if not self.is_postgresql:
                conn.exec_driver_sql(f"DELETE FROM {FTS_TABLE}")
            conn.execute(update(kb_state).values(identity=self.identity))
        self._vectors.reset()

    # -- reading -----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        with self.reading() as conn:
            files = conn.execute(select(func.count()).select_from(kb_documents)).scalar_one()
            chunks = conn.execute(select(func.count()).select_from(kb_chunks)).scalar_one()
        vectors = self._vectors.count()
        return {"files": int(files), "chunks": int(chunks), "vectors": vectors}

    def chunks(self, ids: Sequence[str]) -> dict[str, Chunk]:
        if not ids:
            return {}
        self.refresh()
        with self._mutex:
            cached = {cid: self._chunk_cache[cid] for cid in ids if cid in self._chunk_cache}
            since = self._changes.seen
        missing = [cid for cid in ids if cid not in cached]
        if not missing:
            return cached
        found: dict[str, Chunk] = {}
        with self.reading() as conn:
            for i in range(0, len(missing), 500):
                rows = conn.execute(
                    select(kb_chunks.c.id, kb_chunks.c.body).where(
                        kb_chunks.c.id.in_(missing[i : i + 500])
                    )
                )
                found.update((cid, _chunk_from_json(body)) for cid, body in rows)
        self._changes.keep(since, lambda: self._chunk_cache.update(found))
        return {**cached, **found}

    def document_chunks(self, source: str) -> list[Chunk]:
        """Every live section of one document, in document order."""
        self.refresh()
        with self._mutex:
            cached = self._document_cache.get(source)
            since = self._changes.seen
        if cached is not None:
            return list(cached)
        with self.reading() as conn:
            rows = conn.execute(
                select(kb_chunks.c.body)
                .where(kb_chunks.c.source == source)
                .order_by(kb_chunks.c.ordinal)
            ).scalars()
            found = sorted((_chunk_from_json(body) for body in rows), key=lambda c: c.ordinal)
        # Not an unknown source: the name may come from a request.
        if found:
            self._changes.keep(since, lambda: self._document_cache.update({source: tuple(found)}))
        return found

    def document_terms(self, sources: Iterable[str]) -> dict[str, frozenset[str]]:
        """Word stems of each named live document."""
        self.refresh()
        with self._mutex:
            if self._terms_cache is None:
                self._terms_cache = self._load_terms()
            cache = self._terms_cache
            return {source: cache.get(source, frozenset()) for source in sources}

    def _load_terms(self) -> dict[str, frozenset[str]]:
        by_source: dict[str, list[Chunk]] = {}
        for chunk in self.all_chunks():
            by_source.setdefault(chunk.source, []).append(chunk)
        return {source: stems_of(chunks) for source, chunks in by_source.items()}

    def known_hosts(self) -> set[str]:
        """Host names in links of the knowledge base, outside text aimed at an AI (cached).

        Reading them screens every section that names a host (seconds on a large knowledge
        base): done without the mutex, so searches go on meanwhile, by one thread at a time (an
        ask waits for the server's warm-up rather than doing it again), and kept only if nothing
        changed."""
        self.refresh()
        with self._hosts_lock:
            with self._mutex:
                if self._hosts_cache is not None:
                    return set(self._hosts_cache)
                since = self._changes.seen
            from copilot.guardrails.injection import isolate
            from copilot.guardrails.verify import hosts_in

            hosts: set[str] = set()
            for chunk in self.all_chunks():
                # Screening only removes text: a section that names no host needs none.
                if hosts_in(chunk.text):
                    hosts |= hosts_in(isolate(chunk.text).text)

            def keep() -> None:
                self._hosts_cache = hosts

            self._changes.keep(since, keep)
            return set(hosts)

    def derived(self, name: str, build: Callable[[KnowledgeBase], T]) -> T:
        """A view of the whole knowledge base, `build(self)`, computed once and kept until the
        knowledge base changes (kept only if nothing changed while it was built)."""
        self.refresh()
        with self._mutex:
            if name in self._derived:
                return cast(T, self._derived[name])
            since = self._changes.seen
        value = build(self)
        self._changes.keep(since, lambda: self._derived.update({name: value}))
        return value

    def all_chunks(self) -> list[Chunk]:
        with self.reading() as conn:
            rows = conn.execute(
                select(kb_chunks.c.body).order_by(kb_chunks.c.source, kb_chunks.c.ordinal)
            ).scalars()
            return [_chunk_from_json(body) for body in rows]

    # -- search (the search half: searching.py) ----------------------------------------------

    @property
    def searcher(self) -> Search:
        """Dense and keyword search, with this replica's in-memory copies for them."""
        return self._search

    def dense_search(
        self, vector: Vectors, *, n: int, kind: str | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first."""
        return self._search.dense_search(vector, n=n, kind=kind)

    def similarities(self, vector: Vectors, ids: Sequence[str]) -> dict[str, float]:
        """The cosine similarity of `vector` to each of these sections, as dense search has it."""
        return self._search.similarities(vector, ids)

    def document_vectors(self, sources: Sequence[str]) -> dict[str, np.ndarray]:
        """Each live document's mean section vector, unit length."""
        return self._search.document_vectors(sources)

    def keyword_search(
        self, query: str, *, n: int, kind: str | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score, higher is better) best first."""
        return self._search.keyword_search(query, n=n, kind=kind)

    def warm(self) -> None:
        """Load what the first search would otherwise build (vectors in memory, word stems,
        and on PostgreSQL the keyword index)."""
        self.refresh(force=True)
        self._search.exact_index()
        self.document_terms(())
        if self.is_postgresql:
            self._search.keyword_index()

    def health(self) -> dict[str, bool]:
        """Whether the database and the vector store answer (each checked on its own)."""
        checks = {"database": False, "vectors": False}
        try:
            with self.reading() as conn:
                conn.execute(select(kb_state.c.version)).scalar_one()
            checks["database"] = True
        except Exception as exc:  # any failure means not ready, whatever its type
            log.warning("readiness: the database does not answer: %s", exc)
        try:
            self._vectors.heartbeat()
            checks["vectors"] = True
        except Exception as exc:
            log.warning("readiness: the vector store does not answer: %s", exc)
        return checks

    def ping(self) -> bool:
        with self.reading() as conn:
            conn.execute(text("SELECT 1")).scalar()
        self._vectors.heartbeat()
        return True


def _chunk_from_json(body: str) -> Chunk:
    data = json.loads(body)
    for name in ("services", "tags", "alerts", "sanitized"):
        data[name] = tuple(data.get(name) or ())
    return Chunk(**data)
