"""The organisation topology as processes: PostgreSQL, a Chroma server and two `copilot serve`
replicas on loopback sharing them (what deploy/docker-compose.yml runs in containers).

One test walks the issue's contract in order: the compose file's own init script migrates and
ingests; a key made with `copilot keys create` works on both replicas and no key gets 401 on
both; a document ingested through one replica is found through the other; clients write through
both while one replica is SIGKILLed; the other keeps answering; every acknowledged write is there;
the killed replica restarts and serves. Nothing here asserts a duration: deadlines only bound a
wait for something that should happen.
"""

from __future__ import annotations

import logging
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

from evals.processes import (
    BIN,
    ChromaServer,
    PostgresCluster,
    Replica,
    ReplicaExited,
    base_env,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
log = logging.getLogger(__name__)

pytestmark = pytest.mark.slow

# A knowledge base small enough to embed quickly, laid out as the image has it (/app/runbooks).
RUNBOOKS = ["checkout-error-rate-high.md", "api-gateway-5xx-spike.md", "cdn-edge-high-latency.md"]
POSTMORTEMS = ["2026-02-03-checkout-outage-pgbouncer-pool-exhaustion.md"]
NEW_DOC = """---
title: Quasar ledger reconciliation stuck
kind: runbook
---
# Quasar ledger reconciliation stuck

## Symptoms

The quasar ledger reconciliation job stops advancing and the zorblax backlog grows.

## Mitigation

Restart the reconciliation worker and watch the zorblax backlog drain.
"""


def wait_for(what: str, check: Callable[[], bool], *, deadline_s: float = 120.0) -> None:
    """Poll CHECK until it holds; fail saying WHAT did not happen. A bound, not a measurement."""
    try:
        wait_until(what, check, deadline_s=deadline_s)
    except (TimeoutError, ReplicaExited) as exc:
        pytest.fail(str(exc))


@dataclass
class Topology:
    root: Path
    app_runbooks: Path
    env: dict[str, str]
    chroma_url: str
    replicas: list[Replica] = field(default_factory=list)

    def cli(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "COPILOT_DATA_DIR": str(self.root / "data-cli")}
        return subprocess.run(
            [str(BIN / "copilot"), *argv],
            env=env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=300,
        )


def copy_knowledge_base(app_runbooks: Path) -> None:
    for name in RUNBOOKS:
        (app_runbooks / "runbooks").mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "runbooks" / "runbooks" / name, app_runbooks / "runbooks" / name)
    for name in POSTMORTEMS:
        (app_runbooks / "postmortems").mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "runbooks" / "postmortems" / name, app_runbooks / "postmortems" / name)
    shutil.copytree(REPO / "runbooks" / "catalog", app_runbooks / "catalog")


@pytest.fixture
def topology(tmp_path: Path, postgres_cluster: PostgresCluster) -> Iterator[Topology]:
    database_url = postgres_cluster.create_database()
    chroma = ChromaServer(tmp_path / "chroma-server")
    topo: Topology | None = None
    try:
        chroma.start()
        app_runbooks = tmp_path / "app" / "runbooks"
        copy_knowledge_base(app_runbooks)
        env = base_env(
            tmp_path,
            COPILOT_DATABASE_URL=database_url,
            COPILOT_CHROMA_URL=chroma.url,
            COPILOT_INGEST_ROOTS=f'["{app_runbooks}"]',
            # Small, so a change through one replica reaches the other quickly.
            COPILOT_KB_REFRESH_S="0.5",
            # The per-key rate limit is policy, and per replica: off, so load is not refused.
            COPILOT_RATE_LIMIT_PER_S="0",
        )
        topo = Topology(root=tmp_path, app_runbooks=app_runbooks, env=env, chroma_url=chroma.url)
        topo.replicas = [Replica("a", tmp_path, env), Replica("b", tmp_path, env)]
        yield topo
    finally:
        # Always: no replica or server outlives the test, whatever failed.
        if topo is not None:
            for replica in topo.replicas:
                replica.stop()
        chroma.stop()
        postgres_cluster.drop_database(database_url)


def init_script(app_runbooks: Path) -> str:
    """The compose file's one-shot init script, with the image's /app/runbooks put here."""
    data = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))
    argv = data["services"]["init"]["command"]
    assert argv[:2] == ["sh", "-ec"]
    return str(argv[2]).replace("/app/runbooks", str(app_runbooks))


