"""Postmortem pre-fill eval: real postmortems in, incidents built from their timelines, drafts out.

python -m evals.postmortem --corpus ../shared/corpora/dfds-postmortems [--json] [--show]

For every postmortem in the corpus: parse its timeline (copilot.postmortem.parse), build an
incident from it in a temporary SQLite store (impact start, detection and recovery picked from the
rows by the importer's keyword rules, copilot.insights.history), pre-fill the draft, and measure:

- parser: events found against the hand-checked counts in evals/datasets/postmortem/;
- timeline fidelity: every imported event is in the draft's timeline (read back from the
  markdown), in order, at its time, with its text; events the incident store refuses (more than a
  day before impact start, by design) are counted apart;
- metrics: the draft's metrics against the times the incident was built with (the pipeline), and
  the importer's picks against the postmortem's own "Time to detection / recovery" (the rules);
- recurrence: "the Nth incident this year" against a count made here from the parsed data;
- sections: every template section present, and how many carry a sourced statement;
- similar incidents, leave-one-out: the other postmortems are ingested into a temporary knowledge
  base, the draft's similar incidents are judged against two definitions of "related": sharing a
  topic label (evals/datasets/postmortem/dfds_topics.json), or being judged relevant to the same
  history question (evals/datasets/dfds_similar.jsonl); with the chance rate of a random pick.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from copilot.embedding import Embedder, set_threads
from copilot.guardrails.redact import redact
from copilot.incidents.db import IncidentStore
from copilot.insights.history import (
    SKIP,
    Built,
    Doc,
    build,
    read_doc,
    slug,
)
from copilot.insights.history import minutes as minutes  # the eval's tests use it
from copilot.knowledge.store import KnowledgeBase
from copilot.postmortem.parse import (
    parse_timeline,
)
from copilot.postmortem.record import cell, fmt_duration
from copilot.postmortem.schemas import PostmortemResponse
from copilot.postmortem.service import draft_postmortem
from copilot.postmortem.template import load_template
from copilot.settings import Settings
from evals.common import cpu_count, load_jsonl
from ingest.pipeline import discover, ingest_paths

DATASETS = Path(__file__).parent / "datasets"
TOPICS = DATASETS / "postmortem" / "dfds_topics.json"
EXPECTED = DATASETS / "postmortem" / "dfds_timelines.jsonl"
JUDGED = DATASETS / "dfds_similar.jsonl"
# The importer is the product's (copilot.insights.history, `copilot import postmortems`): the eval
# builds its incidents with the same rules, so what it measures is what users get.
_CITED = re.compile(r"\((?:record|events? #\d+|metrics|source: [^)]+)[^)]*\)")
_slug = slug


def discover_docs(corpus: Path) -> list[Doc]:
    return [read_doc(p, corpus) for p in discover(corpus) if not SKIP.search(p.name)]


# -- checks -----------------------------------------------------------------------------------


def check_timeline(draft: PostmortemResponse, built: Built) -> dict[str, Any]:
    """Read the timeline back from the markdown and compare it with what was imported."""
    rows = parse_timeline(draft.markdown).events
    by_ref = {r.cells.get("Ref", ""): (n, r) for n, r in enumerate(rows)}
    expected = sorted(built.imported, key=lambda x: (x[2], x[0]))
    present = [by_ref.get(f"#{eid}") for eid, *_ in expected]
    found = [p for p in present if p is not None]
    positions = [n for n, _ in found]
    times_right = sum(
        1 for (eid, _e, at, _t), p in zip(expected, present, strict=True) if p and p[1].at == at
    )
    minute_events = [
        (x, p) for x, p in zip(expected, present, strict=True) if x[1].precision == "minute"
    ]
    true_times = sum(1 for (x, p) in minute_events if p and p[1].at == x[2])
    text_right = sum(
        1
        for (_eid, _e, _at, text), p in zip(expected, present, strict=True)
        if p and cell(redact(text).text) in p[1].cells.get("Event", "").replace("|", "\\|")
    )
    n = len(expected)
    return {
        "events": n,
        "present": len(found),
        "in_order": positions == sorted(positions),
        "times_right": times_right,
        "minute_events": len(minute_events),
        "minute_times_right": true_times,
        "text_right": text_right,
        "ok": len(found) == n
        and positions == sorted(positions)
        and times_right == n
        and text_right == n,
    }


def check_metrics(draft: PostmortemResponse, built: Built) -> dict[str, Any]:
    m = draft.metrics
    want_ttd = (built.detected - built.started).total_seconds() if built.detected else None
    resolved = (
        built.resolved
        if built.detected and built.resolved and built.resolved >= built.detected
        else None
    )
    want_ttr = (resolved - built.detected).total_seconds() if resolved and built.detected else None
    table = draft.sections.get("metrics", "")
    pipeline = (
        m.time_to_detect_s == want_ttd
        and m.time_to_resolve_s == want_ttr
        and f"| Time to detect | {fmt_duration(want_ttd)} |" in table
        and f"| Time to resolve | {fmt_duration(want_ttr)} |" in table
    )
    out: dict[str, Any] = {"pipeline": pipeline}
    # The importer's picks against the postmortem's own numbers. DFDS measures recovery from the
    # start of the impact; the copilot's time to resolve runs from detection.
    ours_ttd = want_ttd / 60 if want_ttd is not None else None
    ours_ttr = (resolved - built.started).total_seconds() / 60 if resolved else None
    for name, theirs, ours in (
        ("ttd", built.doc.ttd_min, ours_ttd),
        ("ttr", built.doc.ttr_min, ours_ttr),
    ):
        if theirs is None:
            continue
        out[name] = {
            "stated_min": theirs,
            "ours_min": ours,
            "agree": ours is not None and abs(ours - theirs) <= max(1.0, 0.05 * theirs),
        }
    return out


def check_sections(draft: PostmortemResponse) -> dict[str, Any]:
    headings = load_template().headings()
    present = {
        name: f"## {heading}" in draft.markdown and bool(draft.sections.get(name, "").strip())
        for name, heading in headings.items()
    }

    def has_source(name: str) -> bool:
        lines = draft.sections.get(name, "").split("\n")
        if name == "timeline":
            return any(re.search(r"\| #\d+ \|$", line) for line in lines)
        if name == "action_items":  # a row whose "From" names where it comes from
            return any(re.match(r"\| \d+ \|", x) and not x.endswith("| — |") for x in lines)
        return any(_CITED.search(line) and "**[team]**" not in line for line in lines)

    # The review section is the draft's own checklist: nothing in it needs a source.
    sourced = {name: has_source(name) for name in headings if name != "review"}
    return {"present": present, "sourced": sourced}


def check_recurrence(
    draft: PostmortemResponse, built: Built, all_built: list[Built]
) -> bool | None:
    if not built.doc.category:
        return None
    tag = _slug(built.doc.category)
    mine = built.detected or built.started
    earlier = [
        b
        for b in all_built
        if b is not built
        and b.doc.category
        and _slug(b.doc.category) == tag
        and (b.detected or b.started).year == mine.year
        and (b.detected or b.started) <= mine
    ]
    got = next((r.count for r in draft.recurring if tag in r.tags), 1)
    return got == 1 + len(earlier)


# -- similar incidents, leave one out -----------------------------------------------------------


def related_by_topics(path: Path) -> dict[str, set[str]]:
    """Postmortem -> the others that share a topic label with it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    labels = {k: set(v) for k, v in data.items() if not k.startswith("_")}
    return {a: {b for b in labels if b != a and labels[a] & labels[b]} for a in labels}


