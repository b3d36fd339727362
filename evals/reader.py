"""Reader eval: what a responder reads, beyond which document is found.

    python -m evals.reader [--json]
        [--set sample|public|offtopic|dfds|blind2|...|blind13|all ...]
        [--lines even|odd|all]

Through the product's own entry points (`retrieval.search`, `service.ask` and the postmortem
reader behind ask's "what fixed it"), over `evals/datasets/reader/`:

- doc hit@1 of search, filtered to the question's kind;
- section useful@1: the first result is the right document and its deepest heading is one of the
  question's useful sections; boilerplate lead: its deepest heading is a boilerplate one;
- step recall of ask on runbook questions (labelled fragments found in a step's text or command),
  steps cited from boilerplate sections, answers saying they have no concrete steps;
- false blocked: on-topic asks whose guardrails blocked something;
- no-match: off-topic questions flagged, on-topic questions wrongly flagged;
- fixed-by agreement on the dfds postmortems, lines cut mid-sentence, repeated sentences.

`--lines even|odd` keeps the even or odd (1-based) lines of every dataset file: a change is
decided on the even lines and checked on the odd ones.

`--questions FILE` also writes one JSON line per on-topic question (set, line, corpus, the
labelled source, the first three documents search shows, step recall and the fragments missed):
what a change is decided on. It refuses the check halves (a blind set's odd lines), whose
misses are never read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copilot.assist import service
from copilot.assist.schemas import AskResponse
from copilot.embedding import Embedder
from copilot.knowledge import retrieval, schemas
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from evals.common import ingested_kb, share
from evals.fixed_by import evaluate_fixed_by
from evals.fragments import missed_fragments, norm

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO / "evals" / "datasets" / "reader"
CORPORA = REPO.parent / "shared" / "corpora"
SAMPLE = "sample"
DFDS = "dfds"
# Where each corpus named by a dataset lives. sample.jsonl is always the shipped knowledge base.


def corpus_roots(corpora: Path = CORPORA) -> dict[str, Path]:
    return {
        SAMPLE: REPO / "runbooks",
        "prometheus-operator": corpora / "prometheus-operator-runbooks" / "content" / "runbooks",
        "openshift": corpora / "openshift-runbooks" / "alerts",
        DFDS: corpora / "dfds-postmortems",
    }


SETS = ("sample", "public", "offtopic", "dfds")
# Sets of on-topic questions. "blind2", "blind3" (public runbooks, written 2026-12-03 without the
# code or the other sets), "blind4" to "blind8" (2026-12-04), "blind9", "blind10" and "blind11"
# (2026-12-05, openshift only), "blind12", "blind13" and "blind14" (2026-12-06, both corpora,
# runbooks no dev line asks about), "blind15" and "blind16" (2026-12-07, likewise), under the
# same rules, are not part of "all": they are run once per change, as a check, by name. The
# lines of blind3 to blind8 come in pairs per corpus (1-2 prometheus-operator, 3-4 openshift, ...).
BLIND = tuple(f"blind{n}" for n in range(2, 17))
ONTOPIC = ("sample", "public", *BLIND)
FILES = {
    "sample": "sample.jsonl",
    "public": "public.jsonl",
    **{name: f"public_{name}.jsonl" for name in BLIND},
    "offtopic": "offtopic.jsonl",
    "dfds": "dfds_fixed_by.jsonl",
}
TOP_K = 5  # the API's default
# A section nobody acts on during an incident, whatever a dataset labels.
BOILERPLATE = re.compile(
    r"\b(?:related|see also|references|further reading|what went well|where we got lucky|"
    r"lessons)\b",
    re.IGNORECASE,
)
NO_STEPS = "no concrete steps"
# The key read_cases stores a case's 1-based line number under.
LINE = "_line"


def deepest(section: str) -> str:
    """The deepest heading of a section path such as "Mitigation > Verification"."""
    return section.rsplit(" > ", 1)[-1].strip()


def _heading(text: str) -> str:
    return norm(text).strip(" #:").strip("`*_ ")


def heading_in(section: str, headings: Iterable[str]) -> bool:
    """Whether the deepest heading of `section` is one of `headings` (case-insensitive)."""
    last = _heading(deepest(section))
    return any(last == _heading(h) for h in headings)


def is_boilerplate(section: str, labelled: Iterable[str] = ()) -> bool:
    """A section labelled boilerplate for the question, or named like one."""
    return heading_in(section, labelled) or bool(BOILERPLATE.search(deepest(section)))


def _hit_source(hit: Any) -> str:
    return str(getattr(hit, "chunk", hit).source)


def _hit_section(hit: Any) -> str:
    return str(getattr(hit, "chunk", hit).section)


def search(kb: KnowledgeBase, query: str, kind: str | None) -> tuple[list[Any], bool | None]:
    """The product's search as `POST /v1/search` runs it: its hits, and `no_match` if it has one."""
    hits = retrieval.search(kb=kb, query=query, top_k=TOP_K, kind=kind)
    # The response model computes no_match (older code has none: None says "not available").
    build = getattr(schemas.SearchResponse, "build", None)
    if build is None:
        return hits, None
    flag = getattr(build(query, hits, floor=kb.settings.abstain_below), "no_match", None)
    return hits, (None if flag is None else bool(flag))