@dataclass
class Writes:
    """What writers had acknowledged (2xx) and what failed, per replica."""

    incidents: dict[str, str] = field(default_factory=dict)  # incident id -> title
    events: dict[int, tuple[str, str]] = field(default_factory=dict)  # event id -> (incident, text)
    acked: dict[str, int] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, replica: str) -> None:
        with self.lock:
            self.acked[replica] = self.acked.get(replica, 0) + 1

    def fail(self, replica: str, what: str) -> None:
        with self.lock:
            self.failures.setdefault(replica, []).append(what)

    def count(self, replica: str) -> int:
        with self.lock:
            return self.acked.get(replica, 0)


def writer(replica: Replica, key: str, n: int, writes: Writes, stop: threading.Event) -> None:
    """Declare incidents and add timeline events through one replica until told to stop."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=replica.url, headers=headers, timeout=60) as client:
        i = 0
        while not stop.is_set():
            i += 1
            title = f"topology writer {replica.name}{n} incident {i}"
            try:
                r = client.post("/v1/incidents", json={"title": title, "severity": "SEV3"})
            except httpx.TransportError as exc:
                writes.fail(replica.name, f"create: {type(exc).__name__}")
                time.sleep(0.05)
                continue
            if r.status_code != 201:
                writes.fail(replica.name, f"create: {r.status_code} {r.text[:200]}")
                continue
            incident_id = r.json()["id"]
            with writes.lock:
                writes.incidents[incident_id] = title
            writes.ack(replica.name)
            for j in range(3):
                text = f"{title} event {j}"
                try:
                    e = client.post(f"/v1/incidents/{incident_id}/events", json={"text": text})
                except httpx.TransportError as exc:
                    writes.fail(replica.name, f"event: {type(exc).__name__}")
                    break
                if e.status_code != 201:
                    writes.fail(replica.name, f"event: {e.status_code} {e.text[:200]}")
                    break
                with writes.lock:
                    writes.events[e.json()["id"]] = (incident_id, text)
                writes.ack(replica.name)


def assert_all_present(replica: Replica, key: str, writes: Writes) -> None:
    """Every acknowledged incident and event reads back through REPLICA, unchanged."""
    by_incident: dict[str, dict[int, str]] = {}
    for event_id, (incident_id, text) in writes.events.items():
        by_incident.setdefault(incident_id, {})[event_id] = text
    with httpx.Client(
        base_url=replica.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as client:
        for incident_id, title in writes.incidents.items():
            r = client.get(f"/v1/incidents/{incident_id}")
            assert r.status_code == 200, (replica.name, incident_id, r.text)
            assert r.json()["title"] == title
            events = client.get(f"/v1/incidents/{incident_id}/events")
            assert events.status_code == 200
            found = {e["id"]: e["text"] for e in events.json()["events"]}
            for event_id, text in by_incident.get(incident_id, {}).items():
                assert found.get(event_id) == text, (replica.name, incident_id, event_id)


def search_finds(replica: Replica, key: str, query: str, title: str) -> bool:
    r = httpx.post(
        f"{replica.url}/v1/search",
        json={"query": query, "top_k": 3},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return any(hit["title"] == title for hit in r.json()["results"])


def chroma_probe_paths() -> set[str]:
    """The paths the compose healthcheck and the Kubernetes probes ask the Chroma server."""
    deploy = REPO / "deploy"
    compose = yaml.safe_load((deploy / "docker-compose.yml").read_text(encoding="utf-8"))
    test = " ".join(compose["services"]["chroma"]["healthcheck"]["test"])
    paths = set(re.findall(r"http://127\.0\.0\.1:\d+(/[\w/]+)", test))
    for doc in yaml.safe_load_all((deploy / "k8s" / "chroma.yaml").read_text(encoding="utf-8")):
        if doc["kind"] == "StatefulSet":
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            paths |= {container[p]["httpGet"]["path"] for p in ("readinessProbe", "livenessProbe")}
    return paths


def test_two_replicas_share_postgres_and_chroma_and_survive_a_sigkill(topology: Topology) -> None:
    a, b = topology.replicas

    # The deployment files' Chroma health checks ask a path this chromadb's server answers.
    paths = chroma_probe_paths()
    assert paths
    for path in paths:
        assert httpx.get(topology.chroma_url + path, timeout=10).status_code == 200, path

    # The compose file's init: opening the database migrates it, then ingest, catalog, postmortems
    # and the first admin key (made because none exists).
    done = subprocess.run(
        ["sh", "-ec", init_script(topology.app_runbooks)],
        env={**topology.env, "COPILOT_DATA_DIR": str(topology.root / "data-init")},
        cwd=topology.root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert '"bootstrap-admin"' in done.stdout

    # A key made with `copilot keys create` against the shared database.
    made = topology.cli(
        "keys",
        "create",
        "topology",
        "--scope",
        "read",
        "--scope",
        "respond",
        "--scope",
        "admin",
        "--json",
    )
    assert made.returncode == 0, made.stderr
    key = str(yaml.safe_load(made.stdout)["key"])

    for replica in (a, b):
        replica.start()
    for replica in (a, b):
        wait_for(f"replica {replica.name} ready", replica.ready, deadline_s=240)
        checks = httpx.get(f"{replica.url}/readyz", timeout=10).json()["checks"]
        assert checks["database"] and checks["vectors"], checks

    # The key works on both replicas; no key, or a wrong one, gets 401 on both.
    for replica in (a, b):
        ok = httpx.get(f"{replica.url}/v1/incidents", headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200, (replica.name, ok.text)
        assert httpx.get(f"{replica.url}/v1/incidents").status_code == 401
        wrong = httpx.get(f"{replica.url}/v1/incidents", headers={"X-API-Key": key + "x"})
        assert wrong.status_code == 401
        # What init ingested is searchable through both.
        assert search_finds(replica, key, "checkout error rate high", "Checkout error rate high")

    # A document ingested through A is found through B, once B has read the new KB version.
    new_dir = topology.app_runbooks / "incoming"
    new_dir.mkdir()
    (new_dir / "quasar-ledger-reconciliation.md").write_text(NEW_DOC, encoding="utf-8")
    title = "Quasar ledger reconciliation stuck"
    query = "quasar ledger reconciliation zorblax backlog"
    assert not search_finds(b, key, query, title)
    ingested = httpx.post(
        f"{a.url}/v1/admin/ingest",
        json={"paths": [str(new_dir)]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=300,
    )
    assert ingested.status_code == 200, ingested.text
    wait_for("B finding what was ingested through A", lambda: search_finds(b, key, query, title))

    # Clients write through both; A is killed mid-load; B keeps answering.
    writes = Writes()
    stop = threading.Event()
    threads = [
        threading.Thread(target=writer, args=(replica, key, n, writes, stop), daemon=True)
        for replica in (a, b)
        for n in range(3)
    ]
    for thread in threads:
        thread.start()
    try:
        wait_for(
            "writes acknowledged by both", lambda: min(writes.count("a"), writes.count("b")) >= 20
        )
        a.kill()
        assert a.proc is not None and a.proc.returncode == -signal.SIGKILL
        after_kill = writes.count("b")
        wait_for(
            "B acknowledging writes after A died", lambda: writes.count("b") >= after_kill + 40
        )
        wait_for("A's writers seeing A gone", lambda: bool(writes.failures.get("a")))
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    assert writes.failures.get("b", []) == [], writes.failures["b"][:5]
    log.info(
        "acknowledged: A %d, B %d (incidents %d, events %d); A's failures after SIGKILL: %d",
        writes.count("a"),
        writes.count("b"),
        len(writes.incidents),
        len(writes.events),
        len(writes.failures.get("a", [])),
    )
    log.info("peak RSS of replica B: %s MB", b.peak_rss_mb())

    # Every acknowledged write is there, through the survivor.
    assert_all_present(b, key, writes)

    # The killed replica restarts on the same port and serves: the writes, the key, the new doc.
    a.start()
    a.wait_ready()
    assert_all_present(a, key, writes)
    assert httpx.get(f"{a.url}/v1/incidents").status_code == 401
    assert search_finds(a, key, query, title)
    log.info("peak RSS of replica A after restart: %s MB", a.peak_rss_mb())
