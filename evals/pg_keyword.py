"""Keyword engines for PostgreSQL side by side, on one ingest: what replicas use (an FTS5 index
each builds in memory from the database, BM25) and PostgreSQL's own full-text search (weighted
tsvectors, title A / keywords B / section C / text D, ranked by ts_rank and ts_rank_cd).

COPILOT_DATABASE_URL=postgresql+psycopg://... python -m evals.pg_keyword --corpus DIR \
    --queries FILE.jsonl [FILE.jsonl ...] [--json]

Prints hit@1/3/5 and MRR@10 of the product retriever and of keyword search alone with each
engine (the scores the retrieval eval reports, same queries, same vectors).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

from copilot.embedding import set_threads
from copilot.knowledge.keyword import BM25_WEIGHTS, keywords_field
from copilot.knowledge.store import KnowledgeBase
from copilot.knowledge.terms import keyword_terms
from evals.common import cpu_count, load_jsonl, temporary_kb
from evals.retrieval import ranked_sources, score
from ingest.pipeline import ingest_paths

TABLE = "eval_pg_fts"
# ts_rank weights are {D, C, B, A}, each at most 1: BM25_WEIGHTS (title, section, keywords, text)
# scaled by the largest.
_TOP = max(BM25_WEIGHTS)
PG_WEIGHTS = [BM25_WEIGHTS[3] / _TOP, BM25_WEIGHTS[1] / _TOP, BM25_WEIGHTS[2] / _TOP, 1.0]


class PostgresFullText:
    """PostgreSQL full-text search over the live chunks, in a table of its own."""

    def __init__(self, kb: KnowledgeBase, rank: str) -> None:
        self.kb, self.rank = kb, rank
        with kb.database.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
            conn.execute(
                text(f"CREATE TABLE {TABLE} (id text PRIMARY KEY, kind text, doc tsvector)")
            )
            conn.execute(
                text(
                    f"INSERT INTO {TABLE} VALUES (:id, :kind, "
                    "setweight(to_tsvector('english', :title), 'A') || "
                    "setweight(to_tsvector('english', :keywords), 'B') || "
                    "setweight(to_tsvector('english', :section), 'C') || "
                    "setweight(to_tsvector('english', :text), 'D'))"
                ),
                [
                    {
                        "id": c.id,
                        "kind": c.kind,
                        "title": c.title,
                        "keywords": keywords_field(c),
                        "section": c.section,
                        "text": c.text,
                    }
                    for c in kb.all_chunks()
                ],
            )
            conn.execute(text(f"CREATE INDEX ON {TABLE} USING gin (doc)"))

    def search(self, query: str, *, n: int, kind: str | None = None) -> list[tuple[str, float]]:
        terms = keyword_terms(query)
        if not terms:
            return []
        params: dict[str, Any] = {f"t{i}": t for i, t in enumerate(terms)}
        tsquery = " || ".join(f"phraseto_tsquery('english', :t{i})" for i in range(len(terms)))
        sql = (
            f"SELECT id, {self.rank}(CAST(:w AS float4[]), doc, q, 1) AS score "
            f"FROM {TABLE}, ({'SELECT ' + tsquery} AS q) AS query WHERE doc @@ q"
        )
        if kind:
            sql += " AND kind = :kind"
            params["kind"] = kind
        sql += " ORDER BY score DESC, id LIMIT :n"
        with self.kb.database.reading() as conn:
            rows = conn.execute(text(sql), {**params, "w": PG_WEIGHTS, "n": n}).all()
        return [(r[0], float(r[1])) for r in rows]


def evaluate(kb: KnowledgeBase, queries: list[dict[str, Any]]) -> dict[str, Any]:
    relevant = [set(q["relevant"]) for q in queries]
    out: dict[str, Any] = {}
    engines: dict[str, Any] = {"fts5_in_memory": None}
    engines["pg_ts_rank"] = PostgresFullText(kb, "ts_rank")
    engines["pg_ts_rank_cd"] = PostgresFullText(kb, "ts_rank_cd")
    own = kb.keyword_search
    try:
        for name, engine in engines.items():
            kb.keyword_search = own if engine is None else engine.search  # type: ignore[method-assign]
            out[name] = {
                mode: score([ranked_sources(kb, q["query"], mode) for q in queries], relevant)
                for mode in ("hybrid", "keyword")
            }
    finally:
        kb.keyword_search = own  # type: ignore[method-assign]
        with kb.database.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
    return {"docs": kb.counts()["files"], "queries": len(queries), "engines": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.pg_keyword", description=__doc__)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, nargs="+", required=True)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    set_threads(cpu_count())
    with temporary_kb() as kb:
        if not kb.is_postgresql:
            parser.error("set COPILOT_DATABASE_URL to a PostgreSQL database")
        ingest_paths(kb, [args.corpus], progress=sys.stderr.isatty())
        set_threads(1)
        results = {str(path): evaluate(kb, load_jsonl(path)) for path in args.queries}
    if args.json:
        print(json.dumps(results))
        return 0
    for path, result in results.items():
        print(f"{path}: {result['docs']} docs, {result['queries']} queries; hit@1 / hit@5 / mrr@10")
        for name, modes in result["engines"].items():
            for mode, m in modes.items():
                print(
                    f"  {name:15} {mode:8} {m['hit@1']:.3f} / {m['hit@5']:.3f} / {m['mrr@10']:.3f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
