"""Scaled out: the catalog on PostgreSQL, keyword ranking as on SQLite, replicas kept current."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.embedding import Embedder
from copilot.knowledge import retrieval
from copilot.knowledge.models import Chunk
from copilot.knowledge.store import IngestBusy, KnowledgeBase
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.conftest import SAMPLE_KB, write
from tests.db.postgres import PostgresCluster
from tests.knowledge.conftest import ChromaServer

QUERIES = (
    "vault is sealed, pods cannot start",
    "KubePodCrashLooping checkout",
    "consumers falling behind on the order stream",
    "has the payment processor timed out before?",
    "disk full on a node, evictions",
    "dns lookups fail in the cluster",
)


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    url = postgres_cluster.create_database()
    yield url
    postgres_cluster.drop_database(url)


@pytest.fixture
def pg_sample_kb(postgres_url: str, tmp_path: Path, embedder: Embedder) -> Iterator[KnowledgeBase]:
    settings = Settings(data_dir=tmp_path / "pg", database_url=postgres_url, _env_file=None)
    with KnowledgeBase(settings, embedder) as kb:
        report = ingest_paths(kb, [SAMPLE_KB], progress=False)
        assert not report.failed
        yield kb


def test_keyword_search_on_postgresql_ranks_as_on_sqlite(
    sample_kb: KnowledgeBase, pg_sample_kb: KnowledgeBase
) -> None:
    assert pg_sample_kb.is_postgresql and not sample_kb.is_postgresql
    for query in QUERIES:
        for kind in (None, "runbook", "postmortem"):
            ours = pg_sample_kb.keyword_search(query, n=20, kind=kind)
            theirs = sample_kb.keyword_search(query, n=20, kind=kind)
            assert [c for c, _ in ours] == [c for c, _ in theirs], (query, kind)
            assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-9)
        pg = retrieval.search(kb=pg_sample_kb, query=query, top_k=5)
        lite = retrieval.search(kb=sample_kb, query=query, top_k=5)
        assert [h.chunk.id for h in pg] == [h.chunk.id for h in lite], query


def _replica(tmp_path: Path, name: str, url: str, chroma: str, embedder: Embedder) -> KnowledgeBase:
    settings = Settings(
        data_dir=tmp_path / name,
        database_url=url,
        chroma_url=chroma,
        kb_refresh_s=0.2,
        _env_file=None,
    )
    return KnowledgeBase(settings, embedder)


def _text(chunks: list[Chunk]) -> str:
    return " ".join(c.text for c in chunks)


def _top_source(kb: KnowledgeBase, query: str) -> str:
    return retrieval.search(kb=kb, query=query, top_k=1)[0].chunk.source


DISK = "# Disk full on build agents\n\n## Mitigation\n\nPrune the agent workspaces.\n"
KAFKA = "# Kafka consumer lag\n\n## Mitigation\n\nAdd consumers to the group; check rebalances.\n"


def test_a_change_ingested_through_one_replica_is_served_by_the_other(
    postgres_url: str, chroma_server: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    root = tmp_path / "kb"
    write(root, "disk.md", DISK)
    with (
        _replica(tmp_path, "a", postgres_url, chroma_server.url, embedder) as a,
        _replica(tmp_path, "b", postgres_url, chroma_server.url, embedder) as b,
    ):
        assert a.shared and b.shared  # no data-directory lock: both are open at once
        ingest_paths(a, [root], progress=False)
        b.warm()  # b's memory: chunks, vectors for exact search, keyword index, stems
        assert _top_source(b, "kafka consumer lag") == "disk.md"
        assert b.keyword_search("kafka consumers", n=5) == []
        assert "image cache" not in _text(b.document_chunks("disk.md"))  # now kept in b's memory

        write(root, "kafka.md", KAFKA)
        write(root, "disk.md", DISK.replace("workspaces", "workspaces and the image cache"))
        ingest_paths(a, [root], progress=False)
        deadline = time.monotonic() + 5
        while _top_source(b, "kafka consumer lag") != "kafka.md":
            assert time.monotonic() < deadline, "replica b still serves the old knowledge base"
            time.sleep(0.1)
        assert "image cache" in _text(b.document_chunks("disk.md"))
        assert b.keyword_search("kafka consumers", n=5)
        assert b.document_terms(["kafka.md"])["kafka.md"] >= {"kafka", "consum"}

        (root / "kafka.md").unlink()
        ingest_paths(a, [root], progress=False)
        deadline = time.monotonic() + 5
        while b.keyword_search("kafka consumers", n=5):
            assert time.monotonic() < deadline, "replica b still finds a removed document"
            time.sleep(0.1)
        assert _top_source(b, "kafka consumer lag") == "disk.md"


def test_a_replica_whose_memory_names_removed_sections_searches_again_at_once(
    postgres_url: str, chroma_server: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    """Between two periodic version checks a replica's in-memory indexes can name sections
    another replica has removed: the search reads the version then and there, not nothing."""
    root = tmp_path / "kb"
    write(root, "disk.md", DISK)
    with (
        _replica(tmp_path, "a", postgres_url, chroma_server.url, embedder) as a,
        _replica(tmp_path, "b", postgres_url, chroma_server.url, embedder) as b,
    ):
        b.settings.kb_refresh_s = 3600.0  # b would not look at the version again for an hour
        ingest_paths(a, [root], progress=False)
        b.warm()
        (root / "disk.md").unlink()
        write(root, "kafka.md", KAFKA)
        ingest_paths(a, [root], progress=False)
        hits = retrieval.search(kb=b, query="kafka consumer lag", top_k=3)
        assert [h.chunk.source for h in hits][:1] == ["kafka.md"]
        assert all(h.chunk.source != "disk.md" for h in hits)


def test_a_second_ingest_is_told_who_holds_the_lock_or_waits_for_it(
    postgres_url: str, chroma_server: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    root = tmp_path / "kb"
    write(root, "disk.md", DISK)
    with (
        _replica(tmp_path, "a", postgres_url, chroma_server.url, embedder) as a,
        _replica(tmp_path, "b", postgres_url, chroma_server.url, embedder) as b,
    ):
        with a.ingest_lock():
            with pytest.raises(IngestBusy, match=f"pid {os.getpid()}") as busy:
                ingest_paths(b, [root], progress=False)
            assert busy.value.status_code == 409
            assert b.files() == {}

        released = threading.Event()

        def hold_then_release() -> None:
            with a.ingest_lock():
                released.wait(10)

        holder = threading.Thread(target=hold_then_release)
        holder.start()
        time.sleep(0.5)
        threading.Timer(1.0, released.set).start()
        started = time.monotonic()
        report = ingest_paths(b, [root], progress=False, wait_s=20)
        holder.join()
        assert report.added == ["disk.md"] and time.monotonic() - started >= 0.5


def test_readyz_checks_the_database_and_the_chroma_server(
    postgres_url: str, chroma_server: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    with _replica(tmp_path, "a", postgres_url, chroma_server.url, embedder) as kb:
        app = create_app(kb.settings, kb=kb, chat=None)
        with TestClient(app) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {
                "model": True,
                "store": True,
                "database": True,
                "vectors": True,
            }
            chroma_server.stop()
            down = client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["checks"]["vectors"] is False
            assert down.json()["checks"]["database"] is True
