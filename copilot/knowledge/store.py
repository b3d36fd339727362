"""Persistent knowledge base: Chroma for vectors, a SQLite catalog for keywords and truth.

The SQLite catalog is the source of truth for which chunks are live. Writing a document upserts
its vectors into Chroma first, then swaps its rows in the catalog in one transaction, then deletes
vectors that are no longer referenced. A crash at any point leaves either the old or the new
document visible, never half of one; vectors that a crash orphaned are swept on the next ingest.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Embeddable, EmbeddingFunction, Embeddings, Space

from copilot.embedding import Embedder, Vectors
from copilot.errors import ConfigError, StoreLocked, StoreMismatch
from copilot.filelock import FileLock
from copilot.knowledge.models import Chunk, Kind
from copilot.settings import Settings

SCHEMA_VERSION = 1
# BM25 column weights: title, section heading, keywords (alerts, tags, services), text.
BM25_WEIGHTS = (4.0, 1.5, 3.0, 1.0)
DISTANCE = "cosine"
_WORD = re.compile(r"[A-Za-z0-9]+(?:['_.][A-Za-z0-9]+)*")
# An in-memory copy of live vectors: chunk ids, unit-length rows, kinds.
_Exact = tuple[list[str], np.ndarray, np.ndarray]
# A kind-filtered dense search first asks Chroma for this many times the neighbours, unfiltered.
DENSE_OVERFETCH = 3
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_STOPWORDS = frozenset(
    """
    a an and are as at be been but by can could do does for from has have how i if in into is it
    its me my no not of on or our so some that the their them then there these they this to was
    we were what when where which while who why will with you your after again all also am any
    because before being both did doing down during each few further had having he her here him
    his just more most nor now only other out over own same she should than too under until up
    very us keeps keep getting get got seems
    """.split()
)


class StoreLock(FileLock):
    """The lock of a knowledge base's persist directory, held for the life of its owner."""

    def acquire(self) -> None:
        if not self.try_acquire():
            raise StoreLocked(
                f"the knowledge base in {self.path.parent} is in use by process {self.holder()}; "
                "one process owns a store at a time. If that is `copilot serve`, ingest through "
                'it: POST /v1/admin/ingest {"paths": [...]} with an admin key (`copilot keys '
                "create NAME --scope admin`); otherwise stop it and try again."
            )


@dataclass(frozen=True)
class FileRecord:
    source: str
    root: str
    sha256: str
    kind: str
    title: str
    chunk_ids: tuple[str, ...]


def split_camel(word: str) -> str:
    return _CAMEL.sub(" ", word)


def keyword_terms(text: str) -> list[str]:
    """Lower-cased content words of a query, CamelCase names split into their parts too."""
    terms: list[str] = []
    for word in _WORD.findall(text):
        for part in _parts(word):
            low = part.lower()
            if low not in _STOPWORDS and (len(low) > 1 or low.isdigit()) and low not in terms:
                terms.append(low)
    return terms


_SUFFIXES = ("ions", "ion", "ures", "ure", "ing", "es", "ed", "er", "s")


def stem(word: str) -> str:
    """A light stem for matching query words to document words: "failing" and "failed" meet.

    Deliberately crude (one suffix off, at most six letters kept): it only has to make the same
    word family collide, and a collision between unrelated words costs little in a coverage score.
    """
    low = word.lower()
    for suffix in _SUFFIXES:
        if low.endswith(suffix) and len(low) - len(suffix) >= 4:
            return low[: -len(suffix)][:6]
    return low[:6]


def stems_of(chunks: Iterable[Chunk]) -> frozenset[str]:
    """Stems of every word a document shows: titles, headings, alert names, tags and text."""
    terms: set[str] = set()
    for chunk in chunks:
        text = " ".join((chunk.title, chunk.section, _keywords_field(chunk), chunk.text))
        terms.update(stem(part) for word in _WORD.findall(text) for part in _parts(word))
    return frozenset(terms)


def _parts(word: str) -> list[str]:
    return [word] + (split_camel(word).split() if _CAMEL.search(word) else [])