def related_by_judgement(path: Path) -> dict[str, set[str]]:
    pairs: dict[str, set[str]] = defaultdict(set)
    for row in load_jsonl(path):
        for a in row["relevant"]:
            pairs[a] |= set(row["relevant"]) - {a}
    return pairs


def score_similar(
    listed: dict[str, list[str]], related: dict[str, set[str]], names: list[str]
) -> dict[str, Any]:
    """Judge the similar incidents listed for each drafted postmortem (the keys of `listed`)
    against the others in the knowledge base (`names`, all of the corpus)."""
    hit1 = hit3 = with_related = none_listed = 0
    precision: list[float] = []
    chance: list[float] = []
    misses = []
    for name in listed:
        others = [n for n in names if n != name and n in related.get(name, set())]
        if not others:
            continue
        with_related += 1
        got = listed.get(name, [])
        chance.append(len(others) / (len(names) - 1))
        if not got:
            none_listed += 1
            misses.append({"postmortem": name, "listed": []})
            continue
        good = [g for g in got if g in others]
        hit1 += got[0] in others
        hit3 += bool(good)
        precision.append(len(good) / len(got))
        if not good:
            misses.append({"postmortem": name, "listed": got})
    n = with_related or 1
    return {
        "postmortems_with_a_related_one": with_related,
        "hit@1": round(hit1 / n, 3),
        "hit@3": round(hit3 / n, 3),
        "precision": round(sum(precision) / len(precision), 3) if precision else None,
        "none_listed": none_listed,
        "chance@1": round(sum(chance) / len(chance), 3) if chance else None,
        "misses": misses,
    }


