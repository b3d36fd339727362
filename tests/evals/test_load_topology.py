"""`python -m evals.load --topology` at tiny sizes: the report has every cell, and its counts add
up (attempted = ok + errors; every acknowledged event is read back). No duration is asserted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evals import load_topology
from tests.conftest import SAMPLE_KB
from tests.db.postgres import PostgresCluster

pytestmark = pytest.mark.slow

LEVELS = (1, 2)
WRITERS = 2


def test_topology_load_report_has_every_cell_and_its_counts_add_up(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("vault-sealed.md", "dns-resolution-failures.md"):
        shutil.copy(SAMPLE_KB / "runbooks" / name, corpus / name)
    url = postgres_cluster.create_database()
    try:
        report = load_topology.run(
            seconds=0.3, levels=LEVELS, writers=WRITERS, postgres_url=url, corpus=corpus
        )
    finally:
        postgres_cluster.drop_database(url)

    assert report["levels"] == list(LEVELS)
    assert report["skipped"] == {}
    # SQLite is the single-process default: one replica; PostgreSQL: one and two.
    assert {db: set(found["replicas"]) for db, found in report["databases"].items()} == {
        "sqlite": {"1"},
        "postgresql": {"1", "2"},
    }
    for db, found in report["databases"].items():
        for replicas, cells in found["replicas"].items():
            for op in load_topology.OPERATIONS:
                rows = cells[op]
                assert [r["clients"] for r in rows] == list(LEVELS), (db, replicas, op)
                for r in rows:
                    where = (db, replicas, op, r["clients"])
                    assert r["attempted"] == r["ok"] + r["errors"], where
                    assert r["errors"] == sum(r["error_kinds"].values()), where
                    assert r["errors"] == 0, (where, r["error_kinds"])
                    assert r["ok"] >= 1, where
                    # Round-robin: with two replicas, each answered its share.
                    assert len(r["ok_per_replica"]) == int(replicas), where
                    assert sum(r["ok_per_replica"]) == r["ok"], where
                    if int(replicas) == 2 and r["ok"] >= 2 * r["clients"]:
                        assert min(r["ok_per_replica"]) >= 1, where
                    assert r["p50_ms"] <= r["p99_ms"], where
                    assert "x_healthz_rps" in r and "x_healthz_p50" in r
            writes = cells["event_writes"]
            assert writes["writers"] == WRITERS
            assert writes["attempted"] == writes["acked"] + writes["errors"]
            assert writes["acked"] >= 1
            assert writes["read_back"] == writes["acked"], (db, replicas, writes)
            assert writes["lost"] == 0
    assert load_topology.failures(report) == 0
    text = load_topology.render(report)
    assert "postgresql, 2 replica(s):" in text and "sqlite, 1 replica(s):" in text
