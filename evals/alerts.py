"""Alert storm: grouping quality, noise reduction, runbooks attached, webhook throughput, memory.

    python -m evals.alerts [--seed 14] [--situations 6] [--noise 800] [--http 200]
                           [--noise-severity info] [--rules FILE.yaml] [--no-runbooks] [--json]

A seeded, replayable storm written as Alertmanager (version 4) payloads over four simulated
hours: a handful of real situations (each a burst of related alerts with several
prometheus-operator alert names on one service, resolved 20-60 min later), background noise
(single alerts on many services, a fifth of them flapping: firing, resolved, firing again),
and a Watchdog heartbeat every minute. Payloads are cut the way Alertmanager groups by service:
per service and 30-second slot. Ground truth is the situation each alert belongs to (each
noise alert is a situation of its own).

- grouping: the storm goes through `copilot.alerts.service.apply` with the packaged rules, in
  simulated time, into a temporary SQLite database; pairwise precision / recall / F1 of "same
  group" against "same situation", over every non-heartbeat alert;
- noise reduction: alerts per candidate; candidates made of noise alone;
- runbooks: for each situation alert name, whether the candidate's runbook is the
  prometheus-operator runbook of that name (its files ingested into a temporary knowledge base);
- throughput: the first `--http` payloads of the storm POSTed over loopback HTTP to a copilot
  served by uvicorn (a fresh database), p50/p99 latency per notification and alerts/s, beside
  `GET /healthz` on the same server in the same run;
- memory: the process's peak RSS after the storm (the embedding model included when runbooks
  are measured).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select

from copilot.alerts import intake, service
from copilot.alerts import models as am
from copilot.alerts.rules import load_rules
from copilot.alerts.runbooks import RunbookFinder
from copilot.alerts.schemas import AlertmanagerPayload
from copilot.incidents.db import IncidentStore

ROOT = Path(__file__).resolve().parent.parent
CORPUS = (
    ROOT.parent / "shared" / "corpora" / "prometheus-operator-runbooks" / "content" / "runbooks"
)
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
HOURS = 4
SLOT_S = 30
# Alert names a situation draws from, each with its runbook in the prometheus-operator corpus.
SITUATION_NAMES = {
    "KubePodCrashLooping": "kubernetes",
    "KubePodNotReady": "kubernetes",
    "KubeDeploymentReplicasMismatch": "kubernetes",
    "KubeContainerWaiting": "kubernetes",
    "KubeHpaMaxedOut": "kubernetes",
    "KubeJobFailed": "kubernetes",
    "NodeFilesystemSpaceFillingUp": "node",
    "NodeFilesystemAlmostOutOfSpace": "node",
    "NodeNetworkReceiveErrs": "node",
    "AlertmanagerFailedToSendAlerts": "alertmanager",
}
NOISE_NAMES = ("CertificateExpiringSoon", "BatchJobSlow", "QueueDepthHigh", "CacheHitRatioLow")


@dataclass
class Storm:
    payloads: list[tuple[datetime, dict[str, Any]]]
    truth: dict[str, str]  # fingerprint -> situation id
    noise: set[str] = field(default_factory=set)  # situation ids that are noise
    alerts: int = 0


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def generate(
    seed: int, situations: int, noise: int, services: int = 400, noise_severity: str = "info"
) -> Storm:
    rng = random.Random(seed)
    names = [f"svc-{i:03d}" for i in range(services)]
    end = T0 + timedelta(hours=HOURS)
    # (time, service, status, labels, startsAt, endsAt)
    events: list[tuple[datetime, str, dict[str, Any]]] = []
    truth: dict[str, str] = {}
    noise_ids: set[str] = set()

    def emit(
        at: datetime,
        svc: str,
        labels: dict[str, str],
        starts: datetime,
        ends: datetime | None,
        summary: str,
    ) -> None:
        events.append(
            (
                at,
                svc,
                {
                    "status": "resolved" if ends is not None else "firing",
                    "labels": labels,
                    "annotations": {"summary": summary},
                    "startsAt": _iso(starts),
                    "endsAt": _iso(ends) if ends is not None else "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus.example.test/graph",
                    "fingerprint": intake.fingerprint_of(labels),
                },
            )
        )

    hot = rng.sample(names, situations)
    for n, svc in enumerate(hot):
        sid = f"situation-{n}"
        start = T0 + timedelta(minutes=rng.uniform(10, HOURS * 60 - 70))
        chosen = rng.sample(sorted(SITUATION_NAMES), rng.randint(3, 6))
        size = rng.randint(60, 250)
        lasts = timedelta(minutes=rng.uniform(20, 60))
        for i in range(size):
            name = chosen[i % len(chosen)]
            labels = {
                "alertname": name,
                "service": svc,
                "pod": f"{svc}-{i}",
                "severity": rng.choice(("critical", "warning")),
            }
            starts = start + timedelta(seconds=rng.uniform(0, 420))
            truth[intake.fingerprint_of(labels)] = sid
            emit(starts, svc, labels, starts, None, f"{name} on {svc}")
            ends = starts + lasts
            emit(ends, svc, labels, starts, ends, f"{name} on {svc}")
    for n in range(noise):
        sid = f"noise-{n}"
        noise_ids.add(sid)
        svc = rng.choice(names)
        name = rng.choice(NOISE_NAMES)
        labels = {
            "alertname": name,
            "service": svc,
            "instance": f"i-{n}",
            "severity": noise_severity,
        }
        truth[intake.fingerprint_of(labels)] = sid
        starts = T0 + timedelta(minutes=rng.uniform(0, HOURS * 60 - 20))
        ends = starts + timedelta(minutes=rng.uniform(2, 8))
        emit(starts, svc, labels, starts, None, f"{name} on {svc}")
        emit(ends, svc, labels, starts, ends, f"{name} on {svc}")
        if rng.random() < 0.2:  # a flap: firing again a few minutes later, then resolved
            again = ends + timedelta(minutes=rng.uniform(1, 10))
            emit(again, svc, labels, again, None, f"{name} on {svc}")
            emit(
                again + timedelta(minutes=3),
                svc,
                labels,
                again,
                again + timedelta(minutes=3),
                f"{name} on {svc}",
            )
    minute = T0
    watchdog = {"alertname": "Watchdog", "severity": "none"}
    while minute < end:
        emit(minute, "monitoring", watchdog, T0, None, "heartbeat")
        minute += timedelta(minutes=1)
    # Alertmanager's cut: per service (its group_by) and slot.
    slots: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for at, svc, body in sorted(events, key=lambda e: e[0]):
        slots[(int((at - T0).total_seconds()) // SLOT_S, svc)].append(body)
    payloads = []
    for (slot, svc), alerts in sorted(slots.items()):
        at = T0 + timedelta(seconds=(slot + 1) * SLOT_S)
        firing = any(a["status"] == "firing" for a in alerts)
        payloads.append(
            (
                at,
                {
                    "version": "4",
                    "receiver": "copilot",
                    "status": "firing" if firing else "resolved",
                    "groupKey": f'{{}}:{{service="{svc}"}}',
                    "truncatedAlerts": 0,
                    "groupLabels": {"service": svc},
                    "commonLabels": {"service": svc},
                    "commonAnnotations": {},
                    "externalURL": "http://alertmanager.example.test",
                    "alerts": alerts,
                },
            )
        )
    return Storm(payloads=payloads, truth=truth, noise=noise_ids, alerts=len(truth))


class SimClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _pairs(groups: dict[str, int | None], truth: dict[str, str]) -> dict[str, float]:
    """Pairwise precision/recall/F1 of `groups` (fingerprint -> group) against `truth`."""
    both: Counter[tuple[int | None, str]] = Counter()
    by_group: Counter[int | None] = Counter()
    by_truth: Counter[str] = Counter()
    for fp, sid in truth.items():
        gid = groups.get(fp)
        key = gid if gid is not None else -hash(fp)  # ungrouped: a group of its own
        both[(key, sid)] += 1
        by_group[key] += 1
        by_truth[sid] += 1

    def pairs(counter: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    tp, predicted, actual = pairs(both), pairs(by_group), pairs(by_truth)
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def grouping(
    storm: Storm, workdir: Path, finder: RunbookFinder | None, rules_path: Path | None = None
) -> dict[str, Any]:
    rules = load_rules(rules_path)
    clock = SimClock()
    started = time.perf_counter()
    with IncidentStore(f"sqlite:///{workdir / 'storm.sqlite'}", clock=clock) as store:
        for at, body in storm.payloads:
            clock.now = at
            notification = intake.normalise(
                AlertmanagerPayload.model_validate(body), source="alertmanager"
            )
            service.apply(store=store, rules=rules, notification=notification)
        seconds = time.perf_counter() - started
        # Straight from the database: list_groups is bounded in groups and in the characters it
        # screens (past its budget, names read "not shown"), which would undercount the check.
        with store.read() as session:
            rows = session.execute(select(am.Alert.fingerprint, am.Alert.group_id)).all()
            assigned: dict[str, int | None] = {str(r[0]): r[1] for r in rows}
            candidate_ids = set(
                session.scalars(select(am.AlertGroup.id).where(am.AlertGroup.status == "candidate"))
            )
            # Names from the database: a list view withholds values past its screening budget.
            candidate_names = set(
                session.scalars(
                    select(am.Alert.alertname).where(am.Alert.group_id.in_(candidate_ids))
                )
            )
        scores = _pairs(assigned, storm.truth)
        members: dict[int, list[str]] = defaultdict(list)
        for fp, gid in assigned.items():
            if gid in candidate_ids and fp in storm.truth:
                members[gid].append(storm.truth[fp])
        pure_noise = sum(1 for sids in members.values() if all(s in storm.noise for s in sids))
        runbooks: dict[str, Any] = {"checked": 0, "correct": 0}
        if finder is not None:
            names = sorted(n for n in candidate_names if n in SITUATION_NAMES)
            for name in names:
                found = finder.find(name, {"summary": f"{name} firing"})
                runbooks["checked"] += 1
                runbooks["correct"] += bool(found and Path(found.chunk.source).stem == name)
            runbooks["accuracy"] = (
                round(runbooks["correct"] / runbooks["checked"], 4) if names else None
            )
    return {
        "payloads": len(storm.payloads),
        "alerts": storm.alerts,
        "situations": len({s for s in storm.truth.values() if s not in storm.noise}),
        "noise_alerts": len(storm.noise),
        "apply_seconds": round(seconds, 2),
        "grouping": scores,
        "candidates": len(candidate_ids),
        "alerts_per_candidate": round(sum(len(v) for v in members.values()) / len(candidate_ids), 2)
        if candidate_ids
        else None,
        "pure_noise_candidates": pure_noise,
        "runbooks": runbooks,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def throughput(storm: Storm, workdir: Path, count: int) -> dict[str, Any]:
    from copilot.api.app import create_app
    from copilot.settings import Settings

    settings = Settings(data_dir=workdir / "http", rate_limit_per_s=0, _env_file=None)
    store = IncidentStore(settings.sqlalchemy_url)
    app = create_app(settings, incident_store=store, load_knowledge=False, bind_host="127.0.0.1")
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            bodies = [body for _, body in storm.payloads[:count]]
            hook: list[float] = []
            alerts = 0
            started = time.perf_counter()
            for body in bodies:
                t = time.perf_counter()
                response = client.post("/v1/alerts/alertmanager", json=body)
                hook.append(time.perf_counter() - t)
                if response.status_code != 200:
                    raise RuntimeError(
                        f"webhook answered {response.status_code}: {response.text[:200]}"
                    )
                alerts += len(body["alerts"])
            wall = time.perf_counter() - started
            health: list[float] = []
            for _ in bodies:
                t = time.perf_counter()
                client.get("/healthz")
                health.append(time.perf_counter() - t)
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "notifications": len(hook),
        "alerts": alerts,
        "alerts_per_s": round(alerts / wall, 1),
        "webhook_p50_ms": round(1000 * statistics.median(hook), 2),
        "webhook_p99_ms": pct(hook, 0.99),
        "healthz_p50_ms": round(1000 * statistics.median(health), 2),
        "healthz_p99_ms": pct(health, 0.99),
    }


def _finder(workdir: Path) -> RunbookFinder | None:
    if not CORPUS.is_dir():
        return None
    from copilot.embedding import Embedder
    from copilot.knowledge.store import KnowledgeBase
    from copilot.settings import Settings
    from ingest.pipeline import ingest_paths

    settings = Settings(data_dir=workdir / "kb", _env_file=None)
    kb = KnowledgeBase(settings, Embedder())
    ingest_paths(
        kb,
        [CORPUS / folder / f"{name}.md" for name, folder in SITUATION_NAMES.items()],
        progress=False,
    )
    return RunbookFinder(kb)


def run(
    seed: int,
    situations: int,
    noise: int,
    http: int,
    runbooks: bool,
    *,
    noise_severity: str = "info",
    rules_path: Path | None = None,
) -> dict[str, Any]:
    storm = generate(seed, situations, noise, noise_severity=noise_severity)
    with tempfile.TemporaryDirectory(prefix="copilot-alerts-") as tmp:
        workdir = Path(tmp)
        finder = _finder(workdir) if runbooks else None
        result = grouping(storm, workdir, finder, rules_path)
        result["http"] = throughput(storm, workdir, http) if http else None
        if finder is not None:
            finder.kb.close()
    result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["seed"] = seed
    result["noise_severity"] = noise_severity
    result["rules"] = str(rules_path) if rules_path else "packaged"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.alerts", description=__doc__)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--situations", type=int, default=6)
    parser.add_argument("--noise", type=int, default=800)
    parser.add_argument("--http", type=int, default=200, help="payloads sent over HTTP (0: none)")
    parser.add_argument("--no-runbooks", action="store_true", help="skip the runbook check")
    parser.add_argument(
        "--noise-severity",
        default="info",
        help="the severity label of noise alerts (info: as kube-prometheus labels context)",
    )
    parser.add_argument("--rules", type=Path, help="correlation rules (default: packaged)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(
        args.seed,
        args.situations,
        args.noise,
        args.http,
        not args.no_runbooks,
        noise_severity=args.noise_severity,
        rules_path=args.rules,
    )
    if args.json:
        print(json.dumps(result))
        return 0
    g = result["grouping"]
    print(
        f"storm: {result['alerts']} alerts in {result['payloads']} payloads "
        f"({result['situations']} situations, {result['noise_alerts']} noise alerts), "
        f"applied in {result['apply_seconds']} s"
    )
    print(f"grouping: precision {g['precision']}, recall {g['recall']}, F1 {g['f1']}")
    print(
        f"candidates: {result['candidates']} ({result['alerts_per_candidate']} alerts each), "
        f"{result['pure_noise_candidates']} of noise alone"
    )
    rb = result["runbooks"]
    if rb.get("checked"):
        print(f"runbooks: {rb['correct']} of {rb['checked']} alert names got their own runbook")
    h = result["http"]
    if h:
        print(
            f"webhook over loopback: {h['alerts_per_s']} alerts/s, p50 {h['webhook_p50_ms']} ms, "
            f"p99 {h['webhook_p99_ms']} ms per notification; /healthz p50 "
            f"{h['healthz_p50_ms']} ms, p99 {h['healthz_p99_ms']} ms"
        )
    print(f"peak RSS: {result['max_rss_mb']} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