def _keywords_field(chunk: Chunk) -> str:
    names = list(chunk.alerts) + [split_camel(a) for a in chunk.alerts]
    names += [t.replace("-", " ") for t in (*chunk.tags, *chunk.services)]
    names += list(chunk.services)
    return " ".join(names)


class ChromaEmbeddingFunction(EmbeddingFunction[Embeddable]):
    """Chroma's embedding-function protocol over our offline Embedder.

    Passing it explicitly keeps Chroma from ever reaching for its own default model.
    """

    def __init__(self, embedder: Embedder | None, model: str | None = None) -> None:
        self._embedder = embedder
        self._model = model or (embedder.name if embedder else "")

    def __call__(self, input: Embeddable) -> Embeddings:
        if self._embedder is None:  # built by Chroma from its stored config: load on first use
            self._embedder = Embedder(self._model)
        return list(self._embedder.embed([str(item) for item in input]))

    @staticmethod
    def name() -> str:
        return "responder-copilot"

    def get_config(self) -> dict[str, Any]:
        return {"model": self._model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> EmbeddingFunction[Embeddable]:
        return ChromaEmbeddingFunction(None, str(config.get("model")))

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine"]


class KnowledgeBase:
    """The indexed runbooks and postmortems of one data directory."""

    def __init__(self, settings: Settings, embedder: Embedder, *, lock: bool = True) -> None:
        self.settings = settings
        self.embedder = embedder
        self._lock = StoreLock(settings.lock_path) if lock else None
        self._mutex = threading.RLock()
        self._hosts_cache: tuple[tuple[Any, ...], set[str]] | None = None
        # Live chunks by id, read-through; every write clears it (this process is the only writer).
        self._chunk_cache: dict[str, Chunk] = {}
        # Share of the live chunks of each kind, likewise cleared by every write.
        self._kind_shares: dict[str, float] | None = None
        # Live vectors in memory for exact search (ids, unit-length rows, kinds), or False when
        # the store is too large for it or not embedded; None until first needed, and again
        # after every write.
        self._exact: _Exact | bool | None = None
        self._exact_lock = threading.Lock()
        self._writes = 0  # counts catalog writes, so a copy built across one is not kept
        # Word stems of each live document: loaded in one scan when first asked for, then kept
        # current by the writes of this process (the only writer).
        self._terms_cache: dict[str, frozenset[str]] | None = None
        if self._lock is not None:
            self._lock.acquire()
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            self._db = self._open_catalog(settings.catalog_path)
            self._check_identity()
            self._collection = self._open_collection()
        except BaseException:
            self.close()
            raise

    # -- lifecycle ---------------------------------------------------------------------------

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
        return StoreMismatch(
            f"the knowledge base in {self.settings.data_dir} was built with model "
            f"{found.get('embedding_model')!r} (dimension {found.get('dimension')}, "
            f"{found.get('distance')} distance, schema {found.get('schema')}), but the settings "
            f"ask for {want['embedding_model']!r} (dimension {want['dimension']}, "
            f"{want['distance']}, schema {want['schema']}). Rebuild it with "
            "`copilot ingest --rebuild PATH`, or point COPILOT_DATA_DIR at a new directory."
        )

    def _open_catalog(self, path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS files (
                source TEXT PRIMARY KEY, root TEXT NOT NULL, sha256 TEXT NOT NULL,
                kind TEXT NOT NULL, title TEXT NOT NULL, chunk_ids TEXT NOT NULL,
                ingested_at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS chunks (
                id TEXT PRIMARY KEY, source TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
            CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
                id UNINDEXED, kind UNINDEXED, title, section, keywords, text,
                tokenize = 'porter unicode61');
            """
        )
        return db

    def _check_identity(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO meta(key, value) VALUES ('identity', ?)", (json.dumps(self.identity),)
            )
            return
        found = json.loads(row[0])
        if found != self.identity:
            raise self._mismatch(found)

    def _open_collection(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self.settings.chroma_url:
            from urllib.parse import urlparse

            url = urlparse(self.settings.chroma_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise ConfigError(f"COPILOT_CHROMA_URL must be http(s)://host:port, not {url!r}")
            self._client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 80),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        else:
            self._client = chromadb.PersistentClient(
                path=str(self.settings.chroma_path), settings=chroma_settings
            )
        metadata = {"hnsw:space": DISTANCE, **self.identity}
        collection = self._client.get_or_create_collection(
            name=self.settings.collection,
            metadata=metadata,
            embedding_function=ChromaEmbeddingFunction(self.embedder),
        )
        found = {k: (collection.metadata or {}).get(k) for k in self.identity}
        if found != self.identity:
            raise self._mismatch(found)
        return collection

    def close(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()
            self._db = None  # type: ignore[assignment]
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            self._chunk_cache.clear()
            self._kind_shares = None
            self._exact = None
            self._writes += 1
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def files(self) -> dict[str, FileRecord]:
        with self._mutex:
            rows = self._db.execute(
                "SELECT source, root, sha256, kind, title, chunk_ids FROM files"
            ).fetchall()
        return {
            r[0]: FileRecord(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5]))) for r in rows
        }

    def upsert_vectors(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        """Write vectors for chunks; invisible to search until the catalog points at them."""
        if not chunks:
            return
        batch = 2000
        for i in range(0, len(chunks), batch):
            part = chunks[i : i + batch]
            self._collection.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[i : i + batch],
                metadatas=[{"source": c.source, "kind": c.kind} for c in part],
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
        with self._transaction() as db:
            old = db.execute("SELECT id FROM chunks WHERE source = ?", (source,)).fetchall()
            self._delete_rows(db, source)
            db.executemany(
                "INSERT INTO chunks(id, source, kind, body) VALUES (?, ?, ?, ?)",
                [(c.id, c.source, c.kind, json.dumps(asdict(c))) for c in chunks],
            )
            db.executemany(
                "INSERT INTO chunks_fts(id, kind, title, section, keywords, text) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(c.id, c.kind, c.title, c.section, _keywords_field(c), c.text) for c in chunks],
            )
            db.execute(
                "INSERT OR REPLACE INTO files(source, root, sha256, kind, title, chunk_ids, "
                "ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (source, root, sha256, kind, title, json.dumps(new_ids), time.time()),
            )
            if self._terms_cache is not None:
                self._terms_cache[source] = stems_of(chunks)
        keep = set(new_ids)
        return [r[0] for r in old if r[0] not in keep]

    def remove_document(self, source: str) -> list[str]:
        with self._transaction() as db:
            old = [r[0] for r in db.execute("SELECT id FROM chunks WHERE source = ?", (source,))]
            self._delete_rows(db, source)
            db.execute("DELETE FROM files WHERE source = ?", (source,))
            if self._terms_cache is not None:
                self._terms_cache.pop(source, None)
        return old

    @staticmethod
    def _delete_rows(db: sqlite3.Connection, source: str) -> None:
        db.execute(
            "DELETE FROM chunks_fts WHERE id IN (SELECT id FROM chunks WHERE source = ?)", (source,)
        )
        db.execute("DELETE FROM chunks WHERE source = ?", (source,))

    def delete_vectors(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), 2000):
            self._collection.delete(ids=ids[i : i + 2000])

    def existing_vector_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 2000):
            got = self._collection.get(ids=list(ids[i : i + 2000]), include=[])
            found.update(got["ids"])
        return found

    def vectors_for(self, ids: Sequence[str]) -> dict[str, Vectors]:
        out: dict[str, Vectors] = {}
        for i in range(0, len(ids), 2000):
            got = self._collection.get(ids=list(ids[i : i + 2000]), include=["embeddings"])
            for cid, emb in zip(got["ids"], got["embeddings"], strict=True):
                out[cid] = np.asarray(emb, dtype=np.float32)
        return out

    def sweep_orphans(self) -> int:
        """Delete vectors that no live chunk references (left by an interrupted write)."""
        with self._mutex:
            live = {r[0] for r in self._db.execute("SELECT id FROM chunks")}
        stored: list[str] = []
        offset, page = 0, 5000
        while True:
            got = self._collection.get(include=[], limit=page, offset=offset)
            stored.extend(got["ids"])
            if len(got["ids"]) < page:
                break
            offset += page
        orphans = [i for i in stored if i not in live]
        self.delete_vectors(orphans)
        return len(orphans)

    def rebuild(self) -> None:
        """Drop everything indexed so far, and the identity check with it."""
        with self._transaction() as db:
            self._terms_cache = None
            for table in ("files", "chunks", "chunks_fts", "meta"):
                db.execute(f"DELETE FROM {table}")
            db.execute(
                "INSERT INTO meta(key, value) VALUES ('identity', ?)", (json.dumps(self.identity),)
            )
        with contextlib.suppress(Exception):
            self._client.delete_collection(self.settings.collection)
        self._collection = self._open_collection()

    # -- reading -----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        with self._mutex:
            files = self._db.execute("SELECT count(*) FROM files").fetchone()[0]
            chunks = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return {
            "files": int(files),
            "chunks": int(chunks),
            "vectors": int(self._collection.count()),
        }

    def chunks(self, ids: Sequence[str]) -> dict[str, Chunk]:
        if not ids:
            return {}
        with self._mutex:
            cached = {cid: self._chunk_cache[cid] for cid in ids if cid in self._chunk_cache}
            missing = [cid for cid in ids if cid not in cached]
            if not missing:
                return cached
            marks = ",".join("?" * len(missing))
            rows = self._db.execute(
                f"SELECT id, body FROM chunks WHERE id IN ({marks})",
                missing,
            ).fetchall()
            found = {cid: _chunk_from_json(body) for cid, body in rows}
            self._chunk_cache.update(found)
        return {**cached, **found}

    def document_chunks(self, source: str) -> list[Chunk]:
        """Every live section of one document, in document order."""
        with self._mutex:
            rows = self._db.execute(
                "SELECT body FROM chunks WHERE source = ? ORDER BY rowid", (source,)
            ).fetchall()
        return sorted((_chunk_from_json(r[0]) for r in rows), key=lambda c: c.ordinal)

    def document_terms(self, sources: Iterable[str]) -> dict[str, frozenset[str]]:
        """Word stems of each named live document."""
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
        """Host names in links of the knowledge base, outside text aimed at an AI (cached)."""
        with self._mutex:
            stamp = self._db.execute("SELECT count(*), max(ingested_at) FROM files").fetchone()
            if self._hosts_cache is None or self._hosts_cache[0] != tuple(stamp):
                from copilot.guardrails.injection import isolate
                from copilot.guardrails.verify import hosts_in

                hosts: set[str] = set()
                for (body,) in self._db.execute("SELECT body FROM chunks"):
                    hosts |= hosts_in(isolate(json.loads(body)["text"]).text)
                self._hosts_cache = (tuple(stamp), hosts)
            return set(self._hosts_cache[1])

    def all_chunks(self) -> list[Chunk]:
        with self._mutex:
            rows = self._db.execute("SELECT body FROM chunks ORDER BY source, rowid").fetchall()
        return [_chunk_from_json(r[0]) for r in rows]

    def dense_search(
        self, vector: Vectors, *, n: int, kind: str | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first."""
        exact = self._exact_index()
        if exact is not None:
            return _exact_top(exact, vector, n=n, kind=kind)
        # No count() first: it costs more than the query (18 ms at 1.4k chunks), and Chroma
        # returns fewer results, or none, when the collection holds fewer than n.
        if kind is None:
            return [(cid, sim) for cid, sim, _ in self._dense_query(vector, n=n, where=None)]
        # Chroma's `where` filter is slow when it admits most of the collection (18 ms for
        # "runbook" at 6k chunks, against 1 ms unfiltered): ask for more unfiltered neighbours
        # and keep those of the kind; filter in Chroma only when too few of them are left,
        # which is when the kind is rare and the filtered query is cheap.
        mine: list[tuple[str, float]] = []
        wider: list[tuple[str, float, str]] = []
        if self._kind_share(kind) * DENSE_OVERFETCH >= 1.0:
            wider = self._dense_query(vector, n=n * DENSE_OVERFETCH, where=None)
            mine = [(cid, sim) for cid, sim, found in wider if found == kind]
        if len(mine) < n and (not wider or len(wider) == n * DENSE_OVERFETCH):
            mine = [(cid, sim) for cid, sim, _ in self._dense_query(vector, n=n, where=kind)]
        return mine[:n]

    def warm(self) -> None:
        """Load what the first search would otherwise build (vectors in memory, word stems)."""
        self._exact_index()
        self.document_terms(())

    def _exact_index(self) -> _Exact | None:
        """The in-memory copy of the live vectors, built on first use after a write."""
        with self._exact_lock:
            built = self._exact
            if built is None:
                writes = self._writes
                built = self._build_exact()
                with self._mutex:
                    if writes == self._writes:
                        self._exact = built
            return built if isinstance(built, tuple) else None

    def _build_exact(self) -> _Exact | bool:
        if self.settings.chroma_url:
            return False
        with self._mutex:
            rows = self._db.execute("SELECT id, kind FROM chunks ORDER BY rowid").fetchall()
        if len(rows) > self.settings.exact_search_max_chunks:
            return False
        vectors = self.vectors_for([r[0] for r in rows])
        live = [(cid, kind) for cid, kind in rows if cid in vectors]
        if not live:
            return ([], np.zeros((0, self.embedder.dimension), np.float32), np.array([], str))
        matrix = np.stack([vectors[cid] for cid, _ in live]).astype(np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        return [cid for cid, _ in live], matrix, np.array([kind for _, kind in live])

    def _kind_share(self, kind: str) -> float:
        with self._mutex:
            if self._kind_shares is None:
                rows = self._db.execute("SELECT kind, count(*) FROM chunks GROUP BY kind")
                counts = dict(rows.fetchall())
                total = sum(counts.values()) or 1
                self._kind_shares = {k: c / total for k, c in counts.items()}
            return self._kind_shares.get(kind, 0.0)

    def _dense_query(
        self, vector: Vectors, *, n: int, where: str | None
    ) -> list[tuple[str, float, str]]:
        """(chunk id, cosine similarity, kind) best first; `where` keeps one kind."""
        result = self._collection.query(
            query_embeddings=[vector],
            n_results=n,
            where={"kind": where} if where else None,
            include=["distances", "metadatas"],
        )
        ids = result["ids"][0]
        distances = result["distances"][0]
        kinds = [str((m or {}).get("kind", "")) for m in result["metadatas"][0]]
        return [(cid, 1.0 - float(d), k) for cid, d, k in zip(ids, distances, kinds, strict=True)]

    def keyword_search(
        self, query: str, *, n: int, kind: str | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score, higher is better) best first."""
        terms = keyword_terms(query)
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        sql = (
            "SELECT id, -bm25(chunks_fts, 0.0, 0.0, ?, ?, ?, ?) AS score "
            "FROM chunks_fts WHERE chunks_fts MATCH ?"
        )
        params: list[Any] = [*BM25_WEIGHTS, match]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        sql += " ORDER BY score DESC LIMIT ?"
        params.append(n)
        with self._mutex:
            rows = self._db.execute(sql, params).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def ping(self) -> bool:
        with self._mutex:
            self._db.execute("SELECT 1").fetchone()
        self._client.heartbeat()
        return True


def _exact_top(
    index: _Exact, vector: Vectors, *, n: int, kind: str | None
) -> list[tuple[str, float]]:
    """The n rows of the index most similar to `vector` (cosine), optionally of one kind."""
    ids, matrix, kinds = index
    query = np.asarray(vector, dtype=np.float32)
    scores = matrix @ (query / max(float(np.linalg.norm(query)), 1e-12))
    rows = np.flatnonzero(kinds == kind) if kind else np.arange(len(ids))
    if n < len(rows):
        rows = rows[np.argpartition(-scores[rows], n)[:n]]
    rows = rows[np.argsort(-scores[rows], kind="stable")]
    return [(ids[i], float(scores[i])) for i in rows]


def _chunk_from_json(body: str) -> Chunk:
    data = json.loads(body)
    for name in ("services", "tags", "alerts", "sanitized"):
        data[name] = tuple(data.get(name) or ())
    return Chunk(**data)
