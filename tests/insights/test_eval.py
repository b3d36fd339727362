"""The insights evals run, and measure what they say they measure."""

from __future__ import annotations

import pytest

from evals import insights as ev


def test_bench_times_insights_beside_its_baselines_on_the_history_it_generated() -> None:
    result = ev.bench(incidents=200, events=2000, repeat=1)
    assert result["incidents"] == result["report_incidents"] == 200
    assert result["events"] == 2000
    assert set(result["p50_s"]) == {"insights", "plain_sql_baseline", "load_every_event"}
    assert all(v > 0 for v in result["p50_s"].values())
    p = result["p50_s"]
    assert result["ratios"]["insights_over_plain_sql"] == pytest.approx(
        p["insights"] / p["plain_sql_baseline"], rel=0.02
    )
