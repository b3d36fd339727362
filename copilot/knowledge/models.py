"""Plain data types shared by ingest, the store and retrieval."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["runbook", "postmortem"]
KINDS: tuple[Kind, ...] = ("runbook", "postmortem")


@dataclass(frozen=True)
class Chunk:
    """One indexed passage: a document section, or a window of a long one."""

    id: str
    source: str
    ordinal: int
    title: str
    section: str
    kind: Kind
    line_start: int
    line_end: int
    text: str
    embed_text: str
    services: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    owner: str = ""
    severity: str = ""
    sanitized: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the ranks that produced it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    keyword_rank: int | None = None
    similarity: float | None = None  # cosine similarity to the query, when dense search saw it
    reasons: tuple[str, ...] = field(default=())
    # The best similarity of any section of the same document: a document is shown by its most
    # useful section (a diagnosis), which need not be the one that matched best (its meaning).
    document_similarity: float | None = None

    @property
    def match(self) -> float | None:
        """How well the document matches the query in meaning: what floors are held against."""
        return self.document_similarity if self.document_similarity is not None else self.similarity
