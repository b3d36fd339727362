"""`python -m evals.bench_compare`: head/base ratios per round and their median; revisions
checked out in worktrees that are removed afterwards. The benchmark itself is not run here."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from evals import bench_compare


def _run(chunks_per_s: float, p50_ms: float, rss: float) -> dict[str, Any]:
    ingest = {"chunks_per_s": chunks_per_s, "ratio": 1.0, "reingest_unchanged_s": 0.05}
    search = {"p50_ms": p50_ms, "p99_ms": 2 * p50_ms, "ratio": 1.2}
    search |= {"ask_p50_ms": 3 * p50_ms, "ask_p99_ms": 4 * p50_ms}
    return {"ingest": ingest, "search": search, "peak_rss_mb": rss}


def test_ratios_are_head_over_base_per_round_and_their_median() -> None:
    base = [_run(10.0, 20.0, 1000.0), _run(8.0, 25.0, 1000.0), _run(10.0, 20.0, 1000.0)]
    head = [_run(11.0, 20.0, 1100.0), _run(6.0, 30.0, 1000.0), _run(10.0, 22.0, 1000.0)]
    figures = bench_compare.compare(base, head)
    assert figures["ingest chunks/s"]["ratios"] == [1.1, 0.75, 1.0]
    assert figures["ingest chunks/s"]["ratio"] == 1.0
    assert figures["ingest chunks/s"]["higher_is_better"] is True
    assert figures["search p50 ms"]["ratios"] == [1.0, 1.2, 1.1]
    assert figures["search p50 ms"]["ratio"] == pytest.approx(1.1)
    assert figures["search p50 ms"]["higher_is_better"] is False
    assert figures["peak RSS MB"]["ratio"] == 1.0
    assert set(figures) == {label for label, _, _ in bench_compare.FIGURES}


def test_a_worktree_imports_its_own_package_and_is_removed(tmp_path: Path) -> None:
    try:
        bench_compare._git("rev-parse", "--verify", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not run from a git clone with a commit: no worktree to make")
    with bench_compare.worktree("HEAD", tmp_path) as tree:
        assert (tree / "copilot" / "__init__.py").is_file()
        imported = bench_compare.check_imports(tree)
        assert Path(imported).resolve().is_relative_to(tree.resolve())
    assert not tree.exists()
    assert str(tree) not in bench_compare._git("worktree", "list")