# --- on-topic questions ---------------------------------------------------------------------


@dataclass
class QuestionScore:
    corpus: str
    kind: str
    hit1: bool
    useful1: bool
    boilerplate_lead: bool
    recall: float | None  # runbook questions with labelled steps only
    boilerplate_steps: int
    no_steps: bool
    abstained: bool
    blocked: bool
    blocked_reasons: tuple[str, ...]
    flagged: bool  # no-match said (or, without it, ask abstained)
    signal: str
    # For the per-question file (--questions): where the case came from and what was read.
    set_name: str = ""
    line: int = 0
    source: str = ""
    first: tuple[str, ...] = ()
    missed: tuple[str, ...] = ()

    def row(self) -> dict[str, Any]:
        return {
            "set": self.set_name,
            "line": self.line,
            "corpus": self.corpus,
            "source": self.source,
            "first": list(self.first),
            "hit1": self.hit1,
            "recall": self.recall,
            "missed": list(self.missed),
        }


def score_search(case: dict[str, Any], hits: Sequence[Any]) -> tuple[bool, bool, bool]:
    """(doc hit@1, section useful@1, boilerplate lead) of one question's search results."""
    if not hits:
        return False, False, False
    first = hits[0]
    hit1 = _hit_source(first) == case["source"]
    section = _hit_section(first)
    useful = hit1 and heading_in(section, case.get("useful_sections", []))
    lead = is_boilerplate(section, case.get("boilerplate_sections", []) if hit1 else [])
    return hit1, useful, lead


def score_answer(
    case: dict[str, Any], answer: AskResponse, missed: Sequence[str] | None = None
) -> tuple[float | None, int, bool]:
    """(step recall, steps cited from boilerplate sections, says it has no concrete steps).

    `missed`: the case's `missed_fragments`, when the caller has them already."""
    fragments = [f for f in case.get("steps", []) if norm(f)]
    recall = None
    if case.get("kind", "runbook") == "runbook" and fragments:
        if missed is None:
            missed = missed_fragments(case, answer)
        recall = (len(fragments) - len(missed)) / len(fragments)
    labelled = case.get("boilerplate_sections", [])
    boilerplate = sum(
        any(
            is_boilerplate(c.section, labelled if c.source == case["source"] else [])
            for c in s.citations
        )
        for s in answer.steps
    )
    return recall, boilerplate, NO_STEPS in norm(answer.answer)


def reason_kind(blocked: str) -> str:
    """What kind of thing was blocked, without the document or question text it quotes."""
    return re.split(r"[:(\[{'\"`]", blocked, maxsplit=1)[0].strip()[:60]


