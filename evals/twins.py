"""Near-twin eval: how often search says the two best runbooks are near twins, how often the
question's words reorder them, and what that does to the first document.

    python -m evals.twins --corpus DIR --queries FILE.jsonl [--lines even|odd|all] [--json]

Queries as for `evals.retrieval` (`{"query", "relevant": [path]}`). Each query is searched once
with the near-twin check on and once with it off (`twins.TWIN_SIMILARITY` above 1, so no pair
qualifies), in the same run over the same store: notices (answers that carry `near_twins`),
reordered (the twin moved ahead), undecided (notices whose question's words do not tell the
two apart: ask lists the twin's steps too), helped / hurt (a reorder that made the first
document right / wrong), and hit@1 / MRR@10 of the first document off -> on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from copilot.embedding import set_threads
from copilot.knowledge import retrieval, twins
from copilot.knowledge.store import KnowledgeBase
from evals.common import cpu_count, temporary_kb
from evals.reader import read_cases
from evals.retrieval import DEPTH, score
from ingest.pipeline import ingest_paths


def _ranked(kb: KnowledgeBase, query: str) -> tuple[list[str], twins.NearTwins | None]:
    found = retrieval.retrieve(kb=kb, query=query, top_k=DEPTH, kind="runbook")
    return list(dict.fromkeys(h.chunk.source for h in found.hits)), found.twins


def evaluate(kb: KnowledgeBase, queries: list[dict[str, Any]]) -> dict[str, Any]:
    relevant = [set(q["relevant"]) for q in queries]
    on = [_ranked(kb, q["query"]) for q in queries]
    saved = twins.TWIN_SIMILARITY
    twins.TWIN_SIMILARITY = 2.0  # no pair of documents is that alike: the check is off
    try:
        off = [_ranked(kb, q["query"])[0] for q in queries]
    finally:
        twins.TWIN_SIMILARITY = saved
    reordered = [i for i, (_, t) in enumerate(on) if t is not None and t.reordered]
    return {
        "queries": len(queries),
        "ratio": twins.TWIN_SCORE_RATIO,
        "notices": sum(t is not None for _, t in on),
        "reordered": len(reordered),
        # Notices whose question does not tell the two apart: ask lists the twin's steps too.
        "undecided": sum(t is not None and not t.decided for _, t in on),
        "helped": sum(on[i][0][0] in relevant[i] for i in reordered),
        "hurt": sum(off[i][0] in relevant[i] for i in reordered),
        "off": score(off, relevant),
        "on": score([r for r, _ in on], relevant),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--queries", required=True, type=Path)
    parser.add_argument("--lines", choices=["even", "odd", "all"], default="all")
    parser.add_argument("--store", type=Path, help="reuse this data dir (incremental)")
    parser.add_argument(
        "--ratio", type=float, help="TWIN_SCORE_RATIO to use (default: the product's)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir() or not args.queries.is_file():
        print("error: --corpus must be a folder and --queries a file", file=sys.stderr)
        return 2
    queries = read_cases(args.queries, args.lines)
    if args.ratio is not None:
        twins.TWIN_SCORE_RATIO = args.ratio
    set_threads(cpu_count())
    with temporary_kb(store=args.store) as kb:
        ingest_paths(kb, [args.corpus], progress=sys.stderr.isatty())
        result = evaluate(kb, queries)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{args.queries.name} ({args.lines} lines, {result['queries']} q, ratio "
        f"{result['ratio']}): notices {result['notices']}, reordered {result['reordered']} "
        f"(helped {result['helped']}, hurt {result['hurt']}), undecided "
        f"{result['undecided']}; hit@1 "
        f"{result['off']['hit@1']:.3f} -> {result['on']['hit@1']:.3f}, MRR@10 "
        f"{result['off']['mrr@10']:.3f} -> {result['on']['mrr@10']:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
