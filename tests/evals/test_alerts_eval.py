"""evals.alerts: the storm is replayable, the pairwise scores are right, a small storm groups."""

from __future__ import annotations

from pathlib import Path

from evals import alerts


def test_pairwise_scores_on_a_known_grouping() -> None:
    truth = {"a": "x", "b": "x", "c": "x", "d": "y"}
    # a, b together (right); c alone (a missed pair with each); d alone (right).
    scores = alerts._pairs({"a": 1, "b": 1, "c": 2, "d": None}, truth)
    assert scores == {"precision": 1.0, "recall": round(1 / 3, 4), "f1": 0.5}
    merged = alerts._pairs({"a": 1, "b": 1, "c": 1, "d": 1}, truth)
    assert merged["recall"] == 1.0 and merged["precision"] == 0.5


def test_the_storm_is_seeded_and_labelled() -> None:
    one = alerts.generate(3, situations=2, noise=20, services=50)
    two = alerts.generate(3, situations=2, noise=20, services=50)
    assert one.payloads == two.payloads and one.truth == two.truth
    assert len({s for s in one.truth.values() if s not in one.noise}) == 2
    assert len(one.noise) == 20
    names = {a["labels"]["alertname"] for _, p in one.payloads for a in p["alerts"]}
    assert "Watchdog" in names
    assert all(len(p["alerts"]) <= 1000 for _, p in one.payloads)


def test_a_small_storm_groups_its_situations(tmp_path: Path) -> None:
    storm = alerts.generate(5, situations=2, noise=40, services=200)
    result = alerts.grouping(storm, tmp_path, finder=None)
    assert result["grouping"]["f1"] >= 0.9
    assert result["candidates"] >= 2
    assert result["alerts"] == len(storm.truth)
