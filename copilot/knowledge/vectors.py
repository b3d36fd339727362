"""The vector side of the knowledge base: a Chroma collection, and an exact in-memory copy.

`store.KnowledgeBase` keeps the catalog (which chunks are live) and what it caches; this module
only stores, fetches and compares vectors. Chroma is embedded in the data directory by default,
or a server (`COPILOT_CHROMA_URL`) that replicas share; a server that does not answer is
`VectorsUnavailable`, which search turns into a keyword-only answer.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import httpx
import numpy as np
from chromadb.api.types import Embeddable, EmbeddingFunction, Embeddings, Space

from copilot.embedding import Embedder, Vectors
from copilot.errors import ConfigError, RetrievalUnavailable, StoreMismatch
from copilot.settings import Settings

log = logging.getLogger("copilot.knowledge")

DISTANCE = "cosine"
# Chroma calls are made in batches of this many ids.
BATCH = 2000
# An in-memory copy of live vectors: chunk ids, unit-length rows, kinds.
Exact = tuple[list[str], np.ndarray, np.ndarray]


class VectorsUnavailable(RetrievalUnavailable):
    """The Chroma server does not answer: search falls back to keywords, writes fail (503)."""

    @property
    def public_message(self) -> str:
        return "the vector store does not answer; try again shortly"


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


class ChromaVectors:
    """One Chroma collection of chunk vectors, tagged with each chunk's source and kind.

    `identity` (model, dimension, distance, schema) is stored in the collection's metadata; a
    collection built otherwise is refused with `mismatch(found)`.
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        identity: dict[str, Any],
        mismatch: Callable[[dict[str, Any]], StoreMismatch],
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._identity = identity
        self._mismatch = mismatch
        self._client = self._connect()
        try:
            self._collection = self._open()
        except BaseException:
            self.close()
            raise

    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if not self.settings.chroma_url:
            return chromadb.PersistentClient(
                path=str(self.settings.chroma_path), settings=chroma_settings
            )
        from urllib.parse import urlparse

        url = urlparse(self.settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"COPILOT_CHROMA_URL must be http(s)://host:port, not {url!r}")
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 80),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises ValueError, httpx errors, ...
            raise ConfigError(
                f"cannot reach the Chroma server at {self.settings.chroma_url}: {exc}"
            ) from None

    def _open(self) -> Any:
        metadata = {"hnsw:space": DISTANCE, **self._identity}
        collection = self._client.get_or_create_collection(
            name=self.settings.collection,
            metadata=metadata,
            embedding_function=ChromaEmbeddingFunction(self._embedder),
        )
        found = {k: (collection.metadata or {}).get(k) for k in self._identity}
        if found != self._identity:
            raise self._mismatch(found)
        return collection

    @contextlib.contextmanager
    def _calling(self) -> Iterator[None]:
        """Calls to Chroma: a Chroma server that cannot be reached is VectorsUnavailable."""
        try:
            yield
        except httpx.TransportError as exc:
            log.warning("the Chroma server %s does not answer: %s", self.settings.chroma_url, exc)
            raise VectorsUnavailable(
                f"the Chroma server {self.settings.chroma_url} does not answer: {exc}"
            ) from exc

    def upsert(
        self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]], vectors: Vectors
    ) -> None:
        with self._calling():
            for i in range(0, len(ids), BATCH):
                self._collection.upsert(
                    ids=list(ids[i : i + BATCH]),
                    embeddings=vectors[i : i + BATCH],
                    metadatas=list(metadatas[i : i + BATCH]),
                )

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        with self._calling():
            for i in range(0, len(ids), BATCH):
                self._collection.delete(ids=ids[i : i + BATCH])

    def existing(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with self._calling():
            for i in range(0, len(ids), BATCH):
                got = self._collection.get(ids=list(ids[i : i + BATCH]), include=[])
                found.update(got["ids"])
        return found

    def get(self, ids: Sequence[str]) -> dict[str, Vectors]:
        out: dict[str, Vectors] = {}
        with self._calling():
            for i in range(0, len(ids), BATCH):
                got = self._collection.get(ids=list(ids[i : i + BATCH]), include=["embeddings"])
                for cid, emb in zip(got["ids"], got["embeddings"], strict=True):
                    out[cid] = np.asarray(emb, dtype=np.float32)
        return out

    def all_ids(self) -> list[str]:
        stored: list[str] = []
        offset, page = 0, 5000
        with self._calling():
            while True:
                got = self._collection.get(include=[], limit=page, offset=offset)
                stored.extend(got["ids"])
                if len(got["ids"]) < page:
                    return stored
                offset += page

    def count(self) -> int:
        with self._calling():
            return int(self._collection.count())

    def query(self, vector: Vectors, *, n: int, where: str | None) -> list[tuple[str, float, str]]:
        """(chunk id, cosine similarity, kind) best first; `where` keeps one kind."""
        with self._calling():
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

    def reset(self) -> None:
        """Drop the collection and start an empty one."""
        with contextlib.suppress(Exception):
            self._client.delete_collection(self.settings.collection)
        self._collection = self._open()

    def heartbeat(self) -> None:
        self._client.heartbeat()

    def close(self) -> None:
        """Release the client: an embedded store's SQLite connections and index files, a
        server's HTTP connections. Chroma counts the clients of one path, so another store
        open on the same directory in this process keeps working. Idempotent."""
        with contextlib.suppress(Exception):  # closing must not hide why a store closed
            self._client.close()


def unit(vector: Vectors) -> np.ndarray:
    query = np.asarray(vector, dtype=np.float32)
    return query / max(float(np.linalg.norm(query)), 1e-12)


def build_exact(
    live: Sequence[tuple[str, str]], vectors: dict[str, Vectors], dimension: int
) -> Exact:
    """The in-memory copy of these (chunk id, kind) rows that have a vector."""
    rows = [(cid, kind) for cid, kind in live if cid in vectors]
    if not rows:
        return ([], np.zeros((0, dimension), np.float32), np.array([], str))
    matrix = np.stack([vectors[cid] for cid, _ in rows]).astype(np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return [cid for cid, _ in rows], matrix, np.array([kind for _, kind in rows])


def exact_top(
    index: Exact, vector: Vectors, *, n: int, kind: str | None
) -> list[tuple[str, float]]:
    """The n rows of the index most similar to `vector` (cosine), optionally of one kind."""
    ids, matrix, kinds = index
    scores = matrix @ unit(vector)
    rows = np.flatnonzero(kinds == kind) if kind else np.arange(len(ids))
    if n < len(rows):
        rows = rows[np.argpartition(-scores[rows], n)[:n]]
    rows = rows[np.argsort(-scores[rows], kind="stable")]
    return [(ids[i], float(scores[i])) for i in rows]


def exact_similarities(index: Exact, vector: Vectors, ids: Sequence[str]) -> dict[str, float]:
    """The cosine of `vector` to each of these rows the index holds."""
    query = unit(vector)
    row = {cid: i for i, cid in enumerate(index[0])}
    return {cid: float(index[1][row[cid]] @ query) for cid in ids if cid in row}


def exact_means(index: Exact, groups: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """The mean row of each group of ids the index holds (not yet unit length)."""
    ids, matrix, _ = index
    position = {cid: i for i, cid in enumerate(ids)}
    out: dict[str, np.ndarray] = {}
    for name, cids in groups.items():
        found = [position[c] for c in cids if c in position]
        if found:
            out[name] = matrix[found].mean(axis=0)
    return out
