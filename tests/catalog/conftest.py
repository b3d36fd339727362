"""Catalog fixtures: the shipped sample catalog, and small catalogs written into tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.catalog import service
from copilot.db import Database

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "runbooks" / "catalog"


def entity(kind: str, name: str, spec: str = "", meta: str = "") -> str:
    """One YAML document; `spec` and `meta` are extra lines, indented by the caller's 2 spaces."""
    text = f"apiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: {name}\n"
    text += "".join(f"  {line}\n" for line in meta.splitlines() if line)
    if spec:
        text += "spec:\n" + "".join(f"  {line}\n" for line in spec.splitlines() if line)
    return text


def docs(*parts: str) -> str:
    return "---\n".join(parts)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    yield database
    database.close()


@pytest.fixture
def sample_db(database_url: str) -> Iterator[Database]:
    """The sample catalog imported into SQLite and into PostgreSQL."""
    database = Database(database_url)
    report = service.import_paths(db=database, paths=[SAMPLE])
    assert report.clean, (report.failed, report.problems, report.unresolved)
    yield database
    database.close()
