"""Does ask show the past incidents a responder would read, and none when there are none?

python -m evals.similar [--json] [--lines even|odd|all] [--floor X ...] [--ratio R ...]
                        [--set NAME ...] [--questions FILE]

Ask (`assist.service.ask`, the product's entry point), on two sources:

- **sample**: the sample knowledge base (`runbooks/`: its runbooks and postmortems) and the
  questions of `datasets/reader/similar_blind*.jsonl`. Each line names the postmortems a
  responder would want to read for the question (`postmortems`, half the time none); the labels
  were written blind, by helpers who read only the runbooks and postmortems (see
  `datasets/reader/README.md`).
- **dfds**: the real postmortems of `../shared/corpora/dfds-postmortems` (copied into a
  `postmortems/` folder so they are ingested as postmortems) and the history questions of
  `datasets/dfds_similar.jsonl`, each with the postmortems judged relevant (never none): how
  many a stricter rule stops showing.
- **alerts**: an alert candidate's similar incidents (`alerts.runbooks.RunbookFinder.similar`
  on the query `alerts.views.similar_query` builds from its alert name, summary and services)
  over the sample knowledge base, on `datasets/alerts_similar_blind*.jsonl` (an alert each, with
  the postmortems a responder would want when it fires; written blind like the sample's sets).

Per setting, a floor (the similarity a postmortem must reach to be shown, `SIMILAR_FLOOR`) and
a ratio (the share of the first one's score another must reach, `SIMILAR_RATIO`), in
`assist.service` for ask's sources and in `alerts.runbooks` for the alerts':

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
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from copilot.alerts import models as am
from copilot.alerts import runbooks as alert_runbooks
from copilot.alerts.views import similar_query
from copilot.assist import service
from copilot.knowledge.store import KnowledgeBase
from evals.common import ingested_kb, share
from evals.reader import DFDS, LINE, corpus_roots, read_cases

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "runbooks"
DATASETS = Path(__file__).resolve().parent / "datasets"
HISTORY = DATASETS / "dfds_similar.jsonl"
SOURCES = ("sample", "dfds", "alerts")


def dataset_files() -> list[Path]:
    return sorted((DATASETS / "reader").glob("similar_blind*.jsonl"))


def shown(kb: KnowledgeBase, question: str) -> list[str]:
    """The postmortems ask lists as similar incidents, in its order."""
    return [inc.source for inc in service.ask(kb=kb, question=question).similar_incidents]


def alert_files() -> list[Path]:
    return sorted(DATASETS.glob("alerts_similar_blind*.jsonl"))


def shown_for_alert(finder: alert_runbooks.RunbookFinder, case: dict[str, Any]) -> list[str]:
    """The postmortems an alert candidate with this one alert lists as similar incidents."""
    alert = am.Alert(alertname=case["alertname"], annotations={"summary": case["summary"]})
    services = list(case.get("services") or [])
    return [f.chunk.source for f in finder.similar(similar_query([alert], services), services)]


def score(cases: Sequence[dict[str, Any]], answers: Sequence[list[str]]) -> dict[str, Any]:
    """The figures for one setting: `answers[i]` is what was shown for `cases[i]`."""
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
    ratios: Sequence[float],
    *,
    alerts: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The figures per setting (floor / ratio), and one row per question and setting (what was
    shown): ask's similar incidents, or with `alerts` an alert candidate's."""
    results: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    knobs: Any = alert_runbooks if alerts else service
    kept = knobs.SIMILAR_FLOOR, knobs.SIMILAR_RATIO
    try:
        for floor, ratio in itertools.product(floors, ratios):
            knobs.SIMILAR_FLOOR, knobs.SIMILAR_RATIO = floor, ratio
            if alerts:
                finder = alert_runbooks.RunbookFinder(kb)  # its own cache per setting
                answers = [shown_for_alert(finder, c) for c in cases]
            else:
                answers = [shown(kb, c["question"]) for c in cases]
            results[f"{floor:g} / {ratio:g}"] = score(cases, answers)
            rows += [
                {
                    "floor": floor,
                    "ratio": ratio,
                    "file": c["_file"],
                    "line": c[LINE],
                    "shown": got,
                    "labelled": c["postmortems"],
                }
                for c, got in zip(cases, answers, strict=True)
            ]
    finally:
        knobs.SIMILAR_FLOOR, knobs.SIMILAR_RATIO = kept
    return results, rows


