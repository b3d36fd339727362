"""Closing a knowledge base releases what it holds: a process that opens many stores in turn
(the test session, an eval over several corpora) must not run out of file descriptors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from copilot.embedding import Embedder
from copilot.knowledge import retrieval
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.conftest import SAMPLE_KB


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir(exist_ok=True)
    for name in ("vault-sealed.md", "node-disk-pressure.md"):
        shutil.copy(SAMPLE_KB / "runbooks" / name, corpus / name)
    return corpus


def _one_store(data_dir: Path, corpus: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    with KnowledgeBase(settings, embedder) as kb:
        assert not ingest_paths(kb, [corpus], progress=False).failed
        hits = retrieval.search(kb=kb, query="vault is sealed", top_k=2)
        assert hits[0].chunk.source == "vault-sealed.md"


def test_closing_a_store_gives_back_its_descriptors(tmp_path: Path, embedder: Embedder) -> None:
    corpus = _corpus(tmp_path)
    # The first store starts what a process keeps for good (thread pools, the model's files).
    _one_store(tmp_path / "kb0", corpus, embedder)
    before = _open_descriptors()
    for n in range(1, 5):
        _one_store(tmp_path / f"kb{n}", corpus, embedder)
    # Before the fix each closed store kept ~11 (Chroma's SQLite files, index files, pollers).
    assert _open_descriptors() - before < 4


def test_closing_twice_is_harmless(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=tmp_path / "kb", _env_file=None)  # type: ignore[call-arg]
    kb = KnowledgeBase(settings, embedder)
    kb.close()
    kb.close()
