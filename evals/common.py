"""Helpers shared by the evals and benchmarks."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import copilot  # noqa: F401  - offline environment first
from copilot.embedding import Embedder
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings


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


def cpu_count() -> int:
    return os.cpu_count() or 1


def share(values: Sequence[bool | float]) -> float | None:
    """The mean of `values` to four places; None for none."""
    return round(sum(values) / len(values), 4) if values else None
