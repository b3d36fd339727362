"""Typing slips: a word neither the knowledge base nor the model knows is searched beside the
knowledge base's word one edit away, and the response says so; real words, names and
contractions stay as typed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.assist import service
from copilot.embedding import Embedder
from copilot.knowledge import retrieval, spelling
from copilot.knowledge.store import KnowledgeBase
from tests.conftest import run_cli, write


def _words(embedder: Embedder, text: str) -> spelling.Vocabulary:
    corpus = Counter(text.lower().split())
    return spelling.Vocabulary(
        corpus=corpus, model=embedder.words(), _choices=tuple(w for w in corpus)
    )


def test_the_model_vocabulary_holds_whole_words_not_pieces(embedder: Embedder) -> None:
    words = embedder.words()
    assert {"payment", "coffee", "sealed"} <= words
    assert not any(w.startswith("#") or w.startswith("[") for w in words)
    assert "pagment" not in words


def test_a_slip_is_searched_beside_the_knowledge_base_word(embedder: Embedder) -> None:
    words = _words(embedder, "payment payments failures kafka consumer lag vault sealed checkout")
    fixed = spelling.correct("pagment failures on chekcout, kafak lag", words)
    assert fixed.fixes == {"pagment": "payment", "chekcout": "checkout", "kafak": "kafka"}
    assert fixed.text == ("pagment (payment) failures on chekcout (checkout), kafak (kafka) lag")


@pytest.mark.parametrize(
    "question",
    [
        "how do i make coffee",  # a real word the runbooks never use
        "pods cant reach the db and it wont recover",  # contractions without an apostrophe
        "inode usage on the node",  # "inode" is the base of "inodes"
        "paged twice about lagging consumers",  # inflections of "page" and "lag"
        "cart-service and KubePodCrashLoping down",  # names, typed as their owner spells them
        "dsik full",  # too short to tell a slip from another word
        "vlan down",  # a different first letter is another word, not a slip
    ],
)
def test_words_that_are_not_slips_stay_as_typed(embedder: Embedder, question: str) -> None:
    words = _words(
        embedder,
        "cant page pages lag lags inodes node disk plan cart service kubepodcrashlooping "
        "consumers pods reach recover",
    )
    fixed = spelling.correct(question, words)
    assert fixed.fixes == {}
    assert fixed.text == question


def test_equally_near_words_go_to_the_one_the_knowledge_base_uses_most(
    embedder: Embedder,
) -> None:
    # "seald" is one edit from each; the runbooks say "sealed" most often.
    words = _words(embedder, "seals sealed sealed sealed seal vault")
    assert spelling.correct("vault seald", words).fixes == {"seald": "sealed"}
    words = _words(embedder, "seals seals seals sealed seal vault")
    assert spelling.correct("vault seald", words).fixes == {"seald": "seals"}


def test_a_slip_finds_the_runbook_it_means(sample_kb: KnowledgeBase) -> None:
    as_typed = retrieval.retrieve(kb=sample_kb, query="pagment failures", top_k=3)
    assert as_typed.corrected == {"pagment": "payment"}
    first = as_typed.hits[0].chunk.source
    assert first in {"runbooks/checkout-error-rate-high.md", "runbooks/payments-psp-timeouts.md"}
    spelled = retrieval.retrieve(kb=sample_kb, query="payment failures", top_k=3)
    assert first == spelled.hits[0].chunk.source
    # The baselines the retrieval eval compares against search the words as typed.
    dense = retrieval.retrieve(kb=sample_kb, query="pagment failures", top_k=3, mode="dense")
    assert dense.corrected == {}


def test_an_off_topic_question_stays_off_topic(sample_kb: KnowledgeBase) -> None:
    answer = service.ask(kb=sample_kb, question="how do i make cofee")
    assert answer.corrected == {}
    assert answer.abstained


def test_ask_says_first_what_it_searched_for(sample_kb: KnowledgeBase) -> None:
    answer = service.ask(kb=sample_kb, question="vault seald, pods cannot read secrets")
    assert answer.corrected == {"seald": "sealed"}
    assert answer.answer.startswith("Also searched \u201cseald\u201d as \u201csealed\u201d")
    assert answer.steps[0].citations[0].source == "runbooks/vault-sealed.md"
    assert not answer.guardrails.blocked


@pytest.fixture
def client(sample_kb: KnowledgeBase) -> Iterator[TestClient]:
    with TestClient(create_app(sample_kb.settings, kb=sample_kb)) as c:
        yield c


def test_the_search_response_names_the_slips(client: TestClient) -> None:
    body = client.post("/v1/search", json={"query": "kafak consumers lagging"}).json()
    assert body["corrected"] == {"kafak": "kafka"}
    assert body["results"][0]["source"] == "runbooks/kafka-consumer-lag-orderstream.md"
    plain = client.post("/v1/search", json={"query": "kafka consumers lagging"}).json()
    assert plain["corrected"] == {}


def test_the_cli_notes_the_slips(
    capsys: pytest.CaptureFixture[str], cli_data_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "docs"
    write(
        root,
        "tls.md",
        "# TLS certificate expiring\n\n## Mitigation\n\nRenew the certificate with cmctl.\n",
    )
    write(root, "disk.md", "# Node disk pressure\n\n## Mitigation\n\nDelete old images.\n")
    code, _, err = run_cli(capsys, "ingest", str(root))
    assert code == 0, err
    code, out, err = run_cli(capsys, "search", "certifcate expired", "--top-k", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        "note: Also searched \u201ccertifcate\u201d as \u201ccertificate\u201d "
        "(not in the knowledge base as typed)."
    )
    assert lines[1].startswith("1. TLS certificate expiring")