def _link_name(doc: Doc) -> str:
    name = doc.name.replace("/", "__")
    return name if name.lower().endswith((".md", ".markdown")) else name + ".md"


# -- the run ------------------------------------------------------------------------------------


def evaluate(
    corpus: Path,
    *,
    topics: Path | None = TOPICS,
    judged: Path | None = JUDGED,
    expected: Path | None = EXPECTED,
    embedder: Embedder | None = None,
    limit: int | None = None,
    dump: Path | None = None,
) -> dict[str, Any]:
    started = time.perf_counter()
    docs = discover_docs(corpus)
    if limit:
        docs = docs[:limit]
    if not docs:
        raise SystemExit(f"no postmortems under {corpus}")
    result: dict[str, Any] = {"corpus": str(corpus), "docs": len(docs)}

    # Parser against the hand-checked counts.
    if expected is not None and expected.exists():
        want = {row["file"]: row for row in load_jsonl(expected)}
        rows = [(d, want[d.name]) for d in docs if d.name in want]
        result["parser"] = {
            "checked": len(rows),
            "count_right": sum(len(d.timeline.events) == w["events"] for d, w in rows),
            "zone_right": sum(d.timeline.zone == w["zone"] for d, w in rows),
            "events": sum(len(d.timeline.events) for d, _ in rows),
            "expected_events": sum(w["events"] for _, w in rows),
            "wrong": [
                {"file": d.name, "got": len(d.timeline.events), "want": w["events"]}
                for d, w in rows
                if len(d.timeline.events) != w["events"]
            ],
        }
    precisions: dict[str, int] = defaultdict(int)
    for d in docs:
        for e in d.timeline.events:
            precisions[e.precision] += 1
    result["precision_of_times"] = dict(precisions)

    model = embedder or Embedder()
    with TemporaryDirectory(prefix="copilot-pm-eval-") as tmp:
        root = Path(tmp)
        store = IncidentStore(
            f"sqlite:///{root / 'incidents.sqlite'}", clock=lambda: datetime.now(UTC)
        )
        built: list[Built] = []
        skipped = []
        for doc in docs:
            outcome = build(store, doc)
            if isinstance(outcome, str):
                skipped.append({"file": doc.name, "reason": outcome})
            else:
                built.append(outcome)
        result["built"] = len(built)
        result["skipped"] = skipped

        kb_root = root / "kb"
        (kb_root / "postmortems").mkdir(parents=True)
        links = {d.name: kb_root / "postmortems" / _link_name(d) for d in docs}
        source_to_name = {f"postmortems/{p.name}": n for n, p in links.items()}
        for doc in docs:
            links[doc.name].symlink_to(doc.path.resolve())
        settings = Settings(data_dir=root / "data", _env_file=None)
        kb = KnowledgeBase(settings, model)
        try:
            report = ingest_paths(kb, [kb_root], progress=False)
            result["ingest_failed"] = [f for f, _ in report.failed]
            per_doc: list[dict[str, Any]] = []
            listed: dict[str, list[str]] = {}
            for b in built:
                link = links[b.doc.name]
                link.unlink()
                ingest_paths(kb, [kb_root], progress=False)  # its own file out of the store
                try:
                    draft = draft_postmortem(store=store, incident_id=b.incident_id, kb=kb)
                finally:
                    link.symlink_to(b.doc.path.resolve())
                    ingest_paths(kb, [kb_root], progress=False)
                if dump is not None:
                    dump.mkdir(parents=True, exist_ok=True)
                    (dump / _link_name(b.doc)).write_text(draft.markdown, encoding="utf-8")
                listed[b.doc.name] = [
                    source_to_name.get(p.source, p.source) for p in draft.similar_incidents
                ]
                per_doc.append(
                    {
                        "file": b.doc.name,
                        "timeline": check_timeline(draft, b),
                        "refused": [{"time": e.raw_time, "reason": why} for e, why in b.refused],
                        "metrics": check_metrics(draft, b),
                        "recurrence_right": check_recurrence(draft, b, built),
                        "sections": check_sections(draft),
                        "similar": listed[b.doc.name],
                        "open_questions": len(draft.open_questions),
                        "runbook_updates": len(draft.runbook_updates),
                    }
                )
        finally:
            kb.close()
            store.close()

    result.update(summarise(per_doc, docs))
    names = [d.name for d in docs]
    similar: dict[str, Any] = {
        "mean_listed": round(sum(len(v) for v in listed.values()) / max(1, len(listed)), 2)
    }
    if topics is not None and topics.exists():
        similar["shared_topic"] = score_similar(listed, related_by_topics(topics), names)
    if judged is not None and judged.exists():
        similar["judged_together"] = score_similar(listed, related_by_judgement(judged), names)
    result["similar"] = similar
    result["per_doc"] = per_doc
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _rate(values: Iterable[bool]) -> float | None:
    seen = list(values)
    return round(sum(seen) / len(seen), 3) if seen else None


