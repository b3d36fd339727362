"""The catalog older copilots kept in `DATA_DIR/catalog.sqlite`, imported once into the database.

Its documents, chunks and index identity are copied into `kb_documents`, `kb_chunks` (and on
SQLite the FTS5 table) in one transaction under the migration lock, then the file is renamed
`catalog.sqlite.imported` for the operator to delete. The vectors stay where they were, in the
data directory's embedded Chroma, under the same chunk ids: nothing is re-embedded and search
answers as before.

The import is skipped, with a warning saying what to do, when the vectors would not be found
(COPILOT_CHROMA_URL points at a Chroma server) or when the database already holds a knowledge
base (a shared database is not merged with one data directory's catalog): `copilot ingest PATH`
indexes the documents there instead.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update

from copilot.db.legacy import IMPORTED_SUFFIX, _retire
from copilot.db.schema import lock_for_migration
from copilot.knowledge.tables import insert_chunks, kb_documents, kb_state

if TYPE_CHECKING:
    from copilot.knowledge.store import KnowledgeBase

log = logging.getLogger("copilot.knowledge")


def import_legacy_catalog(kb: KnowledgeBase) -> int:
    """Import `catalog.sqlite` of the data directory, if there is one; returns documents read."""
    from copilot.knowledge.store import _chunk_from_json

    path = kb.settings.catalog_path
    if not path.is_file():
        return 0
    if kb.settings.chroma_url:
        log.warning(
            "%s (a knowledge base from an older copilot) was not imported: its vectors are in "
            "this data directory's embedded Chroma, and COPILOT_CHROMA_URL names a server. "
            "Run `copilot ingest PATH` to index the documents there, then delete the file.",
            path,
        )
        return 0
    with kb.database.begin() as conn:
        lock_for_migration(conn)
        if not path.is_file():  # another process imported it while this one waited
            return 0
        present = conn.execute(select(func.count()).select_from(kb_documents)).scalar_one()
        if present:
            log.warning(
                "%s (a knowledge base from an older copilot) was not imported: the database "
                "already holds one. Run `copilot ingest PATH` for the documents it had, then "
                "delete the file.",
                path,
            )
            return 0
        source = sqlite3.connect(path, timeout=30)
        try:
            tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master")}
            if not {"files", "chunks", "meta"} <= tables:
                log.warning("%s is not a copilot catalog: not imported", path)
                return 0
            meta = source.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
            files = source.execute(
                "SELECT source, root, sha256, kind, title, chunk_ids, ingested_at FROM files"
            ).fetchall()
            chunks = [
                _chunk_from_json(body)
                for (body,) in source.execute("SELECT body FROM chunks ORDER BY rowid")
            ]
        finally:
            source.close()
        if meta is not None:
            conn.execute(update(kb_state).values(identity=json.loads(meta[0])))
        if files:
            conn.execute(insert(kb_documents), [_document(row) for row in files])
        insert_chunks(conn, chunks)
        conn.execute(update(kb_state).values(version=kb_state.c.version + 1))
    _retire(path)
    log.warning(
        "imported %s into the database (%d documents, %d chunks; vectors unchanged); the old "
        "file is now %s%s",
        path,
        len(files),
        len(chunks),
        path.name,
        IMPORTED_SUFFIX,
    )
    return len(files)


def _document(row: tuple[Any, ...]) -> dict[str, Any]:
    source, root, sha256, kind, title, chunk_ids, ingested_at = row
    return {
        "source": source,
        "root": root,
        "sha256": sha256,
        "kind": kind,
        "title": title,
        "chunk_ids": json.loads(chunk_ids),
        "ingested_at": datetime.fromtimestamp(float(ingested_at), UTC),
    }