def score_question(
    kb: KnowledgeBase, case: dict[str, Any], corpus: str, set_name: str = ""
) -> QuestionScore:
    kind = case.get("kind", "runbook")
    hits, no_match = search(kb, case["question"], kind)
    hit1, useful, lead = score_search(case, hits)
    answer = service.ask(kb=kb, question=case["question"])
    missed = missed_fragments(case, answer)
    recall, boilerplate, no_steps = score_answer(case, answer, missed)
    first = tuple(dict.fromkeys(_hit_source(h) for h in hits))[:3]
    return QuestionScore(
        set_name=set_name,
        line=int(case.get(LINE, 0)),
        source=str(case.get("source", "")),
        first=first,
        missed=tuple(missed) if recall is not None else (),
        corpus=corpus,
        kind=kind,
        hit1=hit1,
        useful1=useful,
        boilerplate_lead=lead,
        recall=recall,
        boilerplate_steps=boilerplate,
        no_steps=no_steps,
        abstained=answer.abstained,
        blocked=bool(answer.guardrails.blocked),
        blocked_reasons=tuple(reason_kind(b) for b in answer.guardrails.blocked),
        flagged=answer.abstained if no_match is None else no_match,
        signal="ask.abstained" if no_match is None else "search.no_match",
    )


def _signal(signals: Iterable[str]) -> str:
    return "+".join(sorted(set(signals))) or "none"


def summarise(scores: Sequence[QuestionScore]) -> dict[str, Any]:
    """The on-topic metrics over a list of scored questions."""
    recalls = [s.recall for s in scores if s.recall is not None]
    return {
        "questions": len(scores),
        "runbook_questions": sum(s.kind == "runbook" for s in scores),
        "doc_hit@1": share([s.hit1 for s in scores]),
        "section_useful@1": share([s.useful1 for s in scores]),
        "boilerplate_lead": share([s.boilerplate_lead for s in scores]),
        "step_recall": share(recalls),
        "step_labelled": len(recalls),
        # Extraction apart from ranking: recall where search's first document is the right one,
        # and where it is not (then only a near twin's or close call's steps can help).
        "step_recall_right_doc": share(
            [s.recall for s in scores if s.recall is not None and s.hit1]
        ),
        "step_recall_wrong_doc": share(
            [s.recall for s in scores if s.recall is not None and not s.hit1]
        ),
        "boilerplate_steps": sum(s.boilerplate_steps for s in scores),
        "answers_with_boilerplate_steps": sum(s.boilerplate_steps > 0 for s in scores),
        "no_concrete_steps": sum(s.no_steps for s in scores),
        "abstained": sum(s.abstained for s in scores),
        "false_blocked": share([s.blocked for s in scores]),
        "blocked": sum(s.blocked for s in scores),
        "blocked_reasons": dict(
            Counter(r for s in scores for r in set(s.blocked_reasons)).most_common(5)
        ),
        "ontopic_wrongly_flagged": share([s.flagged for s in scores]),
        "no_match_signal": _signal(s.signal for s in scores),
    }


def evaluate_questions(
    kb: KnowledgeBase, cases: Sequence[dict[str, Any]], corpus: str
) -> list[QuestionScore]:
    return [score_question(kb, case, corpus) for case in cases]


# --- off-topic questions --------------------------------------------------------------------


def offtopic_flag(kb: KnowledgeBase, question: str) -> tuple[bool, str]:
    """Whether the product says nothing matches: search's no_match, else ask's abstention."""
    _, no_match = search(kb, question, None)
    if no_match is not None:
        return no_match, "search.no_match"
    return service.ask(kb=kb, question=question).abstained, "ask.abstained"


def evaluate_offtopic(kb: KnowledgeBase, cases: Sequence[dict[str, Any]]) -> dict[str, Any]:
    flags = [offtopic_flag(kb, c["question"]) for c in cases]
    return {
        "questions": len(flags),
        "offtopic_flagged": share([f for f, _ in flags]),
        "no_match_signal": _signal(s for _, s in flags),
    }


# --- datasets and the run -------------------------------------------------------------------


