"""The similar-incident eval: its figures, and its blind sets name postmortems that exist."""

from __future__ import annotations

from pathlib import Path

from evals import similar

REPO = Path(__file__).resolve().parents[2]


def test_figures_count_what_was_shown_against_the_labels() -> None:
    cases = [
        {"question": "a", "postmortems": ["postmortems/x.md"]},
        {"question": "b", "postmortems": ["postmortems/y.md"]},
        {"question": "c", "postmortems": []},
        {"question": "d", "postmortems": []},
    ]
    answers = [
        ["postmortems/x.md", "postmortems/z.md"],  # found, first right, one wrong extra
        ["postmortems/z.md", "postmortems/y.md"],  # found, first wrong
        [],  # rightly none
        ["postmortems/x.md"],  # shown when none
    ]
    m = similar.score(cases, answers)
    assert m["none_questions"] == 2 and m["shown_when_none"] == 0.5
    assert m["found"] == 1.0 and m["first_right"] == 0.5
    assert m["precision"] == round(2 / 5, 4) and m["shown"] == 5
    assert m["exact"] == 0.25  # only the rightly empty answer


def test_the_blind_sets_label_postmortems_of_the_sample_knowledge_base() -> None:
    files = similar.dataset_files()
    assert [f.stem for f in files] == ["similar_blind1", "similar_blind2"]
    cases = similar.load("all")
    assert len(cases) == 100
    labelled = {p for c in cases for p in c["postmortems"]}
    assert labelled and all((REPO / "runbooks" / p).is_file() for p in labelled)
    # Both kinds on both halves: the check lines are not all of one kind.
    for lines in ("even", "odd"):
        half = similar.load(lines)
        assert any(c["postmortems"] for c in half) and any(not c["postmortems"] for c in half)


def test_the_dfds_history_questions_name_postmortems_of_the_corpus() -> None:
    cases = similar.load_history("all")
    assert len(cases) == 52 and all(c["postmortems"] for c in cases)
    corpus = similar.corpus_roots()[similar.DFDS]
    if corpus.is_dir():  # ../shared/corpora, beside the repository
        for case in cases:
            for source in case["postmortems"]:
                assert source.startswith("postmortems/")
                assert (corpus / source.removeprefix("postmortems/")).is_file(), source


def test_the_blind_alerts_label_postmortems_of_the_sample_knowledge_base() -> None:
    assert [f.stem for f in similar.alert_files()] == ["alerts_similar_blind1"]
    cases = similar.load_alerts("all")
    assert len(cases) == 40
    assert all(c["alertname"] and c["question"].startswith(c["alertname"]) for c in cases)
    labelled = {p for c in cases for p in c["postmortems"]}
    assert labelled and all((REPO / "runbooks" / p).is_file() for p in labelled)
    for lines in ("even", "odd"):
        half = similar.load_alerts(lines)
        assert any(c["postmortems"] for c in half) and any(not c["postmortems"] for c in half)
