"""Retrieval eval: hit@k and MRR@10 of the copilot's retriever beside BM25-only and dense-only.

python -m evals.retrieval --corpus runbooks --queries evals/datasets/runbooks.jsonl [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from copilot.knowledge import retrieval
from copilot.knowledge.store import KnowledgeBase
from evals.common import ingested_kb, load_jsonl

MODES = {"retriever": "hybrid", "bm25": "keyword", "dense": "dense"}
DEPTH = 50  # sections fetched per query; documents are ranked by their best section


def ranked_sources(kb: KnowledgeBase, query: str, mode: str) -> list[str]:
    hits = retrieval.search(kb=kb, query=query, top_k=DEPTH, mode=mode)
    return list(dict.fromkeys(h.chunk.source for h in hits))


def score(ranked: list[list[str]], relevant: list[set[str]]) -> dict[str, float]:
    n = len(ranked)
    out: dict[str, float] = {}
    for k in (1, 3, 5):
        out[f"hit@{k}"] = (
            sum(bool(set(r[:k]) & rel) for r, rel in zip(ranked, relevant, strict=True)) / n
        )
    mrr = 0.0
    for r, rel in zip(ranked, relevant, strict=True):
        for i, source in enumerate(r[:10], 1):
            if source in rel:
                mrr += 1 / i
                break
    out["mrr@10"] = mrr / n
    return {k: round(v, 4) for k, v in out.items()}


def evaluate(kb: KnowledgeBase, queries: list[dict[str, Any]]) -> dict[str, Any]:
    relevant = [set(q["relevant"]) for q in queries]
    results: dict[str, Any] = {}
    misses: list[dict[str, Any]] = []
    for name, mode in MODES.items():
        ranked = [ranked_sources(kb, q["query"], mode) for q in queries]
        results[name] = score(ranked, relevant)
        if name == "retriever":
            for q, r, rel in zip(queries, ranked, relevant, strict=True):
                if not r or r[0] not in rel:
                    misses.append({"query": q["query"], "relevant": sorted(rel), "got": r[:3]})
    return {
        "docs": kb.counts()["files"],
        "queries": len(queries),
        "retriever": results["retriever"],
        "baselines": {"bm25": results["bm25"], "dense": results["dense"]},
        "misses": misses,
    }


def run(corpus: Path, queries_path: Path, *, store: Path | None = None) -> dict[str, Any]:
    queries = load_jsonl(queries_path)
    missing = [rel for q in queries for rel in q["relevant"] if not (corpus / rel).exists()]
    if missing:
        raise SystemExit(f"queries name files missing from {corpus}: {missing[:5]}")
    with ingested_kb([corpus], store) as kb:
        return evaluate(kb, queries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.retrieval", description=__doc__)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--store", type=Path, help="reuse this data dir (incremental) instead of a temp one"
    )
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        parser.error(f"--corpus {args.corpus} is not a directory")
    if not args.queries.is_file():
        parser.error(f"--queries {args.queries} is not a file")
    result = run(args.corpus, args.queries, store=args.store)
    misses = result.pop("misses")
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['docs']} docs, {result['queries']} queries")
    print(f"{'':10} {'hit@1':>7} {'hit@3':>7} {'hit@5':>7} {'mrr@10':>7}")
    rows = {"retriever": result["retriever"], **result["baselines"]}
    for name, m in rows.items():
        print(f"{name:10} {m['hit@1']:7.3f} {m['hit@3']:7.3f} {m['hit@5']:7.3f} {m['mrr@10']:7.3f}")
    if args.show_misses:
        for miss in misses:
            print(f"MISS {miss['query']!r}\n  want {miss['relevant']}\n  got  {miss['got']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
