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
from copilot.knowledge.store import FileRecord, KnowledgeBase
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


@dataclass(frozen=True)
class _Located:
    """Where an indexed document's file is: by the path it was reached by, and for real."""

    base: Path  # the folder its `source` is relative to
    path: Path  # base / source
    real: Path  # path with every symlink resolved: the file's identity


def _locate(record: FileRecord) -> _Located:
    root = Path(record.root)
    # A file ingested on its own has its name as source, relative to its folder.
    if "/" not in record.source and root.name == record.source and not root.is_dir():
        base = root.parent
    else:
        base = root
    path = base / record.source
    return _Located(base, path, Path(os.path.realpath(path)))


def _under(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _identity(
    path: Path,
    root_key: str,
    base: Path,
    owners: list[str],
    known: dict[str, FileRecord],
    located: dict[str, _Located],
    bases: list[Path],
) -> tuple[str, str]:
    """The (source, root) a file is indexed under: one per file, however it is reached.

    A file already indexed keeps its source, relative to the folder it was ingested from, when
    it is reached again from the same folder, a folder inside it, by another path to it (a
    relative path, a symlink) or as a single file. Reached from a folder that contains the one
    it was ingested from, its source becomes relative to that wider folder, so a knowledge base
    ingested first in parts and then whole reads as the whole. A new file inside a folder
    already ingested is named relative to that folder, like its neighbours.
    """
    if owners:
        best = min(owners, key=lambda s: (len(located[s].base.parts), s))
        best_base = located[best].base
        if base == best_base or not best_base.is_relative_to(base):
            return best, known[best].root
        return path.relative_to(base).as_posix(), root_key
    for outer in bases:  # outermost first
        if outer != base and base.is_relative_to(outer):
            return path.relative_to(outer).as_posix(), str(outer)
    return path.relative_to(base).as_posix(), root_key


def _shared_parents(roots: list[Path]) -> set[Path]:
    """Folders given together with a sibling: their files are named relative to the parent.

    `copilot ingest kb/node kb/kubernetes` reads as those two parts of `kb`: each file's
    source keeps its folder (`node/_index.md`, `kubernetes/_index.md`), so files of the same
    name in sibling folders do not collide, and a later `copilot ingest kb` or `kb/node` finds
    the same documents. A folder inside another one given is read as part of that one.
    """
    folders = [r for r in roots if r.is_dir()]
    outer = [r for r in folders if not any(o != r and r.is_relative_to(o) for o in folders)]
    parents: dict[Path, list[Path]] = {}
    for folder in set(outer):
        parents.setdefault(folder.parent, []).append(folder)
    return {f for group in parents.values() if len(group) > 1 for f in group}


def ingest_paths(
    kb: KnowledgeBase,
    roots: list[Path],
    *,
    progress: bool | None = None,
    rebuild: bool = False,
    wait_s: float = 0.0,
) -> IngestReport:
    """Bring the knowledge base in line with the markdown under `roots`.

    A file is one document whatever path reaches it (see `_identity`). Documents whose files
    are gone from the given paths are removed, as are second copies of one file indexed under
    two sources (by versions before this rule); documents elsewhere are left alone. With
    `rebuild`, the index starts empty and `removed` lists what was indexed before and is not now.
    One ingest runs at a time (on PostgreSQL across replicas, by an advisory lock): a second one
    waits up to `wait_s` seconds, then raises IngestBusy naming who holds it.
    """
    with kb.ingest_lock(wait_s=wait_s):
        return _ingest(kb, roots, progress=progress, rebuild=rebuild)


def _ingest(
    kb: KnowledgeBase, roots: list[Path], *, progress: bool | None, rebuild: bool
) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport()
    settings = kb.settings
    before = kb.files() if rebuild else {}
    if rebuild:
        kb.rebuild()
    known = kb.files()
    located = {source: _locate(record) for source, record in known.items()}
    owners_of: dict[Path, list[str]] = {}
    for source, where in located.items():
        owners_of.setdefault(where.real, []).append(source)
    # The folders documents were ingested from, outermost first.
    bases = sorted(
        {w.base for w in located.values() if w.base.is_dir()}, key=lambda b: len(b.parts)
    )
    pending: list[_Pending] = []
    claimed: dict[Path, str] = {}  # real path -> the source it is indexed under in this run
    claimed_by: dict[str, Path] = {}  # source -> real path, once it is taken
    walked: list[Path] = []

    resolved = [(raw, raw.resolve()) for raw in roots]
    # Wider folders first: a file reached again from a folder inside one is the same document.
    resolved.sort(key=lambda pair: len(pair[1].parts))
    shared = _shared_parents([root for _, root in resolved])
    found: list[tuple[Path, Path, str, str]] = []  # path, real path, source, root
    for raw_root, root in resolved:
        if not root.exists():
            report.failed.append((str(raw_root), "path does not exist"))
            continue
        walked.append(root)
        base = root.parent if root.is_file() or root in shared else root
        root_key = str(base) if root in shared else str(root)
        for path in discover(root):
            real = Path(os.path.realpath(path))
            if real in claimed:
                continue  # the same file again (nested paths, a symlink): one document
            source, record_root = _identity(
                path, root_key, base, owners_of.get(real, []), known, located, bases
            )
            claimed[real] = source
            found.append((path, real, source, record_root))

    for path, real, source, record_root in found:
        if source in claimed_by:
            report.failed.append((source, f"also found as {claimed_by[source]}"))
            continue
        occupant = located.get(source)
        if (
            occupant is not None
            and occupant.real != real
            # ...and that file keeps this name (it is not re-indexed under another one now)
            and claimed.get(occupant.real, source) == source
            and occupant.real.is_file()
        ):
            root_of = known[source].root
            report.failed.append(
                (source, f"another file is indexed under this name, from {root_of}")
            )
            continue
        claimed_by[source] = real
        try:
            data = _read_bytes(path)
            sha = fingerprint(data)
            record = known.get(source)
            if record is not None and record.sha256 == sha and record.root == record_root:
                report.unchanged.append(source)
                continue
            text = _decode(data)
            doc = parse_markdown(
                text,
                fallback_title=path.stem.replace("-", " "),
                default_kind=default_kind(Path(source)),
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
            _Pending(source, record_root, sha, doc.kind, doc.title, chunks, record is None)
        )

    # Indexed documents under the walked paths that no file claimed: their file is gone, or
    # it is indexed under another source (a copy from before files had one identity).
    indexed = set(claimed_by.values())
    stale = [
        source
        for source, where in located.items()
        if source not in claimed_by
        and any(_under(where.path, root) for root in walked)
        and (where.real in indexed or not where.path.is_file())
    ]

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
        stale_ids = kb.replace_document(
            source=item.source,
            root=item.root,
            sha256=item.sha256,
            kind=item.kind,
            title=item.title,
            chunks=item.chunks,
        )
        _fault_point("before_stale_delete")
        kb.delete_vectors(stale_ids)
        (report.added if item.is_new else report.updated).append(item.source)
        report.chunks += len(item.chunks)

    # Removed after the writes: a crash in between leaves a copy for the next run to remove,
    # never a document missing.
    for source in stale:
        kb.delete_vectors(kb.remove_document(source))
        report.removed.append(source)
    if rebuild:
        written = {p.source for p in pending}
        report.removed.extend(sorted(s for s in before if s not in written))

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
