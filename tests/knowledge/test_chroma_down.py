"""The Chroma server down: search answers from keywords and says so, instead of failing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.embedding import Embedder
from copilot.knowledge import retrieval
from copilot.knowledge.store import KnowledgeBase, VectorsUnavailable
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.chroma import ChromaServer
from tests.conftest import SAMPLE_KB

RUNBOOKS = ("vault-sealed.md", "dns-resolution-failures.md", "node-disk-pressure.md")
QUERY = "vault is sealed, pods cannot start"


def knowledge_base(
    tmp_path: Path, chroma_url: str, embedder: Embedder, **settings: int
) -> KnowledgeBase:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in RUNBOOKS:
        shutil.copy(SAMPLE_KB / "runbooks" / name, corpus / name)
    config = Settings(
        data_dir=tmp_path / "data",
        chroma_url=chroma_url,
        _env_file=None,  # type: ignore[call-arg]
        **settings,  # type: ignore[arg-type]
    )
    kb = KnowledgeBase(config, embedder)
    report = ingest_paths(kb, [corpus], progress=False)
    assert len(report.added) == len(RUNBOOKS)
    return kb


@pytest.fixture
def chroma_indexed(
    tmp_path: Path, chroma_server: ChromaServer, embedder: Embedder
) -> Iterator[KnowledgeBase]:
    """A knowledge base whose every dense search asks the Chroma server (no in-memory copy)."""
    kb = knowledge_base(tmp_path, chroma_server.url, embedder, exact_search_max_chunks=0)
    yield kb
    kb.close()


def search(client: TestClient) -> dict[str, object]:
    r = client.post("/v1/search", json={"query": QUERY, "top_k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body, dict)
    return body


def test_search_degrades_to_keywords_while_chroma_is_down_and_recovers(
    chroma_indexed: KnowledgeBase, chroma_server: ChromaServer
) -> None:
    kb = chroma_indexed
    with TestClient(create_app(kb.settings, kb=kb)) as client:
        whole = search(client)
        assert whole["degraded"] is None
        assert whole["results"][0]["source"] == "vault-sealed.md"  # type: ignore[index]
        assert client.get("/readyz").status_code == 200

        chroma_server.stop()
        down = search(client)
        assert down["degraded"] == retrieval.KEYWORD_ONLY
        assert "keyword search only" in str(down["degraded"])
        results = down["results"]
        assert isinstance(results, list) and results
        # The keyword half still finds the runbook, with scores a person can read.
        assert results[0]["source"] == "vault-sealed.md"
        assert results[0]["score"] > 0
        assert down["no_match"] is False
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["vectors"] is False
        # Ask keeps answering too (it searches the same way), rather than a 500.
        asked = client.post("/v1/ask", json={"question": QUERY})
        assert asked.status_code == 200, asked.text
        metrics = client.get("/metrics").text
        assert "copilot_retrieval_degraded_total" in metrics

        # Back on the same port: the next search is whole again, without a restart.
        chroma_server.start()
        again = search(client)
        assert again["degraded"] is None
        assert again["results"][0]["source"] == "vault-sealed.md"  # type: ignore[index]


def test_dense_search_alone_has_nothing_to_fall_back_to(
    chroma_indexed: KnowledgeBase, chroma_server: ChromaServer
) -> None:
    chroma_server.stop()
    with pytest.raises(VectorsUnavailable) as raised:
        retrieval.retrieve(kb=chroma_indexed, query=QUERY, mode="dense")
    # What an HTTP response would say names no address.
    assert raised.value.public_message == "the vector store does not answer; try again shortly"
    assert raised.value.status_code == 503


def test_vectors_already_in_memory_keep_search_whole(
    tmp_path: Path, chroma_server: ChromaServer, embedder: Embedder
) -> None:
    """With the in-memory copy (the default up to 50,000 chunks) loaded, an outage that starts
    afterwards does not touch search until the knowledge base changes."""
    kb = knowledge_base(tmp_path, chroma_server.url, embedder)
    try:
        kb.warm()
        chroma_server.stop()
        found = retrieval.retrieve(kb=kb, query=QUERY, top_k=3)
        assert found.degraded is None
        assert found.hits[0].chunk.source == "vault-sealed.md"
        assert found.hits[0].similarity is not None
    finally:
        kb.close()


def test_ingest_while_chroma_is_down_is_503_and_says_why(
    chroma_indexed: KnowledgeBase, chroma_server: ChromaServer, tmp_path: Path
) -> None:
    kb = chroma_indexed
    root = kb.settings.allowed_ingest_roots[0]
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE_KB / "runbooks" / "checkout-error-rate-high.md", root / "checkout.md")
    with TestClient(create_app(kb.settings, kb=kb)) as client:
        chroma_server.stop()
        r = client.post("/v1/admin/ingest", json={"paths": [str(root)]})
        assert r.status_code == 503, r.text
        assert r.json() == {"detail": "the vector store does not answer; try again shortly"}
        # Nothing half written: search still finds what was there, and not the new file.
        hits = retrieval.search(kb=kb, query="checkout error rate high", top_k=5)
        assert all(h.chunk.source != "checkout.md" for h in hits)
