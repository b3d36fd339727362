"""Does preferring the incident's services help ask find the right runbook, or hurt it?

python -m evals.ask_services [--json] [--boost 0.1 ...] [--lines even|odd|all]

Runbook search (the call ask makes) over the sample knowledge base, with the sample service
catalog, on the runbook queries of `datasets/runbooks.jsonl` and the runbook questions of
`datasets/reader/sample.jsonl`. Each query is asked as if an incident carried services:

- none: no services (what the retrieval and reader evals measure);
- own: the first service of the relevant runbook's `services` front matter (the incident is
  tagged with the service the runbook is about);
- symptom: the nearest user-facing dependent of that service in the catalog (the incident is
  tagged where customers see it, the cause is upstream);
- wrong: the first service of another runbook, chosen by a seeded shuffle (a mis-tagged
  incident).

For each boost and each way of choosing the preferred services (`incident`: the incident's own
services; `neighbours`: those and their upstream dependencies from the catalog, as ask uses
them) it reports doc hit@1, hit@3 and MRR@10. Boost 0 is the product without the preference.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from copilot.catalog import lookup
from copilot.catalog import service as catalog
from copilot.db import Database
from copilot.knowledge import retrieval
from copilot.knowledge.store import KnowledgeBase
from evals.common import ingested_kb, load_jsonl
from evals.retrieval import score

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "runbooks"
CATALOG = CORPUS / "catalog"
DATASETS = Path(__file__).resolve().parent / "datasets"
DEPTH = 50
CONDITIONS = ("none", "own", "symptom", "wrong")


def _queries(lines: str) -> list[dict[str, Any]]:
    out = [
        {"query": q["query"], "source": q["relevant"][0]}
        for q in load_jsonl(DATASETS / "runbooks.jsonl")
        if q["relevant"][0].startswith("runbooks/")  # ask searches runbooks; history is apart
    ]
    out += [
        {"query": q["question"], "source": q["source"]}
        for q in load_jsonl(DATASETS / "reader" / "sample.jsonl")
        if q.get("corpus") == "sample" and q.get("kind") == "runbook"
    ]
    if lines == "all":
        return out
    parity = 0 if lines == "odd" else 1  # 1-based line numbers
    return [q for i, q in enumerate(out) if i % 2 == parity]


def _incident_services(
    kb: KnowledgeBase, db: Database, queries: list[dict[str, Any]]
) -> dict[str, list[list[str]]]:
    """Per condition, the services an incident would carry for each query."""
    primary: dict[str, str] = {}
    for q in queries:
        chunks = kb.document_chunks(q["source"])
        if chunks and chunks[0].services:
            primary[q["source"]] = chunks[0].services[0]
    others = sorted(set(primary.values()))
    rng = random.Random(13)
    out: dict[str, list[list[str]]] = {c: [] for c in CONDITIONS}
    for q in queries:
        own = primary.get(q["source"])
        out["none"].append([])
        out["own"].append([own] if own else [])
        dependents = lookup.ask_context(db, [own]).dependents if own else []
        user_facing = [c.name for c in dependents if c.public_name]
        out["symptom"].append(user_facing[:1])
        wrong = [s for s in others if s != own]
        out["wrong"].append([rng.choice(wrong)] if wrong else [])
    return out


def _preferred(db: Database, services: list[str], how: str) -> list[str]:
    if not services or how == "incident":
        return services
    return [*services, *lookup.ask_context(db, services).services()]


def evaluate(
    kb: KnowledgeBase, db: Database, queries: list[dict[str, Any]], boosts: list[float]
) -> dict[str, Any]:
    tagged = _incident_services(kb, db, queries)
    relevant = [{q["source"]} for q in queries]
    results: dict[str, Any] = {}
    for boost in boosts:
        for how in ("incident", "neighbours"):
            key = f"boost={boost} prefer={how}"
            results[key] = {}
            for condition in CONDITIONS:
                ranked = []
                for q, services in zip(queries, tagged[condition], strict=True):
                    hits = retrieval.search(
                        kb=kb,
                        query=q["query"],
                        top_k=DEPTH,
                        kind="runbook",
                        prefer=_preferred(db, services, how),
                        prefer_boost=boost,
                    )
                    ranked.append(list(dict.fromkeys(h.chunk.source for h in hits)))
                results[key][condition] = score(ranked, relevant)
            if boost == 0:
                break  # without a boost, what is preferred changes nothing
    return {"queries": len(queries), "results": results}


def run(boosts: list[float], lines: str) -> dict[str, Any]:
    with ingested_kb([CORPUS]) as kb, tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'catalog.sqlite'}")
        try:
            imported = catalog.import_paths(db=db, paths=[CATALOG])
            if not imported.clean:
                raise SystemExit(f"the sample catalog did not import cleanly: {imported}")
            return evaluate(kb, db, _queries(lines), boosts)
        finally:
            db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--boost", type=float, action="append", help="repeatable; default 0 0.1")
    parser.add_argument("--lines", choices=["even", "odd", "all"], default="all")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.boost or [0.0, 0.1], args.lines)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['queries']} queries; doc hit@1 / hit@3 / MRR@10 by incident services")
    print(f"{'':32}" + "".join(f"{c:>22}" for c in CONDITIONS))
    for key, by_condition in result["results"].items():
        cells = "".join(
            f"{m['hit@1']:>8.3f}/{m['hit@3']:.3f}/{m['mrr@10']:.3f}"
            for m in (by_condition[c] for c in CONDITIONS)
        )
        print(f"{key:32}{cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
