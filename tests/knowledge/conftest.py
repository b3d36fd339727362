"""A real Chroma server on loopback (`chroma run` from the chromadb package), for scale-out
tests; a knowledge base of a few documents written for one test module."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from copilot.embedding import Embedder
from copilot.knowledge.models import Chunk
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.chroma import ChromaServer
from tests.conftest import a_chunk, write

__all__ = ["ChromaServer", "chroma_server", "chroma_url", "documents_kb"]


@contextmanager
def documents_kb(
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    name: str,
    documents: Mapping[str, str],
) -> Iterator[KnowledgeBase]:
    """A knowledge base of `documents` (file name -> markdown), ingested, closed on exit."""
    root = tmp_path_factory.mktemp(f"{name}-docs")
    for filename, text in documents.items():
        write(root, filename, text)
    settings = Settings(data_dir=tmp_path_factory.mktemp(f"{name}-kb"), _env_file=None)  # type: ignore[call-arg]
    kb = KnowledgeBase(settings, embedder)
    try:
        assert not ingest_paths(kb, [root], progress=False).failed
        yield kb
    finally:
        kb.close()


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server").start()
    yield server
    server.stop()


@pytest.fixture
def chroma_url(chroma_server: ChromaServer) -> str:
    return chroma_server.url


def a_section(cid: str, source: str, text: str, *, section: str = "Mitigation") -> Chunk:
    """One runbook section, built in memory (no store): its title is its source's."""
    return a_chunk(text, section=section, source=source, cid=cid, lines=(3, 5))