def summarise(per_doc: list[dict[str, Any]], docs: list[Doc]) -> dict[str, Any]:
    t = [d["timeline"] for d in per_doc]
    events = sum(x["events"] for x in t)
    refused = sum(len(d["refused"]) for d in per_doc)
    parsed = sum(len(d.timeline.events) for d in docs)
    timeline = {
        "events_parsed": parsed,
        "events_imported": events,
        "events_refused": refused,
        "fidelity": _rate(x["ok"] for x in t),
        "present": round(sum(x["present"] for x in t) / max(1, events), 4),
        "in_order": _rate(x["in_order"] for x in t),
        "times_right": round(sum(x["times_right"] for x in t) / max(1, events), 4),
        "minute_times_right": round(
            sum(x["minute_times_right"] for x in t) / max(1, sum(x["minute_events"] for x in t)), 4
        ),
        "text_right": round(sum(x["text_right"] for x in t) / max(1, events), 4),
        "present_of_parsed": round(sum(x["present"] for x in t) / max(1, parsed), 4),
    }
    m = [d["metrics"] for d in per_doc]
    metrics = {
        "pipeline_correct": _rate(x["pipeline"] for x in m),
        "vs_stated": {
            name: {
                "stated": sum(1 for x in m if name in x),
                "agree": _rate(x[name]["agree"] for x in m if name in x),
            }
            for name in ("ttd", "ttr")
        },
    }
    sections: dict[str, Any] = {
        "present": _rate(all(d["sections"]["present"].values()) for d in per_doc),
        "sourced": {
            name: _rate(d["sections"]["sourced"][name] for d in per_doc)
            for name in (per_doc[0]["sections"]["sourced"] if per_doc else {})
        },
    }
    recurrence = [d["recurrence_right"] for d in per_doc if d["recurrence_right"] is not None]
    return {
        "timeline": timeline,
        "metrics": metrics,
        "recurrence": {"checked": len(recurrence), "right": _rate(recurrence)},
        "sections": sections,
    }


