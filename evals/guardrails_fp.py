"""False positives of the injection screening on the public corpora, split patterns vs semantic.

    python -m evals.guardrails_fp [--corpora DIR] [--half dev|check|all] [--json]
    python -m evals.guardrails_fp --calibrate [--json]

Every .md file under the corpora (default ../shared/corpora, real public runbooks and postmortems
with no planted instructions) is cut into units the way screening cuts it; each unit is checked by
the whole screening (patterns, withheld commands, paragraphs in another language, the semantic
detector). Prints files flagged / total and units flagged for
each, then every flagged unit with its file, line and the sentence that tripped it, for a human
to judge. `--half dev` reads the even-numbered files (sorted by path), the part thresholds and
exemplars were adjusted on; `--half check` the odd ones, never looked at while tuning.

`--calibrate` trains the detector on one half of the exemplars and scores the other, both ways
round, and prints recall on held-out injections and false positives on held-out benign
sentences for a range of thresholds.

`--vectors FILE` keeps sentence vectors between runs (an .npz file), so rereading after an
exemplar change does not embed the corpora again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

import copilot  # noqa: F401  - offline environment first
from copilot.embedding import Embedder, Vectors, set_threads
from copilot.guardrails import injection, language, semantic
from copilot.guardrails.injection import units
from evals.common import cpu_count

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.95)


class CachedEncoder:
    """An encoder that remembers vectors in an .npz file between runs."""

    def __init__(self, inner: Embedder, path: Path | None) -> None:
        self.inner = inner
        self.path = path
        self.vectors: dict[str, Vectors] = {}
        if path is not None and path.exists():
            data = np.load(path, allow_pickle=False)
            self.vectors = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def embed(self, texts: list[str], *, batch_size: int | None = None) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            fresh = self.inner.embed(missing, batch_size=batch_size)
            self.vectors.update(zip(missing, fresh, strict=True))
        if not texts:
            return np.zeros((0, self.inner.dimension), dtype=np.float32)
        return np.vstack([self.vectors[t] for t in texts]).astype(np.float32)

    def save(self) -> None:
        if self.path is None:
            return
        texts = list(self.vectors)
        np.savez(
            self.path,
            texts=np.array(texts),
            vectors=np.vstack([self.vectors[t] for t in texts]),
        )


def _line_of(text: str, unit: str) -> int:
    at = text.find(unit)
    return text.count("\n", 0, at) + 1 if at >= 0 else 0


def corpus_files(corpora: Path, half: str) -> list[Path]:
    files = sorted(p for p in corpora.rglob("*.md") if p.is_file())
    if half == "dev":
        return files[0::2]
    if half == "check":
        return files[1::2]
    return files


def _kind(reason: str) -> str:
    """Which part of the screening gave a reason: the patterns, a withheld command, a paragraph
    in another language, or the semantic detector."""
    if reason == injection.SEMANTIC:
        return "semantic"
    if reason == language.FOREIGN:
        return "foreign"
    return "risk" if reason.startswith("risk:") else "patterns"


def run(corpora: Path, detector: semantic.SemanticDetector, *, half: str = "all") -> dict[str, Any]:
    """Screen every file; count and list what each detector flags."""
    files = corpus_files(corpora, half)
    texts = {p: p.read_text(encoding="utf-8", errors="replace") for p in files}
    per_file = {p: units(t) for p, t in texts.items()}
    # One batch for the whole corpus: the detector caches sentences, so this is the cost.
    detector.scores([s for us in per_file.values() for u in us for s in semantic.pieces(u)])
    flagged: list[dict[str, Any]] = []
    kinds = ("patterns", "risk", "foreign", "semantic")
    totals = dict.fromkeys(("units", *kinds), 0)
    files_by: dict[str, set[str]] = {k: set() for k in (*kinds, "any")}
    with semantic.installed(detector):
        for path, file_units in per_file.items():
            totals["units"] += len(file_units)
            english = language.english_document(texts[path])
            verdicts = injection.judge(file_units, use_semantic=True, english=english)
            for unit, verdict in zip(file_units, verdicts, strict=True):
                if not verdict.reasons:
                    continue
                by = list(dict.fromkeys(_kind(r) for r in verdict.reasons))
                name = str(path.relative_to(corpora))
                for kind in by:
                    totals[kind] += 1
                    files_by[kind].add(name)
                files_by["any"].add(name)
                scores = detector.scores(verdict.sentences)
                flagged.append(
                    {
                        "file": name,
                        "line": _line_of(texts[path], unit),
                        "by": by,
                        "patterns": verdict.reasons,
                        "sentences": [
                            {"text": s, "score": round(p, 3)}
                            for s, p in zip(verdict.sentences, scores, strict=True)
                        ],
                        "unit": unit[:400],
                    }
                )
    return {
        "corpora": str(corpora),
        "half": half,
        "threshold": detector.threshold,
        "addressed_threshold": detector.addressed_threshold,
        "files": len(files),
        "units": totals["units"],
        "files_flagged": {k: len(v) for k, v in files_by.items()},
        "units_flagged": {k: totals[k] for k in kinds},
        "flagged": flagged,
    }


def _share(sentences: tuple[str, ...], scores: Any) -> float:
    flags = [semantic.over(s, float(p)) for s, p in zip(sentences, scores, strict=True)]
    return sum(flags) / (len(flags) or 1)


def calibrate(encoder: semantic.Encoder) -> dict[str, Any]:
    """Train on one half of the exemplars, score the other, both ways round."""
    injections, benign = semantic.load_exemplars()
    vectors = encoder.embed(list(injections) + list(benign))
    table = dict(zip(list(injections) + list(benign), vectors, strict=True))
    folds = []
    for half in (0, 1):
        inj_dev, inj_check = semantic.split_exemplars(injections, half)
        ben_dev, ben_check = semantic.split_exemplars(benign, half)
        w, b = semantic.train(
            np.vstack([table[t] for t in inj_dev]), np.vstack([table[t] for t in ben_dev])
        )
        pos = semantic.probabilities(np.vstack([table[t] for t in inj_check]), w, b)
        neg = semantic.probabilities(np.vstack([table[t] for t in ben_check]), w, b)
        folds.append(
            {
                "trained_on": "even lines" if half == 0 else "odd lines",
                "held_out": {"injections": len(pos), "benign": len(neg)},
                "by_threshold": {
                    str(t): {
                        "recall": round(float((pos >= t).mean()), 3),
                        "false_positive_rate": round(float((neg >= t).mean()), 3),
                    }
                    for t in THRESHOLDS
                },
                "shipped": {
                    "recall": round(_share(inj_check, pos), 3),
                    "false_positive_rate": round(_share(ben_check, neg), 3),
                },
                "missed_at_threshold": [
                    s for s, p in zip(inj_check, pos, strict=True) if not semantic.over(s, p)
                ],
                "false_positives_at_threshold": [
                    s for s, p in zip(ben_check, neg, strict=True) if semantic.over(s, p)
                ],
            }
        )
    return {
        "threshold": semantic.THRESHOLD,
        "addressed_threshold": semantic.ADDRESSED_THRESHOLD,
        "folds": folds,
    }


def _print_run(result: dict[str, Any]) -> None:
    ff = result["files_flagged"]
    print(f"corpora {result['corpora']} ({result['half']}), threshold {result['threshold']}")
    kinds = ", ".join(f"{k} {ff[k]}" for k in result["units_flagged"])
    print(f"files flagged {ff['any']} / {result['files']}: {kinds}")
    units_by = ", ".join(f"{k} {n}" for k, n in result["units_flagged"].items())
    print(f"units flagged of {result['units']}: {units_by}")
    for hit in result["flagged"]:
        print(f"\n{hit['file']}:{hit['line']}  [{', '.join(hit['by'])}] {hit['patterns']}")
        for s in hit["sentences"]:
            print(f"  {s['score']:.3f}  {s['text'][:300]}")
        if not hit["sentences"]:
            print("  " + hit["unit"][:300].replace("\n", "\n  "))


def _print_calibration(result: dict[str, Any]) -> None:
    print(
        f"shipped thresholds {result['threshold']}, {result['addressed_threshold']} for a "
        "sentence that names a model"
    )
    for fold in result["folds"]:
        held = fold["held_out"]
        print(
            f"\ntrained on {fold['trained_on']}, held out {held['injections']} injections, "
            f"{held['benign']} benign"
        )
        for t, row in fold["by_threshold"].items():
            print(f"  >= {t:5}  recall {row['recall']:.3f}  FPR {row['false_positive_rate']:.3f}")
        row = fold["shipped"]
        print(f"  shipped  recall {row['recall']:.3f}  FPR {row['false_positive_rate']:.3f}")
        for s in fold["missed_at_threshold"]:
            print(f"  missed: {s}")
        for s in fold["false_positives_at_threshold"]:
            print(f"  false positive: {s}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.guardrails_fp", description=__doc__)
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    parser.add_argument("--half", choices=("dev", "check", "all"), default="all")
    parser.add_argument("--threshold", type=float, default=semantic.THRESHOLD)
    parser.add_argument("--vectors", type=Path, default=None)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.calibrate and not args.corpora.is_dir():
        raise SystemExit(f"no such directory: {args.corpora}")
    set_threads(cpu_count())
    encoder = CachedEncoder(Embedder(), args.vectors)
    try:
        if args.calibrate:
            result = calibrate(encoder)
        else:
            detector = semantic.SemanticDetector(encoder, threshold=args.threshold)
            result = run(args.corpora, detector, half=args.half)
    finally:
        encoder.save()
    if args.json:
        print(json.dumps(result))
    elif args.calibrate:
        _print_calibration(result)
    else:
        _print_run(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
