"""The knowledge catalog in the one database (migration 0009), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import func, select

from copilot.db import make_engine
from copilot.embedding import Embedder
from copilot.knowledge import retrieval
from copilot.knowledge.store import KnowledgeBase
from copilot.knowledge.tables import FTS_TABLE, kb_chunks, kb_documents, kb_state
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.conftest import SAMPLE_KB, write

RUNBOOKS = ("vault-sealed.md", "dns-resolution-failures.md", "node-disk-pressure.md")


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in RUNBOOKS:
        shutil.copy(SAMPLE_KB / "runbooks" / name, corpus / name)
    return corpus


def test_documents_and_chunks_are_rows_of_the_database(
    database_url: str, tmp_path: Path, embedder: Embedder
) -> None:
    corpus = _corpus(tmp_path)
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, _env_file=None)
    with KnowledgeBase(settings, embedder) as kb:
        ingest_paths(kb, [corpus], progress=False)
        chunks = kb.counts()["chunks"]
    assert not (tmp_path / "data" / "catalog.sqlite").exists()

    engine = make_engine(database_url)
    with engine.connect() as conn:
        sources = sorted(conn.execute(select(kb_documents.c.source)).scalars())
        assert sources == sorted(RUNBOOKS)
        assert conn.execute(select(func.count()).select_from(kb_chunks)).scalar() == chunks > 3
        state = conn.execute(select(kb_state.c.version, kb_state.c.identity)).one()
        assert state.version >= len(RUNBOOKS)  # every document written bumped it
        assert state.identity["embedding_model"] == embedder.name
        if conn.dialect.name == "sqlite":  # the keyword index lives in the same file
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {FTS_TABLE}").scalar() == chunks
    engine.dispose()

    # Opened again, the catalog is read back from the database: nothing to re-ingest.
    with KnowledgeBase(settings, embedder) as kb:
        report = ingest_paths(kb, [corpus], progress=False)
        assert sorted(report.unchanged) == sorted(RUNBOOKS) and report.embedded == 0
        hits = retrieval.search(kb=kb, query="vault is sealed, pods cannot start", top_k=3)
        assert hits[0].chunk.source == "vault-sealed.md"
        assert hits[0].keyword_rank is not None and hits[0].dense_rank is not None
        (corpus / "vault-sealed.md").unlink()
        assert ingest_paths(kb, [corpus], progress=False).removed == ["vault-sealed.md"]
        assert "vault-sealed.md" not in kb.files()
        found = kb.chunks([cid for cid, _ in kb.keyword_search("vault sealed unseal", n=20)])
        assert found and "vault-sealed.md" not in {c.source for c in found.values()}


# The catalog file as copilots before migration 0009 wrote it (copilot/knowledge/store.py then).
_OLD_CATALOG = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
    source TEXT PRIMARY KEY, root TEXT NOT NULL, sha256 TEXT NOT NULL,
    kind TEXT NOT NULL, title TEXT NOT NULL, chunk_ids TEXT NOT NULL,
    ingested_at REAL NOT NULL);
CREATE TABLE chunks (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX chunks_source ON chunks(source);
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    id UNINDEXED, kind UNINDEXED, title, section, keywords, text,
    tokenize = 'porter unicode61');
"""


DISK = "# Disk full on build agents\n\n## Mitigation\n\nPrune the agent workspaces.\n"


def test_a_document_read_whole_is_current_after_it_changes(
    database_url: str, tmp_path: Path, embedder: Embedder
) -> None:
    """The store keeps each document read whole in memory; a write through it drops that."""
    root = tmp_path / "kb"
    write(root, "disk.md", DISK)
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, _env_file=None)
    with KnowledgeBase(settings, embedder) as kb:
        ingest_paths(kb, [root], progress=False)
        first = kb.document_chunks("disk.md")
        assert "Prune the agent workspaces." in " ".join(c.text for c in first)
        assert kb.document_chunks("disk.md") == first
        assert kb.document_chunks("nothing.md") == []

        write(root, "disk.md", DISK.replace("workspaces", "workspaces and the image cache"))
        ingest_paths(kb, [root], progress=False)
        text = " ".join(c.text for c in kb.document_chunks("disk.md"))
        assert "the image cache" in text

        (root / "disk.md").unlink()
        ingest_paths(kb, [root], progress=False)
        assert kb.document_chunks("disk.md") == []


def test_a_data_dir_of_an_older_copilot_is_imported_and_answers_as_before(
    tmp_path: Path, embedder: Embedder
) -> None:
    corpus = _corpus(tmp_path)
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    query = "dns lookups fail in the cluster"
    with KnowledgeBase(settings, embedder) as kb:
        ingest_paths(kb, [corpus], progress=False)
        files = kb.files()
        chunks = kb.all_chunks()
        identity = kb.identity
        before = [(h.chunk.id, round(h.score, 6)) for h in retrieval.search(kb=kb, query=query)]
    # What an older copilot left: vectors in data/chroma, the catalog in data/catalog.sqlite,
    # and no knowledge tables in the database.
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / "data" / f"incidents.sqlite{suffix}").unlink(missing_ok=True)
    old = sqlite3.connect(settings.catalog_path)
    old.executescript(_OLD_CATALOG)
    old.execute("INSERT INTO meta VALUES ('identity', ?)", (json.dumps(identity),))
    for record in files.values():
        old.execute(
            "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, 1764720000.0)",
            (*[getattr(record, f) for f in ("source", "root", "sha256", "kind", "title")],
             json.dumps(list(record.chunk_ids))),
        )  # fmt: skip
    for c in chunks:
        old.execute(
            "INSERT INTO chunks VALUES (?, ?, ?, ?)",
            (c.id, c.source, c.kind, json.dumps(c.__dict__)),
        )
    old.commit()
    old.close()

    with KnowledgeBase(settings, embedder) as kb:
        assert kb.files() == files
        after = [(h.chunk.id, round(h.score, 6)) for h in retrieval.search(kb=kb, query=query)]
        assert after == before
        report = ingest_paths(kb, [corpus], progress=False)
        assert sorted(report.unchanged) == sorted(RUNBOOKS) and report.embedded == 0
    assert not settings.catalog_path.exists()
    assert settings.catalog_path.with_name("catalog.sqlite.imported").is_file()


def test_an_old_catalog_is_not_imported_when_its_vectors_are_elsewhere(
    tmp_path: Path, embedder: Embedder, caplog: object
) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    settings.data_dir.mkdir(parents=True)
    sqlite3.connect(settings.catalog_path).executescript(_OLD_CATALOG)
    remote = Settings(data_dir=settings.data_dir, chroma_url="http://127.0.0.1:9", _env_file=None)
    from copilot.knowledge.legacy import import_legacy_catalog

    class _Probe:
        settings = remote

    assert import_legacy_catalog(_Probe()) == 0  # type: ignore[arg-type]
    assert settings.catalog_path.exists()
    assert "COPILOT_CHROMA_URL" in caplog.text  # type: ignore[attr-defined]
