"""The incremental ingest: discover, parse, chunk, embed what is new, swap per document."""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from copilot import metrics
from copilot.knowledge.models import Chunk, Kind
from copilot.knowledge.store import KnowledgeBase
from ingest import chunking
from ingest.chunking import chunk_document
from ingest.markdown import ParseError, parse_markdown

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = (".md", ".markdown")
POSTMORTEM_DIRS = {"postmortems", "postmortem", "post-mortems", "incidents-reviews"}
MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    orphans_swept: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, object]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "failed": len(self.failed),
            "chunks": self.chunks,
            "embedded": self.embedded,
            "seconds": round(self.seconds, 3),
            "failures": [{"file": f, "reason": r} for f, r in self.failed],
        }

    def line(self) -> str:
        return (
            f"ingest: {len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
            f"{len(self.failed)} failed; {self.chunks} chunks written "
            f"({self.embedded} embedded) in {self.seconds:.1f}s"
        )


@dataclass
class _Pending:
    source: str
    root: str
    sha256: str
    kind: Kind
    title: str
    chunks: list[Chunk]
    is_new: bool


def _fault_point(name: str) -> None:
    """Crash-safety tests kill the process here (COPILOT_FAULT_POINT); nothing else sets it."""
    if os.environ.get("COPILOT_FAULT_POINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def fingerprint(data: bytes) -> str:
    """What decides "unchanged": the file's bytes and the chunk format that indexed them."""
    return hashlib.sha256(f"chunks-v{chunking.CHUNK_FORMAT}\x00".encode() + data).hexdigest()


def discover(root: Path) -> list[Path]:
    """Markdown files under root (or root itself), skipping hidden folders, in a stable order."""
    if root.is_file():
        return [root]
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and (
            path.suffix.lower() in MARKDOWN_SUFFIXES
            or (not path.suffix and _looks_like_markdown(path))
        ):
            found.append(path)
    return sorted(found)


def _looks_like_markdown(path: Path) -> bool:
    """An extension-less file that opens with a heading or front matter is markdown too."""
    try:
        with path.open("rb") as handle:
            head = handle.read(512).decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    except OSError:
        return False
    return head.startswith(("# ", "---\n"))


def default_kind(rel: Path) -> Kind:
    folders = {p.lower() for p in rel.parts[:-1]}
    return "postmortem" if folders & POSTMORTEM_DIRS else "runbook"


def _read_bytes(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ParseError(f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")
    return path.read_bytes()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParseError("file is not UTF-8 text") from None


def ingest_paths(
    kb: KnowledgeBase,
    roots: list[Path],
    *,
    progress: bool | None = None,
    rebuild: bool = False,
) -> IngestReport:
    """Bring the knowledge base in line with the markdown under `roots`."""
    started = time.perf_counter()
    report = IngestReport()
    settings = kb.settings
    if rebuild:
        kb.rebuild()
    known = kb.files()
    pending: list[_Pending] = []
    seen_sources: dict[str, str] = {}

    for raw_root in roots:
        root = raw_root.resolve()
        if not root.exists():
            report.failed.append((str(raw_root), "path does not exist"))
            continue
        base = root.parent if root.is_file() else root
        root_key = str(root)
        present: set[str] = set()
        for path in discover(root):
            rel = path.relative_to(base)
            source = rel.as_posix()
            present.add(source)
            if source in seen_sources and seen_sources[source] != root_key:
                report.failed.append((source, f"also found under {seen_sources[source]}"))
                continue
            seen_sources[source] = root_key
            try:
                data = _read_bytes(path)
                sha = fingerprint(data)
                record = known.get(source)
                if record is not None and record.sha256 == sha and record.root == root_key:
                    report.unchanged.append(source)
                    continue
                text = _decode(data)
                doc = parse_markdown(
                    text, fallback_title=path.stem.replace("-", " "), default_kind=default_kind(rel)
                )
                chunks = chunk_document(
                    doc,
                    source=source,
                    max_words=settings.chunk_max_words,
                    overlap_words=settings.chunk_overlap_words,
                )
            except (OSError, ParseError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                log.warning("skipped %s: %s", source, reason)
                report.failed.append((source, reason))
                continue
            pending.append(
                _Pending(source, root_key, sha, doc.kind, doc.title, chunks, record is None)
            )
        for source, record in known.items():
            if record.root == root_key and source not in present:
                kb.delete_vectors(kb.remove_document(source))
                report.removed.append(source)

    all_chunks = [c for p in pending for c in p.chunks]
    reuse = kb.existing_vector_ids([c.id for c in all_chunks])
    to_embed = [c for c in all_chunks if c.id not in reuse]
    vectors = _embed_with_progress(kb, to_embed, progress=progress)
    kb.upsert_vectors(to_embed, vectors)
    _fault_point("after_vectors")
    report.embedded = len(to_embed)

    for number, item in enumerate(pending):
        if number == len(pending) // 2:
            _fault_point("mid_documents")
        stale = kb.replace_document(
            source=item.source,
            root=item.root,
            sha256=item.sha256,
            kind=item.kind,
            title=item.title,
            chunks=item.chunks,
        )
        _fault_point("before_stale_delete")
        kb.delete_vectors(stale)
        (report.added if item.is_new else report.updated).append(item.source)
        report.chunks += len(item.chunks)

    if pending or report.removed or rebuild:
        _fault_point("before_sweep")
        report.orphans_swept = kb.sweep_orphans()
    report.seconds = time.perf_counter() - started
    metrics.observe_ingest(report.summary())
    return report


def _embed_with_progress(
    kb: KnowledgeBase, chunks: list[Chunk], *, progress: bool | None
) -> np.ndarray:
    texts = [c.embed_text for c in chunks]
    if progress is None:
        progress = sys.stderr.isatty()
    if not texts:
        return kb.embedder.embed([])
    from tqdm import tqdm

    # Embed in length order, as one encode() call would: batches of similar length waste no
    # time on padding. Slices keep the progress bar moving; the order is restored at the end.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    step = max(kb.settings.embed_batch_size * 4, 256)
    parts = []
    with tqdm(total=len(texts), unit="chunk", desc="embedding", disable=not progress) as bar:
        for i in range(0, len(order), step):
            batch = [texts[j] for j in order[i : i + step]]
            parts.append(kb.embedder.embed(batch))
            bar.update(len(batch))
    sorted_vectors = np.concatenate(parts)
    vectors = np.empty_like(sorted_vectors)
    vectors[np.asarray(order)] = sorted_vectors
    return vectors
