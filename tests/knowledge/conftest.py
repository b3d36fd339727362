"""A real Chroma server on loopback (`chroma run` from the chromadb package), for scale-out tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chroma import ChromaServer

__all__ = ["ChromaServer", "chroma_server", "chroma_url"]


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server").start()
    yield server
    server.stop()


@pytest.fixture
def chroma_url(chroma_server: ChromaServer) -> str:
    return chroma_server.url
