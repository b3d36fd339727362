"""Ingest inside the server: the process that owns the store writes it (scaled out, any replica
does, one at a time: the knowledge base's ingest lock is a PostgreSQL advisory lock, and a second
ingest is answered 409 naming who holds it).

`POST /v1/admin/ingest` runs here. Paths must lie inside one of the configured ingest roots
(`COPILOT_INGEST_ROOTS`; by default the `runbooks` folder beside the data directory), after
symlinks are resolved, so an admin key cannot make the server read arbitrary files.
"""

from __future__ import annotations

import threading
from pathlib import Path

from copilot.errors import Conflict, CopilotError, InvalidInput
from copilot.knowledge.schemas import IngestResponse
from copilot.knowledge.store import KnowledgeBase

# One ingest at a time per process; a second one is refused rather than queued behind it.
_INGESTING = threading.Lock()


class PathNotAllowed(CopilotError):
    status_code = 403


def resolve_paths(paths: list[str], roots: list[Path]) -> list[Path]:
    """The requested paths, resolved, each checked to exist inside an allowed root."""
    resolved: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            real = path.resolve(strict=False)
        except (OSError, RuntimeError):
            raise InvalidInput(f"paths: cannot resolve {raw[:200]!r}") from None
        if not any(real == root or real.is_relative_to(root) for root in roots):
            allowed = ", ".join(str(r) for r in roots)
            raise PathNotAllowed(
                f"paths: {raw[:200]!r} is outside the ingest roots ({allowed}); "
                "set COPILOT_INGEST_ROOTS to allow another folder"
            )
        if not real.exists():
            raise InvalidInput(f"paths: no such file or directory: {raw[:200]!r}")
        resolved.append(real)
    return resolved


def ingest(
    *, kb: KnowledgeBase, paths: list[str], roots: list[Path], rebuild: bool = False
) -> IngestResponse:
    """Bring the knowledge base in line with `paths`, as `copilot ingest` does."""
    from ingest.pipeline import ingest_paths

    targets = resolve_paths(paths, roots)
    if not _INGESTING.acquire(blocking=False):
        raise Conflict("an ingest is already running in this server; try again when it is done")
    try:
        report = ingest_paths(kb, targets, progress=False, rebuild=rebuild)
    finally:
        _INGESTING.release()
    return IngestResponse.model_validate(report.summary())
