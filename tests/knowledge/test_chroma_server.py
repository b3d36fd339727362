"""The scale-out option: the same knowledge base against a Chroma server on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.embedding import Embedder
from copilot.knowledge import retrieval
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.conftest import SAMPLE_KB


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        chroma = Path(shutil.which("chroma") or "chroma")
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("chroma server exited at start")
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma server did not start within 60 s")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


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
