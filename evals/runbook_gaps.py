"""Does a runbook have this step? The thresholds of insights' "steps no runbook has".

python -m evals.runbook_gaps [--corpus runbooks] [--cases FILE.jsonl] [--json]

Each case is a step as a responder writes it on the timeline, labelled `covered` when a runbook
of the sample knowledge base has it (`runbook` names which). The shipped knowledge base is
ingested into a temporary store; every case is scored against every runbook section (sentence
similarity and share of the step's words, copilot.insights.knowledge.RunbookSteps). The pair of
thresholds is chosen on the `dev` cases (best balanced accuracy, the middle of a plateau) and
reported on the `check` cases beside the product's constants, and beside one-signal baselines
(similarity alone, words alone) chosen the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from evals.common import load_jsonl, temporary_kb

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "evals" / "datasets" / "runbook_gaps" / "actions.jsonl"
WORDS = [round(x, 2) for x in np.arange(0.0, 1.01, 0.05)]
SIMS = [round(x, 2) for x in np.arange(0.0, 0.91, 0.05)]


def rates(predicted: list[bool], truth: list[bool]) -> dict[str, Any]:
    """Accuracy and per-class recall, with "gap" (not covered) as the positive class."""
    tp = sum(1 for p, t in zip(predicted, truth, strict=True) if not p and not t)
    tn = sum(1 for p, t in zip(predicted, truth, strict=True) if p and t)
    gaps, covered = truth.count(False), truth.count(True)
    flagged = predicted.count(False)
    return {
        "n": len(truth),
        "accuracy": round((tp + tn) / len(truth), 3) if truth else None,
        "gap_recall": round(tp / gaps, 3) if gaps else None,
        "gap_precision": round(tp / flagged, 3) if flagged else None,
        "covered_recall": round(tn / covered, 3) if covered else None,
    }


def _balanced(predicted: list[bool], truth: list[bool]) -> float:
    r = rates(predicted, truth)
    return float((r["gap_recall"] or 0) + (r["covered_recall"] or 0)) / 2


def predict(sims: np.ndarray, overlaps: np.ndarray, words: float, sim: float) -> list[bool]:
    return [bool(((o >= words) & (s >= sim)).any()) for s, o in zip(sims, overlaps, strict=True)]


def choose(
    sims: np.ndarray, overlaps: np.ndarray, truth: list[bool], words: list[float], grid: list[float]
) -> tuple[float, float, float]:
    """(score, words, similarity) best on these cases; of a plateau of equal scores, its middle
    (the median words threshold, then the median similarity at it; the lower one of two), so
    that neither threshold sits on the edge of what these few cases allow."""
    scores = {(w, t): _balanced(predict(sims, overlaps, w, t), truth) for w in words for t in grid}
    top = max(scores.values())
    tied = sorted(k for k, v in scores.items() if v == top)
    ws = sorted({w for w, _ in tied})
    w = ws[(len(ws) - 1) // 2]
    ts = sorted(t for x, t in tied if x == w)
    return top, w, ts[(len(ts) - 1) // 2]


def run(corpus: Path, cases_path: Path) -> dict[str, Any]:
    from copilot.insights.knowledge import HAS_SIMILARITY, HAS_WORDS, RunbookSteps
    from ingest.pipeline import ingest_paths

    cases = load_jsonl(cases_path)
    with temporary_kb() as kb:
        report = ingest_paths(kb, [corpus], progress=False)
        if report.failed:
            raise SystemExit(f"ingest failed: {report.failed}")
        steps = RunbookSteps(kb)
        sims, overlaps = steps.scores([c["text"] for c in cases])
        product = [m.has for m in steps.match([c["text"] for c in cases])]
    out: dict[str, Any] = {"cases": len(cases), "sections": len(steps.chunks)}
    split = {
        name: [i for i, c in enumerate(cases) if c["split"] == name] for name in ("dev", "check")
    }
    truth = [bool(c["covered"]) for c in cases]

    def part(name: str) -> tuple[np.ndarray, np.ndarray, list[bool]]:
        idx = split[name]
        return sims[idx], overlaps[idx], [truth[i] for i in idx]

    dev_s, dev_o, dev_t = part("dev")
    chk_s, chk_o, chk_t = part("check")
    chosen = {
        "both": choose(dev_s, dev_o, dev_t, WORDS, SIMS),
        "similarity_only": choose(dev_s, dev_o, dev_t, [0.0], SIMS),
        "words_only": choose(dev_s, dev_o, dev_t, WORDS, [-1.0]),
    }
    out["chosen_on_dev"] = {}
    for name, (_, w, t) in chosen.items():
        out["chosen_on_dev"][name] = {
            "words": w,
            "similarity": t,
            "dev": rates(predict(dev_s, dev_o, w, t), dev_t),
            "check": rates(predict(chk_s, chk_o, w, t), chk_t),
        }
    out["product"] = {
        "words": HAS_WORDS,
        "similarity": HAS_SIMILARITY,
        "dev": rates([product[i] for i in split["dev"]], dev_t),
        "check": rates([product[i] for i in split["check"]], chk_t),
        "check_misses": [
            {"text": cases[i]["text"], "covered": truth[i]}
            for i in split["check"]
            if product[i] != truth[i]
        ],
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "runbooks")
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    out = run(args.corpus, args.cases)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['cases']} cases, {out['sections']} runbook sections")
    for name, r in {**out["chosen_on_dev"], "product": out["product"]}.items():
        line = f"{name:16} words>={r['words']:.2f} sim>={r['similarity']:.2f}"
        for split in ("dev", "check"):
            x = r[split]
            line += (
                f"  {split}: acc {x['accuracy']} gap recall {x['gap_recall']} "
                f"precision {x['gap_precision']} covered recall {x['covered_recall']}"
            )
        print(line)
    for miss in out["product"]["check_misses"]:
        print(f"  check miss (covered={miss['covered']}): {miss['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