def read_cases(path: Path, lines: str = "all") -> list[dict[str, Any]]:
    """The JSON objects of a dataset file, keeping the even or odd (1-based) lines if asked."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if (
            not line.strip()
            or (lines == "even" and number % 2)
            or (lines == "odd" and not number % 2)
        ):
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{number}: not JSON: {exc.msg}") from None
        if isinstance(row, dict):
            row[LINE] = number
        rows.append(row)
    return rows


def _corpus_of(set_name: str, case: dict[str, Any]) -> str:
    return SAMPLE if set_name == "sample" else str(case.get("corpus", ""))


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def run(
    sets: Sequence[str] = SETS,
    lines: str = "all",
    *,
    datasets: Path = DATASETS,
    roots: dict[str, Path] | None = None,
    embedder: Embedder | None = None,
    questions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Ingest each corpus the chosen sets need once, in a temporary store, and score them.

    `questions`, if given, receives one row per on-topic question (`QuestionScore.row`)."""
    roots = roots or corpus_roots()
    loaded: dict[str, list[dict[str, Any]]] = {}
    out: dict[str, Any] = {"lines": lines, "sets": {}}
    for name in sets:
        path = datasets / FILES[name]
        if path.is_file():
            loaded[name] = read_cases(path, lines)
        else:
            out["sets"][name] = {"missing": str(path)}
    # corpus -> on-topic (set, case) pairs to score in it
    ontopic: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name in ONTOPIC:
        for case in loaded.get(name, []):
            corpus = _corpus_of(name, case)
            if corpus not in roots:
                _warn(f"{name}: unknown corpus {corpus!r}; question skipped")
                continue
            if not (roots[corpus] / case["source"]).is_file():
                _warn(f"{name}: {corpus}/{case['source']} does not exist (scored as a miss)")
            ontopic.setdefault(corpus, []).append((name, case))
    corpora = list(ontopic)
    if "offtopic" in loaded and SAMPLE not in corpora:
        corpora.insert(0, SAMPLE)  # off-topic questions are asked of every runbook corpus loaded
    if "dfds" in loaded:
        corpora.append(DFDS)

    scores: dict[str, list[QuestionScore]] = {name: [] for name in ONTOPIC}
    offtopic: dict[str, dict[str, Any]] = {}
    model = embedder or Embedder(Settings(_env_file=None).embedding_model)
    for corpus in corpora:
        with ingested_kb([roots[corpus]], embedder=model, label=corpus) as kb:
            if corpus == DFDS:
                out["sets"]["dfds"] = evaluate_fixed_by(kb, loaded["dfds"], roots[DFDS])
                continue
            for name, case in ontopic.get(corpus, []):
                scores[name].append(score_question(kb, case, corpus, name))
            if "offtopic" in loaded:
                offtopic[corpus] = evaluate_offtopic(kb, loaded["offtopic"])

    for name in ONTOPIC:
        if name not in loaded:
            continue
        summary = summarise(scores[name])
        by_corpus = sorted({s.corpus for s in scores[name]})
        if name != "sample" and len(by_corpus) > 1:
            summary["by_corpus"] = {
                c: summarise([s for s in scores[name] if s.corpus == c]) for c in by_corpus
            }
        out["sets"][name] = summary
    if "offtopic" in loaded:
        n = sum(v["questions"] for v in offtopic.values()) or 1
        out["sets"]["offtopic"] = {
            "questions": len(loaded["offtopic"]),
            "offtopic_flagged": round(
                sum((v["offtopic_flagged"] or 0) * v["questions"] for v in offtopic.values()) / n, 4
            ),
            "no_match_signal": _signal(v["no_match_signal"] for v in offtopic.values()),
            "by_corpus": offtopic,
        }
    both = [s for name in ONTOPIC for s in scores[name]]
    if questions is not None:
        questions.extend(s.row() for s in both)
    if both:
        out["ontopic"] = {
            "questions": len(both),
            "false_blocked": share([s.blocked for s in both]),
            "ontopic_wrongly_flagged": share([s.flagged for s in both]),
        }
    return out


