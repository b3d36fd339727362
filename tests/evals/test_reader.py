"""The reader eval scores what a responder reads: checked on a tiny knowledge base of our own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from copilot.assist import schemas as s
from copilot.assist import service
from copilot.embedding import Embedder
from copilot.guardrails.screened import screened
from copilot.knowledge.models import Hit
from copilot.knowledge.store import KnowledgeBase
from evals import fixed_by, reader
from evals.common import temporary_kb
from ingest.pipeline import ingest_paths
from tests.conftest import a_chunk, write

DISK = """# Node disk full

## Diagnosis

Check which filesystem is full with `df -h` on the node.
Look for large log files under /var/log.

## Mitigation

1. Delete rotated logs: `find /var/log -name '*.gz' -delete`
2. Restart the log shipper so it releases deleted files.

## Related

- See the inode exhaustion runbook for the same alert.
"""
DNS = """# DNS resolution failures

## Diagnosis

NXDOMAIN errors from coredns pods; check `kubectl -n kube-system logs deploy/coredns`.

## Mitigation

Roll back the coredns ConfigMap to the previous revision.
"""
OUTAGE = """# API outage after a bad release

## Summary

The API returned errors for 40 minutes after release 1.2.4.

## Resolution

We rolled back the release to 1.2.3. Errors stopped within minutes.
"""
QUESTION = "the node disk is full: no space left on device"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reader-corpus")
    write(root, "runbooks/disk-full.md", DISK)
    write(root, "runbooks/dns-failures.md", DNS)
    write(root, "postmortems/2026-01-01-api-outage.md", OUTAGE)
    return root


@pytest.fixture(scope="module")
def kb(corpus: Path, embedder: Embedder) -> Iterator[KnowledgeBase]:
    with temporary_kb(embedder=embedder) as knowledge:
        assert not ingest_paths(knowledge, [corpus], progress=False).failed
        yield knowledge


def _hit(source: str, section: str) -> Hit:
    chunk = a_chunk("", section=section, source=source, cid=f"{source}#{section}", title="t")
    return Hit(chunk=chunk, score=1.0)


def _case(**fields: Any) -> dict[str, Any]:
    case = {
        "corpus": "sample",
        "question": QUESTION,
        "kind": "runbook",
        "source": "runbooks/disk-full.md",
        "useful_sections": ["Mitigation"],
        "steps": [],
        "boilerplate_sections": ["Related"],
    }
    return case | fields


def test_section_useful_needs_the_right_document_and_its_deepest_heading() -> None:
    case = _case(useful_sections=["mitigation "])
    assert reader.score_search(case, [_hit("runbooks/disk-full.md", "Mitigation")]) == (
        True,
        True,
        False,
    )
    # The deepest heading decides: "Mitigation > Verification" is a check list, not the fix.
    nested = [_hit("runbooks/disk-full.md", "Mitigation > Verification")]
    assert reader.score_search(case, nested) == (True, False, False)
    deep = _case(useful_sections=["Verification"])
    assert reader.score_search(deep, nested) == (True, True, False)
    # The right heading in the wrong document is a miss.
    assert reader.score_search(case, [_hit("runbooks/dns-failures.md", "Mitigation")]) == (
        False,
        False,
        False,
    )
    assert reader.score_search(case, [_hit("runbooks/disk-full.md", "Related")]) == (
        True,
        False,
        True,
    )
    assert reader.score_search(case, [_hit("runbooks/dns-failures.md", "See also")])[2]
    # A word that only contains a boilerplate name is not one ("Correlated" holds "related").
    correlated = [_hit("runbooks/disk-full.md", "Troubleshooting > Check for Correlated Alerts")]
    assert reader.score_search(case, correlated)[2] is False
    assert reader.score_search(case, []) == (False, False, False)


def _step(text: str, section: str, command: str | None = None) -> s.Step:
    citation = s.Citation(
        source="runbooks/disk-full.md",
        title=screened("t"),
        section=screened(section),
        lines=(1, 2),
        score=1.0,
    )
    # Built unvalidated: screening shown text is the product's business, not this eval's.
    return s.Step.model_construct(text=text, command=command, citations=[citation])


def _answer(steps: list[s.Step], answer: str = "") -> s.AskResponse:
    return s.AskResponse.model_construct(
        answer=answer,
        steps=steps,
        citations=[],
        similar_incidents=[],
        confidence=1.0,
        abstained=False,
        guardrails=s.Guardrails(),
    )


def test_step_recall_and_boilerplate_steps() -> None:
    case = _case(steps=["RESTART the  log\nshipper", "df -h", "drain the node"])
    answer = _answer(
        [
            _step("Restart the log shipper so it releases deleted files.", "Mitigation"),
            _step("Check the filesystem.", "Diagnosis", command="df -h"),
            _step("See the inode exhaustion runbook.", "Mitigation > Related"),
            # Not labelled for this question, but named like a link list.
            _step("Read the kernel documentation.", "Further reading"),
        ]
    )
    recall, boilerplate, no_steps = reader.score_answer(case, answer)
    assert recall == pytest.approx(2 / 3)
    assert boilerplate == 2 and not no_steps
    said = _answer([], answer="It has no concrete steps for this; read the cited sections.")
    assert reader.score_answer(case, said) == (0.0, 0, True)
    # Postmortem questions and questions without labelled steps carry no recall.
    assert reader.score_answer(_case(kind="postmortem", steps=["df -h"]), answer)[0] is None
    assert reader.score_answer(_case(steps=[]), answer)[0] is None


def test_a_link_is_read_as_its_text_and_an_items_stop_is_not_its_content() -> None:
    case = _case(
        steps=[
            "Review the [image pruner][imagePruner] parameters",
            "see the [docs]",
            "Expired registry credentials.",
            "Missing trusted CA.",
            "Follow the steps described in the [disaster-recovery]",
        ]
    )
    shown = _step(
        "Review the [image pruner](https://example.test/prune) parameters. Typical causes: "
        "expired registry credentials; a proxy.",
        "Fix",
    )
    written = _step("Follow the steps described in the [disaster-recovery](dr.md) guide.", "Fix")
    recall, _, _ = reader.score_answer(case, _answer([shown, written]))
    assert recall == pytest.approx(3 / 5)


def test_a_command_over_several_lines_is_read_as_one() -> None:
    case = _case(steps=["oc get clusterlogforwarder <CR-NAME> -o jsonpath='{.spec.x}'"])
    wrapped = "oc get clusterlogforwarder <CR-NAME> \\\n  -o jsonpath='{.spec.x}' -n ns"
    recall, _, _ = reader.score_answer(case, _answer([_step("Query it:", "Fix", command=wrapped)]))
    assert recall == 1.0
    # A backslash that does not end a line is part of the command.
    other = "oc get clusterlogforwarder <CR-NAME> \\ -o jsonpath='{.spec.x}'"
    recall, _, _ = reader.score_answer(case, _answer([_step("Query it:", "Fix", command=other)]))
    assert recall == 0.0
    # A fragment copied with its first line's continuation is that line of the command.
    first_line = _case(steps=["oc get clusterlogforwarder <CR-NAME> \\"])
    step = _step("Query it:", "Fix", command=wrapped)
    assert reader.score_answer(first_line, _answer([step]))[0] == 1.0


def test_a_fragment_that_runs_into_the_next_sentence_is_read_across_two_steps() -> None:
    # Labelled as a line of the file: the end of one sentence and the start of the next, which
    # the answer shows as two steps in a row.
    case = _case(steps=['button at the end of the PVC row. Select "Expand PVC" and'])
    row = _step('Press the "three points" button at the end of the PVC row.', "Fix")
    expand = _step('Select "Expand PVC" and increase the size.', "Fix")
    other = _step("Check the quota.", "Fix")
    assert reader.score_answer(case, _answer([row, expand]))[0] == 1.0
    # Not when something else stands between them, or in the other order.
    assert reader.score_answer(case, _answer([row, other, expand]))[0] == 0.0
    assert reader.score_answer(case, _answer([expand, row]))[0] == 0.0


def test_questions_scored_through_search_and_ask(kb: KnowledgeBase) -> None:
    hits, no_match = reader.search(kb, QUESTION, "runbook")
    first = hits[0].chunk
    assert first.source == "runbooks/disk-full.md"
    shown = reader.deepest(first.section)
    other = next(h for h in ("Diagnosis", "Mitigation", "Related") if h != shown)
    right = _case(useful_sections=[shown], steps=["df -h", "no such step anywhere"])
    wrong = _case(useful_sections=[other], steps=["no such step anywhere"])
    scores = reader.evaluate_questions(kb, [right, wrong], "sample")
    summary = reader.summarise(scores)
    assert summary["questions"] == 2 and summary["runbook_questions"] == 2
    assert summary["doc_hit@1"] == 1.0
    assert summary["section_useful@1"] == 0.5  # the wrong section counts 0
    assert [q.useful1 for q in scores] == [True, False]
    steps = service.ask(kb=kb, question=QUESTION).steps
    answered = any("df -h" in f"{x.text} {x.command}" for x in steps)
    assert summary["step_recall"] == (0.25 if answered else 0.0)
    assert summary["step_labelled"] == 2
    assert summary["false_blocked"] == 0.0
    expected_signal = "ask.abstained" if no_match is None else "search.no_match"
    assert summary["no_match_signal"] == expected_signal


def test_offtopic_flagged_by_the_products_signal(kb: KnowledgeBase) -> None:
    question = "what is a good recipe for banana bread with walnuts"
    _, no_match = reader.search(kb, question, None)
    result = reader.evaluate_offtopic(kb, [{"question": question}])
    assert result["questions"] == 1
    if no_match is not None:
        assert result["no_match_signal"] == "search.no_match"
        assert result["offtopic_flagged"] == float(no_match)
    else:
        assert result["no_match_signal"] == "ask.abstained"


def test_fixed_by_agreement_cut_lines_and_repeats(kb: KnowledgeBase, corpus: Path) -> None:
    scripted = {
        "We rolled back the release to 1.2.3.": "We rolled back the release to 1.2.3.",
    }

    def what_fixed_it(passages: list[Any]) -> str:
        text = " ".join(p.text for p in passages)
        return next((v for k, v in scripted.items() if k in text), "not stated in the postmortem")

    fake = fixed_by.FixedByReader(
        what_fixed_it=what_fixed_it,
        document_passages=fixed_by.fixed_by_reader().document_passages,
        not_stated="not stated in the postmortem",
        module="fake",
    )
    source = "postmortems/2026-01-01-api-outage.md"
    cases = [
        {"source": source, "stated": True, "fixed_by": ["ROLLED back the release"]},
        {"source": source, "stated": True, "fixed_by": ["restarted the database"]},
        {"source": source, "stated": False, "fixed_by": []},
        {"source": "postmortems/gone.md", "stated": False, "fixed_by": []},
    ]
    result = fixed_by.evaluate_fixed_by(kb, cases, corpus, fake)
    assert result["stated"] == 2 and result["stated_found"] == 0.5
    # A missing document reads as "not stated" only if the product says so: it says nothing.
    assert result["unstated"] == 2 and result["unstated_said_not_stated"] == 0.0
    assert result["fixed_by_agreement"] == 0.25
    assert result["missing_documents"] == 1
    assert result["cut_mid_sentence"] == 0 and result["duplicated_sentences"] == 0
    # The product's own reader on a plainly stated resolution.
    real = fixed_by.evaluate_fixed_by(kb, cases[:1], corpus)
    assert real["fixed_by_agreement"] == 1.0


def test_cut_lines_and_repeated_sentences() -> None:
    source = "## Resolution\n\nWe restarted the pods on\nnode 3 and errors stopped.\n- next item\n"
    assert fixed_by.cut_mid_sentence("We restarted the pods on", source)
    assert not fixed_by.cut_mid_sentence(
        "We restarted the pods on node 3 and errors stopped.", source
    )
    # A list item that ends without punctuation is whole when the next line starts a new item.
    assert not fixed_by.cut_mid_sentence("node 3 and errors stopped", source + "- more\n")
    assert fixed_by.duplicated_sentences("Rolled back the release. Rolled back the release.")
    assert not fixed_by.duplicated_sentences("Rolled back the release. Restarted the pods.")


def test_lines_even_and_odd(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("".join(json.dumps({"question": f"q{i}"}) + "\n" for i in range(1, 6)))
    assert [c["question"] for c in reader.read_cases(path, "even")] == ["q2", "q4"]
    assert [c["question"] for c in reader.read_cases(path, "odd")] == ["q1", "q3", "q5"]
    assert len(reader.read_cases(path)) == 5


def test_step_recall_split_by_whether_the_first_document_is_right() -> None:
    def scored(hit1: bool, recall: float | None) -> reader.QuestionScore:
        return reader.QuestionScore(
            corpus="c", kind="runbook", hit1=hit1, useful1=False, boilerplate_lead=False,
            recall=recall, boilerplate_steps=0, no_steps=False, abstained=False, blocked=False,
            blocked_reasons=(), flagged=False, signal="search.no_match",
        )  # fmt: skip

    summary = reader.summarise(
        [scored(True, 1.0), scored(True, 0.5), scored(False, 0.0), scored(False, None)]
    )
    assert summary["step_recall"] == 0.5
    assert summary["step_recall_right_doc"] == 0.75
    assert summary["step_recall_wrong_doc"] == 0.0


def test_sets_named_once_each_all_standing_for_the_dev_sets() -> None:
    assert reader.chosen_sets(None) == reader.SETS
    assert reader.chosen_sets(["blind3"]) == ("blind3",)
    assert reader.chosen_sets(["all", "blind2", "sample", "blind2"]) == (*reader.SETS, "blind2")


def test_run_over_a_dataset_folder(
    tmp_path: Path, corpus: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    datasets = tmp_path / "reader"
    datasets.mkdir()
    rows = [_case(steps=["df -h"]), _case(source="runbooks/dns-failures.md")]
    (datasets / "sample.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (datasets / "offtopic.jsonl").write_text(json.dumps({"question": "banana bread"}) + "\n")
    roots = reader.corpus_roots(tmp_path) | {reader.SAMPLE: corpus}
    result = reader.run(
        ["sample", "offtopic", "public"], "odd", datasets=datasets, roots=roots, embedder=embedder
    )
    assert result["lines"] == "odd"
    assert result["sets"]["sample"]["questions"] == 1  # line 2 left out
    assert result["sets"]["offtopic"]["questions"] == 1
    assert "missing" in result["sets"]["public"]
    assert result["ontopic"]["questions"] == 1
    reader.print_report(result)
    out = capsys.readouterr().out
    assert "section useful@1" in out and "public: dataset missing" in out


def test_questions_file_holds_each_dev_question_and_what_it_missed(
    tmp_path: Path, corpus: Path, embedder: Embedder
) -> None:
    datasets = tmp_path / "reader"
    datasets.mkdir()
    rows = [
        _case(steps=["df -h", "a fragment no runbook says"]),
        _case(source="runbooks/dns-failures.md"),
    ]
    (datasets / "sample.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    roots = reader.corpus_roots(tmp_path) | {reader.SAMPLE: corpus}
    questions: list[dict[str, Any]] = []
    result = reader.run(
        ["sample"], "all", datasets=datasets, roots=roots, embedder=embedder, questions=questions
    )
    assert [q["line"] for q in questions] == [1, 2]
    first = questions[0]
    assert first["set"] == "sample" and first["source"] == rows[0]["source"]
    assert first["missed"] == ["a fragment no runbook says"]
    assert first["recall"] == 0.5 and first["first"][0] == rows[0]["source"]
    # The summary is the same with or without the rows asked for.
    again = reader.run(["sample"], "all", datasets=datasets, roots=roots, embedder=embedder)
    assert again == result


def test_questions_file_refuses_the_check_halves(tmp_path: Path) -> None:
    out = tmp_path / "q.jsonl"
    for lines in ("odd", "all"):
        with pytest.raises(SystemExit) as exc:
            reader.main(["--set", "blind9", "--lines", lines, "--questions", str(out)])
        assert exc.value.code == 2
    assert not out.exists()
