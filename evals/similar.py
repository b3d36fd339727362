"""Does ask show the past incidents a responder would read, and none when there are none?

python -m evals.similar [--json] [--lines even|odd|all] [--floor X ...] [--score S ...]
                        [--ratio R ...] [--set NAME ...]
                        [--questions FILE]

Ask (`assist.service.ask`, the product's entry point) over the sample knowledge base
(`runbooks/`: its runbooks and postmortems), on the questions of
`datasets/reader/similar_blind*.jsonl`. Each line names the postmortems a responder would want
to read for the question (`postmortems`, often none); the labels were written blind, by a
helper who read only the runbooks and postmortems (see `datasets/reader/README.md`).

Per floor (the similarity a postmortem must reach to be shown, `service.SIMILAR_FLOOR`), score
(the retrieval score it must reach, `service.SIMILAR_SCORE`) and ratio (the share of the first
one's score another must reach, `service.SIMILAR_RATIO`):

- **shown when none** (lower is better): of the questions no past incident is about, the share
  whose answer shows one anyway;
- **found** (higher is better): of the questions with labelled postmortems, the share whose
  answer shows one of them; **first right**: the first one shown is labelled;
- **precision**: of every postmortem shown, the share that is labelled for its question;
- **exact**: the answer shows exactly the labelled ones (none for none).

Protocol as for the reader: decide on `--lines even`, check on `--lines odd` (figures only).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from copilot.assist import service
from copilot.embedding import set_threads
from copilot.knowledge.store import KnowledgeBase
from evals.common import cpu_count, share, temporary_kb
from evals.reader import LINE, read_cases
from ingest.pipeline import ingest_paths

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "runbooks"
DATASETS = Path(__file__).resolve().parent / "datasets" / "reader"


def dataset_files() -> list[Path]:
    return sorted(DATASETS.glob("similar_blind*.jsonl"))


def shown(kb: KnowledgeBase, question: str) -> list[str]:
    """The postmortems ask lists as similar incidents, in its order."""
    return [inc.source for inc in service.ask(kb=kb, question=question).similar_incidents]


def score(cases: Sequence[dict[str, Any]], answers: Sequence[list[str]]) -> dict[str, Any]:
    """The figures for one floor: `answers[i]` is what was shown for `cases[i]`."""
    none_shown: list[bool] = []
    found: list[bool] = []
    first_right: list[bool] = []
    exact: list[bool] = []
    labelled_shown = total_shown = 0
    for case, got in zip(cases, answers, strict=True):
        wanted = set(case["postmortems"])
        exact.append(set(got) == wanted)
        total_shown += len(got)
        labelled_shown += sum(src in wanted for src in got)
        if wanted:
            found.append(bool(wanted & set(got)))
            first_right.append(bool(got) and got[0] in wanted)
        else:
            none_shown.append(bool(got))
    return {
        "questions": len(cases),
        "none_questions": len(none_shown),
        "shown_when_none": share(none_shown),
        "found": share(found),
        "first_right": share(first_right),
        "precision": round(labelled_shown / total_shown, 4) if total_shown else None,
        "shown": total_shown,
        "exact": share(exact),
    }


def evaluate(
    kb: KnowledgeBase,
    cases: Sequence[dict[str, Any]],
    floors: Sequence[float],
    scores: Sequence[float],
    ratios: Sequence[float],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The figures per setting (floor, score, ratio), and one row per question and setting
    (what was shown)."""
    results: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    kept = service.SIMILAR_FLOOR, service.SIMILAR_SCORE, service.SIMILAR_RATIO
    try:
        for floor, least, ratio in itertools.product(floors, scores, ratios):
            service.SIMILAR_FLOOR, service.SIMILAR_SCORE, service.SIMILAR_RATIO = (
                floor,
                least,
                ratio,
            )
            answers = [shown(kb, c["question"]) for c in cases]
            results[f"{floor:g} / {least:g} / {ratio:g}"] = score(cases, answers)
            rows += [
                {
                    "floor": floor,
                    "score": least,
                    "ratio": ratio,
                    "file": c["_file"],
                    "line": c[LINE],
                    "shown": got,
                    "labelled": c["postmortems"],
                }
                for c, got in zip(cases, answers, strict=True)
            ]
    finally:
        service.SIMILAR_FLOOR, service.SIMILAR_SCORE, service.SIMILAR_RATIO = kept
    return results, rows


def load(lines: str, names: Sequence[str] = ()) -> list[dict[str, Any]]:
    cases = []
    for path in dataset_files():
        if names and path.stem not in names:
            continue
        for case in read_cases(path, lines):
            if not isinstance(case.get("postmortems"), list) or not case.get("question"):
                raise SystemExit(f"{path}:{case.get(LINE)}: needs 'question' and 'postmortems'")
            case["_file"] = path.name
            cases.append(case)
    return cases


def run(
    floors: Sequence[float],
    scores: Sequence[float],
    ratios: Sequence[float],
    lines: str,
    names: Sequence[str] = (),
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    cases = load(lines, names)
    if not cases:
        raise SystemExit(f"no similar_blind*.jsonl questions in {DATASETS}")
    set_threads(cpu_count())
    with temporary_kb(None) as kb:
        report = ingest_paths(kb, [CORPUS], progress=sys.stderr.isatty())
        if report.failed:
            print(f"warning: {len(report.failed)} files skipped", file=sys.stderr)
        set_threads(1)
        return evaluate(kb, cases, floors, scores, ratios)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--floor", type=float, action="append", help="repeatable; default: the product's"
    )
    parser.add_argument(
        "--score", type=float, action="append", help="repeatable; default: the product's"
    )
    parser.add_argument(
        "--ratio", type=float, action="append", help="repeatable; default: the product's"
    )
    parser.add_argument(
        "--set", action="append", default=[], help="a dataset's name (similar_blind1); default all"
    )
    parser.add_argument("--lines", choices=["even", "odd", "all"], default="all")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--questions", type=Path, help="write one JSON line per question and floor (dev lines)"
    )
    args = parser.parse_args(argv)
    if args.questions and args.lines != "even":
        parser.error("--questions is for the dev lines (--lines even): check lines are not read")
    results, rows = run(
        args.floor or [service.SIMILAR_FLOOR],
        args.score or [service.SIMILAR_SCORE],
        args.ratio or [service.SIMILAR_RATIO],
        args.lines,
        args.set,
    )
    if args.questions:
        args.questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    first = next(iter(results.values()))
    print(f"{first['questions']} questions ({first['none_questions']} about no past incident)")
    print(
        f"{'floor / score / ratio':>21} {'shown when none':>16} {'found':>6} {'first right':>12} "
        f"{'precision':>10} {'shown':>6} {'exact':>6}"
    )
    for setting, m in results.items():
        print(
            f"{setting:>21} {_f(m['shown_when_none']):>16} {_f(m['found']):>6} "
            f"{_f(m['first_right']):>12} {_f(m['precision']):>10} {m['shown']:>6} "
            f"{_f(m['exact']):>6}"
        )
    return 0


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