def _f(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def _print_ontopic(name: str, m: dict[str, Any]) -> None:
    print(f"{name}: {m['questions']} questions ({m['runbook_questions']} runbook)")
    print(
        f"  doc hit@1 {_f(m['doc_hit@1'])}   section useful@1 {_f(m['section_useful@1'])}   "
        f"boilerplate lead {_f(m['boilerplate_lead'])}"
    )
    print(
        f"  step recall {_f(m['step_recall'])} ({m['step_labelled']} labelled)   "
        f"steps from boilerplate sections {m['boilerplate_steps']} "
        f"(in {m['answers_with_boilerplate_steps']} answers)   "
        f"'no concrete steps' {m['no_concrete_steps']}   abstained {m['abstained']}"
    )
    print(
        f"  step recall when the first document is right {_f(m['step_recall_right_doc'])}, "
        f"when it is wrong {_f(m['step_recall_wrong_doc'])}"
    )
    print(
        f"  false blocked {_f(m['false_blocked'])} ({m['blocked']}: {m['blocked_reasons']})   "
        f"on-topic wrongly flagged no-match {_f(m['ontopic_wrongly_flagged'])} "
        f"[{m['no_match_signal']}]"
    )


def print_report(result: dict[str, Any]) -> None:
    print(f"lines: {result['lines']}")
    for name, m in result["sets"].items():
        if "missing" in m:
            print(f"{name}: dataset missing ({m['missing']})")
        elif name in ONTOPIC:
            _print_ontopic(name, m)
            for corpus, sub in m.get("by_corpus", {}).items():
                _print_ontopic(f"  {name}/{corpus}", sub)
        elif name == "offtopic":
            per = ", ".join(f"{c} {_f(v['offtopic_flagged'])}" for c, v in m["by_corpus"].items())
            print(
                f"offtopic: {m['questions']} questions: "
                f"flagged no-match {_f(m['offtopic_flagged'])} "
                f"[{m['no_match_signal']}] ({per})"
            )
        elif name == "dfds":
            print(
                f"dfds: {m['questions']} postmortems: "
                f"fixed-by agreement {_f(m['fixed_by_agreement'])} "
                f"(stated {_f(m['stated_found'])} of {m['stated']}, not stated "
                f"{_f(m['unstated_said_not_stated'])} of {m['unstated']})   "
                f"cut mid-sentence {m['cut_mid_sentence']}   duplicated sentences "
                f"{m['duplicated_sentences']}   truncated {m['truncated']}   "
                f"missing {m['missing_documents']}   [{m['extractor']}]"
            )
    if "ontopic" in result:
        o = result["ontopic"]
        print(
            f"on-topic (all sets run, {o['questions']}): false blocked {_f(o['false_blocked'])}   "
            f"wrongly flagged no-match {_f(o['ontopic_wrongly_flagged'])}"
        )


def chosen_sets(chosen: Sequence[str] | None) -> tuple[str, ...]:
    """The sets named on the command line, "all" standing for the four dev sets, each once."""
    names = (n for c in (chosen or ["all"]) for n in (SETS if c == "all" else (c,)))
    return tuple(dict.fromkeys(names))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.reader", description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--set",
        choices=[*SETS, *BLIND, "all"],
        action="append",
        help="a set to run (repeat it to run several with each corpus ingested once; default all)",
    )
    parser.add_argument("--lines", choices=["even", "odd", "all"], default="all")
    parser.add_argument("--datasets", type=Path, default=DATASETS, help="reader dataset folder")
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="the public corpora")
    parser.add_argument(
        "--questions",
        type=Path,
        metavar="FILE",
        help="also write one JSON line per on-topic question (dev lines only)",
    )
    args = parser.parse_args(argv)
    sets = chosen_sets(args.set)
    if args.questions is not None and args.lines != "even" and any(n in BLIND for n in sets):
        parser.error(
            "--questions writes what each question missed: with a blind set it needs "
            "--lines even (the odd lines are the check halves, never read)"
        )
    rows: list[dict[str, Any]] | None = [] if args.questions is not None else None
    result = run(
        sets, args.lines, datasets=args.datasets, roots=corpus_roots(args.corpora), questions=rows
    )
    if args.questions is not None and rows is not None:
        args.questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