def _print(result: dict[str, Any], show: bool) -> None:
    print(f"corpus: {result['corpus']}  postmortems: {result['docs']}  built: {result['built']}")
    for s in result["skipped"]:
        print(f"  skipped {s['file']}: {s['reason']}")
    if "parser" in result:
        p = result["parser"]
        print(
            f"parser: event counts right {p['count_right']}/{p['checked']}, zones right "
            f"{p['zone_right']}/{p['checked']}, events {p['events']}/{p['expected_events']}"
        )
    print(f"times as written: {result['precision_of_times']}")
    t = result["timeline"]
    print(
        f"timeline: fidelity {t['fidelity']} (docs with every imported event present, in order, "
        f"at its time, with its text); present {t['present']}, times {t['times_right']}, "
        f"text {t['text_right']}; imported {t['events_imported']}/{t['events_parsed']} "
        f"parsed, {t['events_refused']} refused by the store"
    )
    m = result["metrics"]
    print(
        f"metrics: pipeline correct {m['pipeline_correct']}; importer vs stated: time to detect "
        f"{m['vs_stated']['ttd']['agree']} of {m['vs_stated']['ttd']['stated']}, time to "
        f"recovery {m['vs_stated']['ttr']['agree']} of {m['vs_stated']['ttr']['stated']}"
    )
    r = result["recurrence"]
    print(f"recurrence: right {r['right']} of {r['checked']}")
    s = result["sections"]
    print(
        f"sections: all present {s['present']}; sourced: "
        + ", ".join(f"{k} {v}" for k, v in s["sourced"].items())
    )
    sim = result["similar"]
    print(f"similar incidents (leave one out): mean listed {sim['mean_listed']}")
    for name in ("shared_topic", "judged_together"):
        if name in sim:
            x = sim[name]
            print(
                f"  {name}: hit@1 {x['hit@1']}, hit@3 {x['hit@3']}, precision {x['precision']}, "
                f"none listed {x['none_listed']}, chance@1 {x['chance@1']} "
                f"(over {x['postmortems_with_a_related_one']})"
            )
    if show:
        for d in result["per_doc"]:
            t = d["timeline"]
            print(
                f"- {d['file']}: timeline {'ok' if t['ok'] else 'DIFF'} {t['present']}/"
                f"{t['events']}, refused {len(d['refused'])}, metrics {d['metrics']}, "
                f"similar {d['similar']}"
            )
    print(f"{result['seconds']}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.postmortem", description=__doc__)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--topics", type=Path, default=TOPICS)
    parser.add_argument("--judged", type=Path, default=JUDGED)
    parser.add_argument("--expected", type=Path, default=EXPECTED)
    parser.add_argument("--limit", type=int, help="only the first N postmortems")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show", action="store_true", help="one line per postmortem")
    parser.add_argument("--dump", type=Path, help="write every draft's markdown to this folder")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        raise SystemExit(f"--corpus {args.corpus} is not a folder")
    set_threads(cpu_count())
    result = evaluate(
        args.corpus,
        topics=args.topics,
        judged=args.judged,
        expected=args.expected,
        limit=args.limit,
        dump=args.dump,
    )
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        _print(result, args.show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
