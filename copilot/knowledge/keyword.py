"""Keyword search with SQLite FTS5's bm25, wherever the catalog lives.

On SQLite the FTS5 table `kb_chunks_fts` sits in the database file beside `kb_chunks` and is
written in the same transactions. On PostgreSQL each replica builds the same FTS5 table in an
in-memory SQLite database from `kb_chunks` (`MemoryKeywordIndex`) and rebuilds it when the
knowledge-base version changes: same tokenizer (porter unicode61), same column weights, same
corpus statistics, so the same ranking as the embedded default (see evals/README.md for the
figures, and for PostgreSQL's own full-text ranking, which lacks BM25's IDF and scored lower).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from copilot.knowledge.models import Chunk
from copilot.knowledge.terms import split_camel

# BM25 column weights: title, section heading, keywords (alerts, tags, services), text.
BM25_WEIGHTS = (4.0, 1.5, 3.0, 1.0)
COLUMNS = "id, kind, title, section, keywords, text"


def create_sql(table: str) -> str:
    return (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING fts5("
        "id UNINDEXED, kind UNINDEXED, title, section, keywords, text, "
        "tokenize = 'porter unicode61')"
    )


def insert_sql(table: str) -> str:
    return f"INSERT INTO {table}({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"


def search_sql(table: str, *, kind: bool) -> str:
    sql = (
        f"SELECT id, -bm25({table}, 0.0, 0.0, ?, ?, ?, ?) AS score "
        f"FROM {table} WHERE {table} MATCH ?"
    )
    if kind:
        sql += " AND kind = ?"
    return sql + " ORDER BY score DESC LIMIT ?"


def search_params(match: str, *, kind: str | None, n: int) -> tuple[Any, ...]:
    return (*BM25_WEIGHTS, match, *((kind,) if kind else ()), n)


def match_expression(terms: Sequence[str]) -> str:
    """An FTS5 query matching any of the terms, each as a quoted phrase."""
    return " OR ".join(f'"{t}"' for t in terms)


def keywords_field(chunk: Chunk) -> str:
    """Alert names (also split at CamelCase), tags and services: the `keywords` column."""
    names = list(chunk.alerts) + [split_camel(a) for a in chunk.alerts]
    names += [t.replace("-", " ") for t in (*chunk.tags, *chunk.services)]
    names += list(chunk.services)
    return " ".join(names)


def fts_row(chunk: Chunk) -> tuple[str, str, str, str, str, str]:
    return (chunk.id, chunk.kind, chunk.title, chunk.section, keywords_field(chunk), chunk.text)


class MemoryKeywordIndex:
    """The FTS5 index of a set of chunks in an in-memory SQLite database (one per replica)."""

    TABLE = "chunks_fts"

    def __init__(self, chunks: Iterable[Chunk]) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._closed = False
        self._db.execute(create_sql(self.TABLE))
        self._db.execute("BEGIN")
        self._db.executemany(insert_sql(self.TABLE), (fts_row(c) for c in chunks))
        self._db.execute("COMMIT")
        self.size = int(self._db.execute(f"SELECT count(*) FROM {self.TABLE}").fetchone()[0])

    def search(self, match: str, *, kind: str | None, n: int) -> list[tuple[str, float]]:
        with self._lock:
            if self._closed:  # dropped after a change while this search waited: the caller
                return []  # sees the change (the store's generation) and searches again
            rows = self._db.execute(
                search_sql(self.TABLE, kind=bool(kind)), search_params(match, kind=kind, n=n)
            ).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def close(self) -> None:
        with self._lock:  # not under a running search
            self._closed = True
            self._db.close()
