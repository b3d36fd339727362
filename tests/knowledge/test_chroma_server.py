"""The scale-out option: the same knowledge base against a Chroma server on loopback."""

from __future__ import annotations

import shutil
from pathlib import Path

from copilot.embedding import Embedder
from copilot.knowledge import retrieval
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.conftest import SAMPLE_KB


def test_ingest_and_search_through_a_chroma_server(
    chroma_url: str, tmp_path: Path, embedder: Embedder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("vault-sealed.md", "dns-resolution-failures.md", "node-disk-pressure.md"):
        shutil.copy(SAMPLE_KB / "runbooks" / name, corpus / name)
    settings = Settings(data_dir=tmp_path / "data", chroma_url=chroma_url, _env_file=None)
    with KnowledgeBase(settings, embedder) as kb:
        report = ingest_paths(kb, [corpus], progress=False)
        assert len(report.added) == 3
        counts = kb.counts()
        assert counts["vectors"] == counts["chunks"] > 0
        hits = retrieval.search(kb=kb, query="vault is sealed, pods cannot start", top_k=3)
        assert hits[0].chunk.source == "vault-sealed.md"
        assert hits[0].similarity is not None
    assert not (tmp_path / "data" / "chroma").exists()  # nothing embedded on local disk
