"""A replica started against a database a newer copilot migrated refuses, saying so: `copilot
serve` (and any other command that opens it) exits non-zero with the schema message, no
traceback, on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from copilot.db import Database, head_revision
from evals.processes import BIN, base_env, free_port

FUTURE = "f0f0f0f0f0f0"  # a revision no copilot of this tree knows


def stamp_future(url: str) -> None:
    db = Database(url)  # migrated to this copilot's head
    try:
        with db.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": FUTURE})
    finally:
        db.close()


def run_copilot(tmp_path: Path, url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = base_env(tmp_path, COPILOT_DATABASE_URL=url, COPILOT_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        [str(BIN / "copilot"), *argv],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ("serve", "--host", "127.0.0.1", "--port", "{port}"),
        ("incident", "list"),
    ],
    ids=["serve", "incident-list"],
)
def test_a_database_of_a_newer_schema_is_refused_saying_so(
    tmp_path: Path, database_url: str, argv: tuple[str, ...]
) -> None:
    stamp_future(database_url)
    port = str(free_port())
    done = run_copilot(tmp_path, database_url, *(a.replace("{port}", port) for a in argv))

    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "database schema is newer than this copilot" in output, output[-2000:]
    assert FUTURE in output and head_revision() in output
    assert "Traceback" not in output, output[-3000:]
