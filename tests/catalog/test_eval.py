"""evals.catalog at a small size: the generated catalog's blast radius agrees with an
independent BFS on every random failing set, and the sample incidents score exactly."""

from __future__ import annotations

from evals import catalog


def test_generated_catalog_blast_radius_is_exact_and_the_sample_scores() -> None:
    generated = catalog.run_generated(400, 30, seed=7)
    assert generated["queries"] == 30
    assert generated["correct"] == 30
    assert generated["entities"] >= 350 and generated["cycles_reported"] >= 1
    assert generated["mean_dependents"] > 1  # the failing sets reach something
    sample = catalog.run_sample()
    assert sample["misses"] == [] and sample["exact"] == sample["cases"] >= 9


def test_the_independent_bfs_follows_edges_backwards() -> None:
    deps = {"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a"}, "e": set()}
    assert catalog.bfs_dependents(deps, {"c"}) == {"a", "b", "d"}
    assert catalog.bfs_dependents(deps, {"e"}) == set()
