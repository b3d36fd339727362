"""Helpers shared by the evals and benchmarks."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import copilot  # noqa: F401  - offline environment first
from copilot.embedding import Embedder, set_threads
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from ingest.pipeline import ingest_paths


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{number}: not JSON: {exc.msg}") from None
    return rows


@contextmanager
def temporary_kb(
    store: Path | None = None, embedder: Embedder | None = None, **overrides: Any
) -> Iterator[KnowledgeBase]:
    """A knowledge base in `store`, or in a temporary directory removed afterwards."""
    with TemporaryDirectory(prefix="copilot-eval-") as tmp:
        data_dir = store or Path(tmp)
        settings = Settings(data_dir=data_dir, _env_file=None, **overrides)
        model = embedder or Embedder(settings.embedding_model)
        kb = KnowledgeBase(settings, model)
        try:
            yield kb
        finally:
            kb.close()


@contextmanager
def ingested_kb(
    roots: Sequence[Path],
    store: Path | None = None,
    embedder: Embedder | None = None,
    *,
    label: str = "",
    **overrides: Any,
) -> Iterator[KnowledgeBase]:
    """`temporary_kb` with `roots` ingested on every core (files that fail are counted in a
    warning), then searched on one thread, as the evals measure."""
    set_threads(cpu_count())
    with temporary_kb(store, embedder, **overrides) as kb:
        report = ingest_paths(kb, list(roots), progress=sys.stderr.isatty())
        if report.failed:
            where = f"{label}: " if label else ""
            print(f"warning: {where}{len(report.failed)} files skipped at ingest", file=sys.stderr)
        set_threads(1)
        yield kb


def cpu_count() -> int:
    return os.cpu_count() or 1


def share(values: Sequence[bool | float]) -> float | None:
    """The mean of `values` to four places; None for none."""
    return round(sum(values) / len(values), 4) if values else None
