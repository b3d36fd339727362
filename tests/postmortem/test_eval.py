"""The postmortem eval, on three small postmortems of its own (CI does not read ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.embedding import Embedder
from evals import postmortem as pm_eval

INGRESS_A = """# All services returning 503 after a CNI change

## Summary

A change to the cluster network plugin detached the load balancer target groups, so every
service behind the ingress returned 503 until the pipeline reattached them.

## Timeline

All times in CET.

| Time             | Event                                                  |
| :--------------- | ------------------------------------------------------ |
| 2021-06-22 10:21 | Network plugin replaced by the pipeline                |
| 2021-06-22 10:29 | Issue detected as a result of alerts                   |
| 2021-06-22 10:33 | Fix committed to revert the module reference           |
| 2021-06-22 10:46 | Target groups reattached to the load balancer (resolved) |

## Action Items

- Create an ingress test suite.

## Stats

- Category: Kubernetes
- Time to detection: 8 minutes
- Time to recovery: 25 minutes
"""

INGRESS_B = """# Services return 503 again: target groups detached

## Summary

The daily pipeline modified the autoscaling groups and detached the load balancer target groups
again; every service returned 503 for ten minutes.

## Timeline

All times in UTC.

- `2021-07-02 07:32` Daily pipeline run starts modifying the autoscaling groups
- `2021-07-02 07:39` A user reported 503 for all services
- `2021-07-02 07:42` Target group reattached by the pipeline, traffic back to normal

## Stats

- Category: Kubernetes
- Time to detection: 7 minutes
- Time to recovery: 10 minutes
"""

LOGS_C = """# Logs not shipped to the log store

## Summary

A log shipper upgrade stopped some nodes from shipping logs for a day.

## Timeline

All times in UTC.

| Time             | Event                                  |
| :--------------- | -------------------------------------- |
| 2023-03-20 HH:mm | Shipper configuration drafted          |
| 2023-04-11 11:20 | Shipper upgraded; first node stops shipping logs |
| 2023-04-11 20:28 | Alert for the shipper noticed          |
| 2023-04-11 22:?? | Rolled back to the previous release    |
| 2023-04-11 22:25 | Nodes started shipping logs again      |

## Stats

- Category: Observability
- Time to detection: 548 minutes
"""


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "PM-A - All services returning 503.md").write_text(INGRESS_A, encoding="utf-8")
    (root / "PM-B - Services return 503 again.md").write_text(INGRESS_B, encoding="utf-8")
    (root / "PM-C - Logs not shipped").write_text(LOGS_C, encoding="utf-8")  # no extension
    (root / "README.md").write_text("# postmortems\n", encoding="utf-8")
    return root


@pytest.fixture
def datasets(tmp_path: Path) -> dict[str, Path]:
    topics = tmp_path / "topics.json"
    topics.write_text(
        json.dumps(
            {
                "_about": "test labels",
                "PM-A - All services returning 503.md": ["alb-targets"],
                "PM-B - Services return 503 again.md": ["alb-targets"],
                "PM-C - Logs not shipped": ["log-shipping"],
            }
        ),
        encoding="utf-8",
    )
    judged = tmp_path / "judged.jsonl"
    judged.write_text(
        json.dumps(
            {
                "query": "503 everywhere",
                "relevant": [
                    "PM-A - All services returning 503.md",
                    "PM-B - Services return 503 again.md",
                ],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    expected = tmp_path / "expected.jsonl"
    expected.write_text(
        "\n".join(
            json.dumps(row)
            for row in (
                {"file": "PM-A - All services returning 503.md", "events": 4, "zone": "CET"},
                {"file": "PM-B - Services return 503 again.md", "events": 3, "zone": "UTC"},
                {"file": "PM-C - Logs not shipped", "events": 5, "zone": "UTC"},
            )
        )
        + "\n",
        encoding="utf-8",
    )
    return {"topics": topics, "judged": judged, "expected": expected}


def test_eval_measures_fidelity_metrics_sections_and_similar(
    corpus: Path, datasets: dict[str, Path], embedder: Embedder
) -> None:
    result = pm_eval.evaluate(
        corpus,
        embedder=embedder,
        topics=datasets["topics"],
        judged=datasets["judged"],
        expected=datasets["expected"],
    )
    assert result["docs"] == 3 and result["built"] == 3 and result["skipped"] == []
    assert result["parser"]["count_right"] == 3 and result["parser"]["zone_right"] == 3
    t = result["timeline"]
    assert t["fidelity"] == 1.0 and t["present"] == 1.0 and t["times_right"] == 1.0
    # The row dated ten days before the upgrade is refused by the store (more than a day before
    # impact start): counted, not hidden.
    assert (t["events_parsed"], t["events_imported"], t["events_refused"]) == (12, 11, 1)
    refused = next(d for d in result["per_doc"] if d["file"] == "PM-C - Logs not shipped")
    assert refused["refused"] == [
        {"time": "2023-03-20 HH:mm", "reason": "at: more than a day before impact start"}
    ]
    m = result["metrics"]
    assert m["pipeline_correct"] == 1.0
    # CET in June is UTC+2: 10:21 -> 08:21 UTC; the stated 8 and 25 minutes are recovered.
    a = next(d for d in result["per_doc"] if d["file"].startswith("PM-A"))
    assert a["metrics"]["ttd"]["agree"] and a["metrics"]["ttr"]["agree"]
    assert result["recurrence"] == {"checked": 3, "right": 1.0}
    c = refused["metrics"]["ttd"]
    assert c == {"stated_min": 548.0, "ours_min": 548.0, "agree": True}
    assert result["sections"]["present"] == 1.0
    similar = result["similar"]
    for name in ("shared_topic", "judged_together"):
        assert similar[name]["postmortems_with_a_related_one"] == 2
        assert similar[name]["hit@1"] == 1.0, similar


def test_eval_cli_prints_json(
    corpus: Path, datasets: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["--corpus", str(corpus), "--json", "--limit", "1", "--dump", str(tmp_path / "drafts")]
    for name, path in datasets.items():
        argv += [f"--{name}", str(path)]
    assert pm_eval.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["docs"] == 1
    assert {"parser", "timeline", "metrics", "recurrence", "sections", "similar"} <= set(out)
    (draft,) = (tmp_path / "drafts").iterdir()
    assert draft.read_text(encoding="utf-8").startswith("---\ntitle: ")


def test_minutes() -> None:
    assert pm_eval.minutes("4 hours 42 minutes") == 282
    assert pm_eval.minutes("11 Days") == 15840
    assert pm_eval.minutes("N/A") is None and pm_eval.minutes("?") is None
