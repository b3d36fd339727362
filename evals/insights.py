"""Insights evals: failure-mode clusters against hand-made topic labels, and insights' speed.

python -m evals.insights clusters --corpus ../shared/corpora/dfds-postmortems [--json]
    Imports the corpus (`copilot import postmortems`' code) into a temporary SQLite database,
    clusters the imported incidents as insights does (TF-IDF + agglomerative clustering) and, in
    the same run, with MiniLM sentence vectors instead, and beside them the simplest baseline (one
    group per the postmortem's own "Category:" line), and scores them against the topic labels
    of evals/datasets/postmortem/dfds_topics.json (a postmortem's first label is its class):
    adjusted Rand index (ARI, 0 = chance, 1 = the labels exactly) and adjusted mutual
    information; a random grouping of the same sizes is the chance line.

python -m evals.insights bench [--incidents 10000] [--events 200000] [--repeat 5] [--json]
    Generates a history of that size in a temporary SQLite database and times the insights
    report (without clusters) against two baselines in the same run: plain SQL that only reads
    what the report needs (one GROUP BY and the incident rows), and loading every timeline event
    into Python (what insights avoids). Prints p50 seconds and the ratios.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score
from sqlalchemy import func, insert, select

from copilot.followups.models import FollowUp
from copilot.incidents.db import IncidentStore
from copilot.incidents.models import Event, Incident, Label, RoleAssignment
from copilot.insights import service
from copilot.insights.clusters import cluster
from copilot.insights.history import ASSUMED_TAG, import_postmortems
from copilot.insights.models import ImportedPostmortem

TOPICS = Path(__file__).parent / "datasets" / "postmortem" / "dfds_topics.json"


def clusters_eval(corpus: Path) -> dict[str, Any]:
    from copilot.embedding import Embedder

    topics: dict[str, list[str]] = {
        k: v for k, v in json.loads(TOPICS.read_text()).items() if not k.startswith("_")
    }
    with TemporaryDirectory() as tmp, IncidentStore(f"sqlite:///{tmp}/db.sqlite") as store:
        import_postmortems(store, corpus)
        with store.read() as session:
            rows = session.execute(
                select(ImportedPostmortem.source, Incident.number, Incident.title, Incident.summary)
                .join(Incident, Incident.number == ImportedPostmortem.incident_number)
                .order_by(Incident.number)
            ).all()
            tags = dict(
                session.execute(
                    select(Label.incident_number, func.min(Label.name))
                    .where(Label.kind == "tag", Label.name.not_in(("imported", ASSUMED_TAG)))
                    .group_by(Label.incident_number)
                ).all()
            )
    rows = [r for r in rows if r.source in topics]
    items = [(f"INC-{r.number}", r.title, f"{r.title}. {r.summary}") for r in rows]
    truth = [topics[r.source][0] for r in rows]
    out: dict[str, Any] = {"incidents": len(items), "topics": len(set(truth))}
    grouped: list[int] = []
    # The simplest baseline: the postmortem's own "Category:" line (one group per category).
    category = [tags.get(r.number, "(none)") for r in rows]
    out["category_baseline"] = {
        "ari": round(adjusted_rand_score(truth, category), 3),
        "ami": round(adjusted_mutual_info_score(truth, category), 3),
        "groups": len(set(category)),
    }
    for name, embedder in (("tfidf_default", None), ("minilm", Embedder())):
        started = time.perf_counter()
        found = cluster(items, embedder=embedder)
        grouped = grouped or list(found.labels)
        out[name] = {
            "ari": round(adjusted_rand_score(truth, found.labels), 3),
            "ami": round(adjusted_mutual_info_score(truth, found.labels), 3),
            "groups": len(set(found.labels)),
            "recurring_groups": len(found.clusters),
            "seconds": round(time.perf_counter() - started, 2),
            "labels": [g.label for g in found.clusters],
        }
    rng = random.Random(0)
    chance = []
    for _ in range(200):
        shuffled = list(grouped)
        rng.shuffle(shuffled)
        chance.append(adjusted_rand_score(truth, shuffled))
    out["chance_ari_mean"] = round(statistics.fmean(chance), 3)
    return out


# -- the benchmark ----------------------------------------------------------------------------

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
KINDS = ("note", "action", "decision", "alert", "mitigation", "status_update")


def generate(store: IncidentStore, incidents: int, events: int, seed: int = 1) -> None:
    """A history of `incidents` incidents over a year, with `events` timeline events in all."""
    rng = random.Random(seed)
    now = store.now()
    services = [f"service-{i}" for i in range(40)]
    per = max(1, events // incidents)
    incident_rows, label_rows, role_rows, event_rows, follow_rows = [], [], [], [], []
    for n in range(1, incidents + 1):
        started = now - timedelta(days=rng.uniform(1, 365))
        detected = started + timedelta(minutes=rng.expovariate(1 / 20))
        declared = detected + timedelta(minutes=rng.expovariate(1 / 10))
        mitigated = detected + timedelta(minutes=rng.expovariate(1 / 90))
        resolved = mitigated + timedelta(minutes=rng.expovariate(1 / 120))
        incident_rows.append(
            {
                "number": n,
                "title": f"Incident {n}",
                "summary": "",
                "severity": rng.choice(SEVERITIES),
                "status": "resolved",
                "customer_impact": "",
                "started_at": started,
                "detected_at": detected,
                "declared_at": declared,
                "mitigated_at": mitigated,
                "resolved_at": resolved,
                "closed_at": None,
                "created_at": declared,
                "updated_at": resolved,
            }
        )
        for name in rng.sample(services, k=rng.randint(1, 3)):
            label_rows.append({"incident_number": n, "kind": "service", "name": name})
        role_rows.append(
            {
                "incident_number": n,
                "role": "incident_commander",
                "person": f"person-{rng.randint(1, 60)}",
                "assigned_at": declared,
                "relieved_at": None,
            }
        )
        span = (resolved - declared).total_seconds()
        for _ in range(per):
            at = declared + timedelta(seconds=rng.uniform(0, span))
            event_rows.append(
                {
                    "incident_number": n,
                    "kind": rng.choice(KINDS),
                    "text": "x",
                    "author": "someone",
                    "at": at,
                    "recorded_at": at,
                    "corrects_id": None,
                    "data": {},
                }
            )
        for k in range(2):
            follow_rows.append(
                {
                    "incident_number": n,
                    "title": f"Follow-up {n}.{k}",
                    "team": f"team-{rng.randint(1, 8)}",
                    "priority": "medium",
                    "status": rng.choice(("open", "in_progress", "done", "wont_do")),
                    "origin": "manual",
                    "created_at": resolved,
                    "updated_at": resolved,
                    "due_on": (resolved + timedelta(days=30)).date(),
                }
            )
    with store.write() as session:
        for model, rows in (
            (Incident, incident_rows),
            (Label, label_rows),
            (RoleAssignment, role_rows),
            (Event, event_rows),
            (FollowUp, follow_rows),
        ):
            for start in range(0, len(rows), 5000):
                session.execute(insert(model), rows[start : start + 5000])


def _p50(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench(incidents: int, events: int, repeat: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    with TemporaryDirectory() as tmp, IncidentStore(f"sqlite:///{tmp}/db.sqlite") as store:
        started = time.perf_counter()
        generate(store, incidents, events)
        generated_s = time.perf_counter() - started
        query = service.make_query(store, since="365d")

        def insights() -> Any:
            return service.insights(store=store, query=query, with_clusters=False)

        def plain_sql() -> Any:
            with store.read() as session:
                where = Incident.declared_at >= query.since
                session.execute(
                    select(Incident.severity, func.count()).where(where).group_by(Incident.severity)
                ).all()
                return session.execute(
                    select(
                        Incident.severity,
                        Incident.started_at,
                        Incident.detected_at,
                        Incident.declared_at,
                        Incident.mitigated_at,
                        Incident.resolved_at,
                    ).where(where)
                ).all()

        def every_event() -> Any:
            with store.read() as session:
                return session.execute(select(Event.incident_number, Event.kind, Event.at)).all()

        report = insights()
        with store.read() as session:
            counted = session.scalar(select(func.count()).select_from(Event))
        result = {
            "incidents": incidents,
            "events": counted,
            "generated_s": round(generated_s, 2),
            "repeat": repeat,
            "p50_s": {
                "insights": round(_p50(insights, repeat), 3),
                "plain_sql_baseline": round(_p50(plain_sql, repeat), 3),
                "load_every_event": round(_p50(every_event, repeat), 3),
            },
            "report_incidents": report.incidents.count,
            "at": now.isoformat(timespec="seconds"),
        }
        p = result["p50_s"]
        result["ratios"] = {
            "insights_over_plain_sql": round(p["insights"] / p["plain_sql_baseline"], 2),
            "insights_over_load_every_event": round(p["insights"] / p["load_every_event"], 2),
        }
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.insights")
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("clusters")
    p.add_argument("--corpus", type=Path, default=Path("../shared/corpora/dfds-postmortems"))
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("bench")
    p.add_argument("--incidents", type=int, default=10_000)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.what == "clusters":
        if not args.corpus.is_dir():
            print(f"error: no corpus at {args.corpus}", file=sys.stderr)
            return 2
        result = clusters_eval(args.corpus)
    else:
        result = bench(args.incidents, args.events, args.repeat)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