def load(lines: str, names: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The sample's blind questions (of the named sets, or all)."""
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


def load_alerts(lines: str) -> list[dict[str, Any]]:
    """The blind alert cases; `question` is the alert as one line (for the rows)."""
    cases = []
    for path in alert_files():
        for case in read_cases(path, lines):
            if not case.get("alertname") or not isinstance(case.get("postmortems"), list):
                raise SystemExit(f"{path}:{case.get(LINE)}: needs 'alertname' and 'postmortems'")
            case["question"] = f"{case['alertname']}: {case.get('summary', '')}"
            case["_file"] = path.name
            cases.append(case)
    return cases


def load_history(lines: str) -> list[dict[str, Any]]:
    """The dfds history questions, labelled with the sources their postmortems get here."""
    return [
        {
            "question": case["query"],
            "postmortems": [f"postmortems/{name}" for name in case["relevant"]],
            "_file": HISTORY.name,
            LINE: case[LINE],
        }
        for case in read_cases(HISTORY, lines)
    ]


def _measure(
    root: Path,
    cases: Sequence[dict[str, Any]],
    floors: Sequence[float],
    ratios: Sequence[float],
    *,
    alerts: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with ingested_kb([root]) as kb:
        return evaluate(kb, cases, floors, ratios, alerts=alerts)


def run(
    floors: Sequence[float],
    ratios: Sequence[float],
    lines: str,
    names: Sequence[str] = (),
    sources: Sequence[str] = SOURCES,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Figures per source and setting, and the rows behind them. No floors (ratios): each
    source's own in the product."""
    results: dict[str, Any] = {}
    alert_floors = floors or [alert_runbooks.SIMILAR_FLOOR]
    alert_ratios = ratios or [alert_runbooks.SIMILAR_RATIO]
    floors = floors or [service.SIMILAR_FLOOR]
    ratios = ratios or [service.SIMILAR_RATIO]
    rows: list[dict[str, Any]] = []
    if "sample" in sources:
        cases = load(lines, names)
        if not cases:
            raise SystemExit(f"no similar_blind*.jsonl questions in {DATASETS / 'reader'}")
        results["sample"], rows = _measure(CORPUS, cases, floors, ratios)
    if "dfds" in sources:
        corpus = corpus_roots()[DFDS]
        if not corpus.is_dir():
            print(f"warning: {corpus} is missing; dfds skipped", file=sys.stderr)
        else:
            with tempfile.TemporaryDirectory(prefix="copilot-similar-") as tmp:
                folder = Path(tmp) / "postmortems"
                folder.mkdir()
                for path in sorted(corpus.glob("*.md")):
                    shutil.copyfile(path, folder / path.name)
                results["dfds"], more = _measure(Path(tmp), load_history(lines), floors, ratios)
                rows += more
    if "alerts" in sources:
        cases = load_alerts(lines)
        if cases:
            results["alerts"], more = _measure(
                CORPUS, cases, alert_floors, alert_ratios, alerts=True
            )
            rows += more
    return results, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--floor", type=float, action="append", help="repeatable; default: the product's"
    )
    parser.add_argument(
        "--ratio", type=float, action="append", help="repeatable; default: the product's"
    )
    parser.add_argument(
        "--set", action="append", default=[], help="a sample set's name (similar_blind1)"
    )
    parser.add_argument("--source", action="append", choices=SOURCES, help="default: both")
    parser.add_argument("--lines", choices=["even", "odd", "all"], default="all")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--questions", type=Path, help="write one JSON line per question and setting (dev lines)"
    )
    args = parser.parse_args(argv)
    if args.questions and args.lines != "even":
        parser.error("--questions is for the dev lines (--lines even): check lines are not read")
    results, rows = run(
        args.floor or [],
        args.ratio or [],
        args.lines,
        args.set,
        args.source or SOURCES,
    )
    if args.questions:
        args.questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for source, by_setting in results.items():
        first = next(iter(by_setting.values()))
        print(
            f"{source}: {first['questions']} questions "
            f"({first['none_questions']} about no past incident)"
        )
        print(
            f"{'floor / ratio':>14} {'shown when none':>16} {'found':>6} {'first right':>12} "
            f"{'precision':>10} {'shown':>6} {'exact':>6}"
        )
        for setting, m in by_setting.items():
            print(
                f"{setting:>14} {_f(m['shown_when_none']):>16} {_f(m['found']):>6} "
                f"{_f(m['first_right']):>12} {_f(m['precision']):>10} {m['shown']:>6} "
                f"{_f(m['exact']):>6}"
            )
    return 0


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
