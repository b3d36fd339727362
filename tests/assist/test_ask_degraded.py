"""Ask while the Chroma server is down: it answers from keyword search and says so
(AskResponse.degraded, as SearchResponse has it), over HTTP and in `copilot ask`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.embedding import Embedder
from copilot.knowledge import retrieval
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.chroma import ChromaServer
from tests.conftest import SAMPLE_KB, LiveServer, run_cli

RUNBOOKS = ("vault-sealed.md", "dns-resolution-failures.md", "node-disk-pressure.md")
QUESTION = "vault is sealed, pods cannot start: what do I do?"


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server").start()
    yield server
    server.stop()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for name in RUNBOOKS:
        shutil.copy(SAMPLE_KB / "runbooks" / name, root / name)
    return root


def test_ask_says_it_is_degraded_while_chroma_is_down_and_whole_again_after(
    tmp_path: Path, corpus: Path, chroma_server: ChromaServer, embedder: Embedder
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        chroma_url=chroma_server.url,
        exact_search_max_chunks=0,  # every dense search asks the server
        _env_file=None,  # type: ignore[call-arg]
    )
    kb = KnowledgeBase(settings, embedder)
    try:
        assert len(ingest_paths(kb, [corpus], progress=False).added) == len(RUNBOOKS)
        with TestClient(create_app(settings, kb=kb)) as client:
            whole = client.post("/v1/ask", json={"question": QUESTION})
            assert whole.status_code == 200, whole.text
            assert whole.json()["degraded"] is None

            chroma_server.stop()
            down = client.post("/v1/ask", json={"question": QUESTION})
            assert down.status_code == 200, down.text
            body = down.json()
            assert body["degraded"] == retrieval.KEYWORD_ONLY
            # Still grounded in the runbook the keywords find.
            sources = {c["source"] for c in body["citations"]}
            assert "vault-sealed.md" in sources, body["citations"]

            chroma_server.start()
            again = client.post("/v1/ask", json={"question": QUESTION})
            assert again.status_code == 200, again.text
            assert again.json()["degraded"] is None
    finally:
        kb.close()


def test_copilot_ask_prints_the_degraded_notice(
    tmp_path: Path,
    cli_data_dir: Path,
    corpus: Path,
    chroma_server: ChromaServer,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`copilot ask` through the server (COPILOT_URL), as a replica's users run it."""
    settings = Settings(
        data_dir=tmp_path / "server-data",
        chroma_url=chroma_server.url,
        exact_search_max_chunks=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    kb = KnowledgeBase(settings, embedder)
    try:
        ingest_paths(kb, [corpus], progress=False)
        with LiveServer(create_app(settings, kb=kb)) as live:
            monkeypatch.setenv("COPILOT_URL", live.url)
            code, out, err = run_cli(capsys, "ask", QUESTION)
            assert code == 0, err
            assert "keyword search only" not in out

            chroma_server.stop()
            code, out, err = run_cli(capsys, "ask", QUESTION)
            assert code == 0, err
            assert out.startswith(f"note: {retrieval.KEYWORD_ONLY}\n"), out[:300]
            code, out, _ = run_cli(capsys, "ask", QUESTION, "--json")
            assert code == 0
            assert json.loads(out)["degraded"] == retrieval.KEYWORD_ONLY
    finally:
        kb.close()
