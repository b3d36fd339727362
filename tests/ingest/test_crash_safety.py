"""SIGKILL an ingest part-way: the store stays consistent and the next ingest completes it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from copilot.embedding import Embedder
from copilot.knowledge import retrieval
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.conftest import SAMPLE_KB

FILES = [
    "vault-sealed.md",
    "dns-resolution-failures.md",
    "node-disk-pressure.md",
    "tls-certificate-expiring.md",
]


def _ingest_subprocess(data: Path, corpus: Path, fault: str | None) -> int:
    env = {**os.environ, "COPILOT_DATA_DIR": str(data)}
    env.pop("COPILOT_FAULT_POINT", None)
    if fault:
        env["COPILOT_FAULT_POINT"] = fault
    done = subprocess.run(
        [sys.executable, "-m", "copilot", "ingest", str(corpus)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode


def _assert_consistent(kb: KnowledgeBase) -> None:
    files = kb.files()
    chunks = kb.all_chunks()
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids)), "duplicate chunks"
    by_source: dict[str, set[str]] = {}
    for c in chunks:
        by_source.setdefault(c.source, set()).add(c.id)
    # Every document is whole: exactly the chunks its record names, no more, no fewer.
    assert set(by_source) == set(files)
    for source, record in files.items():
        assert set(record.chunk_ids) == by_source[source], source
    # Every live chunk has its vector; orphans may remain until the next ingest sweeps them.
    assert kb.existing_vector_ids(ids) == set(ids)


@pytest.mark.parametrize(
    "fault", ["after_vectors", "mid_documents", "before_stale_delete", "before_sweep"]
)
def test_sigkill_mid_ingest_leaves_a_consistent_store(
    fault: str, tmp_path: Path, embedder: Embedder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in FILES[:2]:
        shutil.copy(SAMPLE_KB / "runbooks" / name, corpus / name)
    data = tmp_path / "data"
    assert _ingest_subprocess(data, corpus, None) == 0

    # Change one document, add two, remove one; then crash at the fault point.
    (corpus / FILES[0]).write_text((corpus / FILES[0]).read_text() + "\n## Extra\n\nNew step.\n")
    (corpus / FILES[1]).unlink()
    for name in FILES[2:]:
        shutil.copy(SAMPLE_KB / "runbooks" / name, corpus / name)
    assert _ingest_subprocess(data, corpus, fault) == -signal.SIGKILL

    settings = Settings(data_dir=data, _env_file=None)
    with KnowledgeBase(settings, embedder) as kb:  # the lock died with the process
        _assert_consistent(kb)
        assert retrieval.search(kb=kb, query="vault sealed", top_k=3)

        report = ingest_paths(kb, [corpus], progress=False)
        assert not report.failed
        _assert_consistent(kb)
        assert sorted(kb.files()) == sorted([FILES[0], *FILES[2:]])
        counts = kb.counts()
        assert counts["vectors"] == counts["chunks"], "orphan vectors left after recovery"
        assert any(c.section == "Extra" for c in kb.document_chunks(FILES[0]))
