"""Answer eval: do the copilot's steps contain what a good answer must, citing the right runbook?

    python -m evals.answers [--json]

Step recall: the share of each question's must-include strings (commands, distinctive steps) found
in the returned steps. Citation precision: the share of step citations that point at one of the
question's expected runbooks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from copilot.assist import service
from copilot.embedding import set_threads
from copilot.knowledge.store import KnowledgeBase
from evals.common import cpu_count, load_jsonl, temporary_kb
from ingest.pipeline import ingest_paths

REPO = Path(__file__).resolve().parent.parent
DATASET = REPO / "evals" / "datasets" / "answers.jsonl"
SAMPLE_KB = REPO / "runbooks"


def _flat(text: str) -> str:
    return " ".join(text.split())


def evaluate(kb: KnowledgeBase, cases: list[dict[str, Any]]) -> dict[str, Any]:
    recalls, precisions, rows = [], [], []
    abstained = 0
    for case in cases:
        r = service.ask(kb=kb, question=case["question"])
        abstained += r.abstained
        shown = " ".join(_flat(f"{s.command or ''} {s.text}") for s in r.steps)
        found = [m for m in case["must_include"] if _flat(m) in shown]
        recall = len(found) / len(case["must_include"])
        cites = [c.source for s in r.steps for c in s.citations]
        precision = sum(c in case["sources"] for c in cites) / len(cites) if cites else 0.0
        recalls.append(recall)
        precisions.append(precision)
        if recall < 1 or precision < 1:
            rows.append(
                {
                    "question": case["question"],
                    "missing": [m for m in case["must_include"] if m not in found],
                    "cited": sorted(set(cites)),
                    "recall": recall,
                    "precision": round(precision, 3),
                }
            )
    n = len(cases) or 1
    return {
        "questions": len(cases),
        "step_recall": round(sum(recalls) / n, 4),
        "citation_precision": round(sum(precisions) / n, 4),
        "abstained": abstained,
        "misses": rows,
    }


def run(dataset: Path = DATASET) -> dict[str, Any]:
    set_threads(cpu_count())
    with temporary_kb() as kb:
        ingest_paths(kb, [SAMPLE_KB], progress=sys.stderr.isatty())
        set_threads(1)
        return evaluate(kb, load_jsonl(dataset))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.answers", description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.dataset)
    misses = result.pop("misses")
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['questions']} questions: step recall {result['step_recall']:.3f}, "
        f"citation precision {result['citation_precision']:.3f}, abstained {result['abstained']}"
    )
    if args.show_misses:
        for m in misses:
            print(f"MISS {m['question']!r}\n  missing {m['missing']}\n  cited {m['cited']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
