from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from copilot.embedding import Embedder
from copilot.errors import StoreLocked, StoreMismatch
from copilot.knowledge import retrieval
from copilot.knowledge.store import KnowledgeBase
from copilot.knowledge.tables import kb_state
from copilot.settings import Settings
from ingest import chunking
from ingest.pipeline import ingest_paths
from tests.conftest import write

RUNBOOK = """---
title: Disk full on build agents
tags: [disk]
alerts: [BuildAgentDiskFull]
---
# Disk full on build agents

## Diagnosis

Run `df -h /var/lib/agent` and look for the workspace cache.

## Mitigation

Prune old workspaces with `agentctl prune --older-than 7d`.
"""


def _kb(settings: Settings, embedder: Embedder) -> KnowledgeBase:
    return KnowledgeBase(settings, embedder)


def test_incremental_ingest_adds_skips_replaces_and_removes(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    root = tmp_path / "kb"
    write(root, "runbooks/disk.md", RUNBOOK)
    write(
        root, "postmortems/2026-01-01-outage.md", "# Outage\n\n## Summary\n\nThe queue stalled.\n"
    )
    with _kb(settings, embedder) as kb:
        first = ingest_paths(kb, [root], progress=False)
        assert sorted(first.added) == ["postmortems/2026-01-01-outage.md", "runbooks/disk.md"]
        assert kb.files()["postmortems/2026-01-01-outage.md"].kind == "postmortem"
        chunks_before = kb.counts()

        again = ingest_paths(kb, [root], progress=False)
        assert again.unchanged and not (again.added or again.updated or again.removed)
        assert again.embedded == 0 and kb.counts() == chunks_before

        write(root, "runbooks/disk.md", RUNBOOK.replace("7d", "3d"))
        (root / "postmortems/2026-01-01-outage.md").unlink()
        changed = ingest_paths(kb, [root], progress=False)
        assert changed.updated == ["runbooks/disk.md"]
        assert changed.removed == ["postmortems/2026-01-01-outage.md"]
        # Only the edited section is embedded again; the untouched ones keep their vectors.
        assert changed.embedded == 1
        counts = kb.counts()
        assert counts["vectors"] == counts["chunks"] == 2  # Diagnosis, Mitigation
        texts = [c.text for c in kb.all_chunks()]
        assert any("--older-than 3d" in t for t in texts)
        assert not any("--older-than 7d" in t for t in texts)


def test_a_new_chunk_format_re_ingests_unchanged_files_once(
    tmp_path: Path, settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "kb"
    write(root, "runbooks/disk.md", RUNBOOK)
    with _kb(settings, embedder) as kb:
        ingest_paths(kb, [root], progress=False)
        monkeypatch.setattr(chunking, "CHUNK_FORMAT", chunking.CHUNK_FORMAT + 1)
        upgraded = ingest_paths(kb, [root], progress=False)
        assert upgraded.updated == ["runbooks/disk.md"] and not upgraded.unchanged
        again = ingest_paths(kb, [root], progress=False)
        assert again.unchanged == ["runbooks/disk.md"] and not again.updated


def test_unreadable_files_are_named_and_skipped_while_the_rest_goes_in(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    root = tmp_path / "kb"
    write(root, "good.md", RUNBOOK)
    write(root, "bad-yaml.md", "---\ntitle: [oops\n---\n# x\n")
    (root / "binary.md").write_bytes(b"\xff\xfe\x00garbage")
    with _kb(settings, embedder) as kb:
        report = ingest_paths(kb, [root], progress=False)
    assert report.added == ["good.md"]
    failed = dict(report.failed)
    assert set(failed) == {"bad-yaml.md", "binary.md"}
    assert "YAML" in failed["bad-yaml.md"]


def test_a_failed_write_leaves_the_previous_document_whole(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    root = tmp_path / "kb"
    write(root, "disk.md", RUNBOOK)
    with _kb(settings, embedder) as kb:
        ingest_paths(kb, [root], progress=False)
        before = sorted(c.text for c in kb.all_chunks())
        write(root, "disk.md", RUNBOOK.replace("Diagnosis", "Checks") + "\n## Extra\n\nNew step.\n")

        real_replace = kb.replace_document

        def crash_inside_transaction(**kwargs: object) -> list[str]:
            with kb._transaction() as db:
                db.exec_driver_sql("DELETE FROM kb_chunks WHERE source = ?", (kwargs["source"],))
                raise KeyboardInterrupt

        kb.replace_document = crash_inside_transaction  # type: ignore[method-assign,assignment]
        with pytest.raises(KeyboardInterrupt):
            ingest_paths(kb, [root], progress=False)
        assert sorted(c.text for c in kb.all_chunks()) == before
        hits = retrieval.search(kb=kb, query="prune old workspaces", top_k=5)
        assert {h.chunk.text for h in hits} <= set(before)

        kb.replace_document = real_replace  # type: ignore[method-assign]
        report = ingest_paths(kb, [root], progress=False)
        assert report.updated == ["disk.md"]
        counts = kb.counts()
        assert counts["vectors"] == counts["chunks"]  # vectors orphaned by the crash are swept
        assert any(c.section == "Extra" for c in kb.all_chunks())


def test_second_owner_of_a_store_gets_a_clear_error(settings: Settings, embedder: Embedder) -> None:
    with _kb(settings, embedder), pytest.raises(StoreLocked, match="in use by process"):
        _kb(settings, embedder)
    with _kb(settings, embedder) as kb:  # released on close
        assert kb.counts()["files"] == 0


def test_store_refuses_a_different_embedding_model_and_says_how_to_rebuild(
    settings: Settings, embedder: Embedder
) -> None:
    with _kb(settings, embedder) as kb:
        identity = dict(kb.identity, dimension=768)
        with kb.database.begin() as conn:
            conn.execute(update(kb_state).values(identity=identity))
    with pytest.raises(StoreMismatch, match="--rebuild"):
        _kb(settings, embedder)


def test_rebuild_starts_from_empty(tmp_path: Path, settings: Settings, embedder: Embedder) -> None:
    root = tmp_path / "kb"
    write(root, "disk.md", RUNBOOK)
    with _kb(settings, embedder) as kb:
        ingest_paths(kb, [root], progress=False)
        report = ingest_paths(kb, [root], progress=False, rebuild=True)
        assert report.added == ["disk.md"]
        assert kb.counts()["vectors"] == kb.counts()["chunks"] == 2


# -- one identity per file --------------------------------------------------------------------

OUTAGE = "# Outage\n\n## Summary\n\nThe queue stalled.\n"


def _two_folders(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    write(root, "runbooks/disk.md", RUNBOOK)
    write(root, "postmortems/2026-01-01-outage.md", OUTAGE)
    return root


def test_a_subfolder_ingested_again_updates_the_same_documents(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    root = _two_folders(tmp_path)
    with _kb(settings, embedder) as kb:
        ingest_paths(kb, [root], progress=False)
        counts = kb.counts()

        again = ingest_paths(kb, [root / "runbooks"], progress=False)
        assert again.unchanged == ["runbooks/disk.md"]
        assert not (again.added or again.updated or again.removed or again.failed)
        assert kb.counts() == counts

        write(root, "runbooks/disk.md", RUNBOOK.replace("7d", "3d"))
        write(root, "runbooks/queue.md", "# Queue stalled\n\n## Mitigation\n\nRestart it.\n")
        changed = ingest_paths(kb, [root / "runbooks"], progress=False)
        assert changed.updated == ["runbooks/disk.md"]
        # A new file beside them is named like its neighbours, from the folder first ingested.
        assert changed.added == ["runbooks/queue.md"]
        assert sorted(kb.files()) == [
            "postmortems/2026-01-01-outage.md",
            "runbooks/disk.md",
            "runbooks/queue.md",
        ]
        # Only files gone from the path ingested are removed.
        (root / "postmortems/2026-01-01-outage.md").unlink()
        (root / "runbooks/queue.md").unlink()
        gone = ingest_paths(kb, [root / "runbooks"], progress=False)
        assert gone.removed == ["runbooks/queue.md"]
        assert "postmortems/2026-01-01-outage.md" in kb.files()
        assert ingest_paths(kb, [root], progress=False).removed == [
            "postmortems/2026-01-01-outage.md"
        ]
        counts = kb.counts()
        assert counts["files"] == 1 and counts["vectors"] == counts["chunks"]


def test_the_same_folder_by_another_path_is_the_same_documents(
    tmp_path: Path, settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _two_folders(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(root, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    with _kb(settings, embedder) as kb:
        first = ingest_paths(kb, [Path("kb")], progress=False)
        assert len(first.added) == 2
        files = kb.files()
        for other in (Path("./kb/"), root, link, link / "runbooks", link / "runbooks" / "disk.md"):
            report = ingest_paths(kb, [other], progress=False)
            assert report.unchanged and not (report.added or report.updated or report.removed)
        # Both at once, one inside the other: still one document each.
        both = ingest_paths(kb, [root / "runbooks", link], progress=False)
        assert sorted(both.unchanged) == sorted(files) and not both.failed
        assert kb.files() == files


def test_a_folder_ingested_after_its_subfolder_takes_its_documents_over(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    root = _two_folders(tmp_path)
    with _kb(settings, embedder) as kb:
        assert ingest_paths(kb, [root / "runbooks"], progress=False).added == ["disk.md"]
        wider = ingest_paths(kb, [root], progress=False)
        # Sources are relative to the folder ingested: the whole now, not the part.
        assert sorted(wider.added) == ["postmortems/2026-01-01-outage.md", "runbooks/disk.md"]
        assert wider.removed == ["disk.md"]
        assert sorted(kb.files()) == ["postmortems/2026-01-01-outage.md", "runbooks/disk.md"]
        counts = kb.counts()
        assert counts["vectors"] == counts["chunks"]
        hits = retrieval.search(kb=kb, query="prune old workspaces", top_k=5)
        assert {h.chunk.source for h in hits} <= set(kb.files())


def test_sibling_folders_ingested_together_keep_their_folder_in_each_name(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    root = tmp_path / "kb"
    write(root, "node/_index.md", "# Node alerts\n\nRunbooks for node alerts.\n")
    write(root, "node/disk.md", RUNBOOK)
    write(root, "kubernetes/_index.md", "# Kubernetes alerts\n\nRunbooks for kube alerts.\n")
    write(root, "postmortems/2026-01-01-outage.md", OUTAGE)
    with _kb(settings, embedder) as kb:
        report = ingest_paths(
            kb, [root / "node", root / "kubernetes", root / "postmortems"], progress=False
        )
        # Two files named _index.md in sibling folders are two documents, not a collision.
        assert not report.failed, report.failed
        assert sorted(report.added) == [
            "kubernetes/_index.md",
            "node/_index.md",
            "node/disk.md",
            "postmortems/2026-01-01-outage.md",
        ]
        # The folder in the name also gives a postmortem its kind.
        kinds = {
            h.chunk.source: h.chunk.kind
            for h in retrieval.search(kb=kb, query="the queue stalled", top_k=10)
        }
        assert kinds["postmortems/2026-01-01-outage.md"] == "postmortem"
        files = kb.files()
        # The same documents whether reached again one part at a time or as the whole.
        for again in ([root / "node"], [root / "kubernetes", root / "node"], [root]):
            same = ingest_paths(kb, again, progress=False)
            assert not (same.added or same.updated or same.removed or same.failed), again
        assert kb.files() == files


def test_copies_indexed_before_files_had_one_identity_are_removed(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    from ingest.markdown import parse_markdown

    root = _two_folders(tmp_path)
    with _kb(settings, embedder) as kb:
        ingest_paths(kb, [root], progress=False)
        # What `copilot ingest kb/runbooks` wrote before: the same file as a second document.
        doc = parse_markdown(RUNBOOK, fallback_title="disk", default_kind="runbook")
        chunks = chunking.chunk_document(doc, source="disk.md", max_words=200, overlap_words=20)
        kb.upsert_vectors(chunks, embedder.embed([c.embed_text for c in chunks]))
        kb.replace_document(
            source="disk.md",
            root=str(root / "runbooks"),
            sha256="old",
            kind="runbook",
            title=doc.title,
            chunks=chunks,
        )
        report = ingest_paths(kb, [root / "runbooks"], progress=False)
        assert report.removed == ["disk.md"] and report.unchanged == ["runbooks/disk.md"]
        assert sorted(kb.files()) == ["postmortems/2026-01-01-outage.md", "runbooks/disk.md"]
        counts = kb.counts()
        assert counts["vectors"] == counts["chunks"]


def test_rebuild_reports_what_it_removed(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    root = _two_folders(tmp_path)
    with _kb(settings, embedder) as kb:
        ingest_paths(kb, [root], progress=False)
        ingest_paths(kb, [root / "runbooks"], progress=False)
        same = ingest_paths(kb, [root], progress=False, rebuild=True)
        assert sorted(same.added) == sorted(kb.files()) and not same.removed

        (root / "postmortems/2026-01-01-outage.md").unlink()
        fewer = ingest_paths(kb, [root], progress=False, rebuild=True)
        assert fewer.added == ["runbooks/disk.md"]
        assert fewer.removed == ["postmortems/2026-01-01-outage.md"]
        assert "1 removed" in fewer.line()
