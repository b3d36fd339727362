"""Load on the organisation topology: one replica and two behind the same client, on SQLite and on
PostgreSQL + a Chroma server, beside a /healthz baseline measured in the same run.

    python -m evals.load --topology [--seconds 3] [--quick] [--json]

Every process runs on 127.0.0.1 (evals/processes.py, the same helpers the topology test uses):
a throwaway PostgreSQL cluster (Debian's `postgresql` package; skipped, saying why, when it is
not installed), a Chroma server (`chroma run`) and `copilot serve` replicas. For each database
and replica count, each operation (healthz, search, ask, incident writes) runs at each level of
concurrent clients for a bounded time; a client sends its requests round-robin over the
replicas. Then `writers` clients add timeline events to incidents of their own for the same
time, and every acknowledged event is read back (lost = acknowledged but not found).

SQLite is measured with one replica only: it is the single-process default (one data
directory, one server); two replicas share PostgreSQL and the Chroma server.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from evals.common import load_jsonl
from evals.processes import (
    BIN,
    ChromaServer,
    PostgresCluster,
    Replica,
    base_env,
    find_bindir,
)

REPO = Path(__file__).resolve().parent.parent
OPERATIONS = ("healthz", "search", "ask", "incident_write")
# A request: (method, path, JSON body or None, the status that acknowledges it).
Request = tuple[str, str, dict[str, Any] | None, int]
MakeRequest = Callable[[int, int], Request]


def _requests(queries: list[str], tag: str) -> dict[str, MakeRequest]:
    """What each operation sends for request `i` of client `worker`."""

    def healthz(_i: int, _worker: int) -> Request:
        return ("GET", "/healthz", None, 200)

    # A new wording each time, so the query-embedding cache does not answer it.
    def search(i: int, _worker: int) -> Request:
        return ("POST", "/v1/search", {"query": f"{queries[i % len(queries)]} (request {i})"}, 200)

    def ask(i: int, _worker: int) -> Request:
        q = f"{queries[i % len(queries)]} (request {i})"
        return ("POST", "/v1/ask", {"question": q}, 200)

    def incident_write(i: int, worker: int) -> Request:
        body = {"title": f"load {tag} client {worker} incident {i}", "severity": "SEV3"}
        return ("POST", "/v1/incidents", body, 201)

    return {"healthz": healthz, "search": search, "ask": ask, "incident_write": incident_write}


def _summary(latencies: list[float], wall: float) -> dict[str, Any]:
    arr = np.asarray(latencies or [0.0])
    return {
        "throughput_rps": round(len(latencies) / wall, 2) if wall > 0 else 0.0,
        "p50_ms": round(float(statistics.median(arr)), 1),
        "p99_ms": round(float(np.percentile(arr, 99)), 1),
    }


class _Window:
    """The measured interval: it opens when every client is connected and ready (starting 32
    threads on a busy machine can take longer than a short window), and closes SECONDS later;
    requests in flight then finish and count, and the wall time runs until the last one ends."""

    def __init__(self, clients: int, seconds: float) -> None:
        self.seconds = seconds
        self.started = 0.0
        self._barrier = threading.Barrier(clients, action=self._open)

    def _open(self) -> None:
        self.started = time.perf_counter()

    def wait(self) -> None:
        self._barrier.wait()

    def open(self) -> bool:
        return time.perf_counter() < self.started + self.seconds

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def warm_up(urls: list[str], queries: list[str]) -> None:
    """One search and one ask per replica before measuring: the first loads the embedding
    model and builds the in-memory indexes (tens of seconds on a busy machine), which is start
    cost, not load."""
    for url in urls:
        with httpx.Client(base_url=url, timeout=600) as client:
            client.post("/v1/search", json={"query": queries[0]}).raise_for_status()
            client.post("/v1/ask", json={"question": queries[1]}).raise_for_status()


# Called, under the driver's lock, for each acknowledged request: (client, session, response).
OnAck = Callable[[int, httpx.Client, httpx.Response], None]


def _drive(
    urls: list[str], make: MakeRequest, clients: int, seconds: float, on_ack: OnAck
) -> tuple[list[float], dict[str, int], float]:
    """CLIENTS threads send requests for SECONDS, each round-robin over URLS.

    Returns the latencies (ms) of the acknowledged requests, the errors by kind, and the wall
    time of the window.
    """
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    window = _Window(clients, seconds)

    def worker(n: int) -> None:
        sessions = [httpx.Client(base_url=url, timeout=120) for url in urls]
        try:
            window.wait()
            i = 0
            while window.open():
                method, path, body, expected = make(i * clients + n, n)
                session = sessions[(i + n) % len(sessions)]
                i += 1
                started = time.perf_counter()
                r: httpx.Response | None = None
                try:
                    r = session.request(method, path, json=body)
                    why = None if r.status_code == expected else f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    why = type(exc).__name__
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if why is None and r is not None:
                        latencies.append(elapsed)
                        on_ack(n, session, r)
                    else:
                        key = why or "unknown"
                        errors[key] = errors.get(key, 0) + 1
        finally:
            for session in sessions:
                session.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, window.elapsed()


def drive(urls: list[str], make: MakeRequest, clients: int, seconds: float) -> dict[str, Any]:
    """CLIENTS threads send requests for SECONDS, each round-robin over URLS."""
    per_replica = dict.fromkeys(urls, 0)

    def count(_n: int, session: httpx.Client, _r: httpx.Response) -> None:
        per_replica[str(session.base_url).rstrip("/")] += 1

    latencies, errors, wall = _drive(urls, make, clients, seconds, count)
    error_count = sum(errors.values())
    return {
        "clients": clients,
        "attempted": len(latencies) + error_count,
        "ok": len(latencies),
        "errors": error_count,
        "error_kinds": errors,
        "ok_per_replica": list(per_replica.values()),
        **_summary(latencies, wall),
    }


def event_writes(urls: list[str], writers: int, seconds: float, tag: str) -> dict[str, Any]:
    """WRITERS clients add events to an incident each (round-robin over URLS); read them back."""
    with httpx.Client(base_url=urls[0], timeout=120) as client:
        incidents = []
        for n in range(writers):
            r = client.post(
                "/v1/incidents", json={"title": f"writers {tag} {n}", "severity": "SEV2"}
            )
            r.raise_for_status()
            incidents.append(str(r.json()["id"]))
    acked: dict[str, set[int]] = {incident: set() for incident in incidents}

    def make(i: int, worker: int) -> Request:
        return ("POST", f"/v1/incidents/{incidents[worker]}/events", {"text": f"event {i}"}, 201)

    # Keep the id of every acknowledged event, to read it back afterwards.
    def keep(n: int, _session: httpx.Client, r: httpx.Response) -> None:
        acked[incidents[n]].add(int(r.json()["id"]))

    latencies, errors, wall = _drive(urls, make, writers, seconds, keep)

    # Read back through the last replica: with two, half of each writer's events went via the other.
    read_back = 0
    with httpx.Client(base_url=urls[-1], timeout=120) as client:
        for incident, ids in acked.items():
            r = client.get(f"/v1/incidents/{incident}/events")
            r.raise_for_status()
            found = {int(e["id"]) for e in r.json()["events"]}
            read_back += len(ids & found)
    ok = len(latencies)
    error_count = sum(errors.values())
    return {
        "writers": writers,
        "attempted": ok + error_count,
        "acked": ok,
        "errors": error_count,
        "error_kinds": errors,
        "read_back": read_back,
        "lost": ok - read_back,
        **_summary(latencies, wall),
    }


def measure(
    urls: list[str],
    *,
    queries: list[str],
    levels: tuple[int, ...],
    seconds: float,
    writers: int,
    tag: str,
) -> dict[str, Any]:
    """Every operation at every level against URLS, then the event writers."""
    makers = _requests(queries, tag)
    warm_up(urls, queries)
    out: dict[str, Any] = {}
    for op in OPERATIONS:
        rows = [drive(urls, makers[op], n, seconds) for n in levels]
        out[op] = rows
    for op in OPERATIONS:
        for row, base in zip(out[op], out["healthz"], strict=True):
            row["x_healthz_rps"] = (
                round(row["throughput_rps"] / base["throughput_rps"], 3)
                if base["throughput_rps"]
                else None
            )
            row["x_healthz_p50"] = (
                round(row["p50_ms"] / base["p50_ms"], 1) if base["p50_ms"] else None
            )
    out["event_writes"] = event_writes(urls, writers, seconds, tag)
    return out


def _ingest(env: dict[str, str], data_dir: Path, corpus: Path) -> None:
    done = subprocess.run(
        [str(BIN / "copilot"), "ingest", str(corpus)],
        env={**env, "COPILOT_DATA_DIR": str(data_dir)},
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"copilot ingest failed: {done.stderr[-2000:]}")


@contextmanager
def _replicas(root: Path, env: dict[str, str], names: list[str]) -> Iterator[list[Replica]]:
    replicas = [Replica(name, root, env) for name in names]
    try:
        for replica in replicas:
            replica.start()
        for replica in replicas:
            replica.wait_ready()
        yield replicas
    finally:
        for replica in replicas:
            replica.stop()


def run(
    *,
    seconds: float = 3.0,
    levels: tuple[int, ...] = (1, 8, 32),
    writers: int = 16,
    databases: tuple[str, ...] = ("sqlite", "postgresql"),
    postgres_url: str | None = None,
    corpus: Path = REPO / "runbooks",
) -> dict[str, Any]:
    """The whole matrix; `postgres_url`: that empty database instead of a cluster of its own."""
    queries = [q["query"] for q in load_jsonl(REPO / "evals/datasets/runbooks.jsonl")]
    settings = {"COPILOT_RATE_LIMIT_PER_S": "0", "COPILOT_LLM": "extractive"}
    report: dict[str, Any] = {
        "cores": os.cpu_count(),
        "seconds": seconds,
        "levels": list(levels),
        "writers": writers,
        "databases": {},
        "skipped": {},
    }
    common: dict[str, Any] = {
        "queries": queries,
        "levels": levels,
        "seconds": seconds,
        "writers": writers,
    }
    with tempfile.TemporaryDirectory(prefix="copilot-load-topology-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        if "sqlite" in databases:
            sqlite_root = root / "sqlite"
            sqlite_root.mkdir()
            env = base_env(sqlite_root, **settings)
            _ingest(env, sqlite_root / "data-a", corpus)
            with _replicas(sqlite_root, env, ["a"]) as (a,):
                report["databases"]["sqlite"] = {
                    "replicas": {"1": measure([a.url], tag="sqlite-1", **common)}
                }
        if "postgresql" in databases:
            url = postgres_url
            if url is None:
                bindir = find_bindir()
                if bindir is None:
                    report["skipped"]["postgresql"] = "PostgreSQL is not installed (no pg_ctl)"
                else:
                    cluster = PostgresCluster(bindir)
                    stack.callback(cluster.stop)
                    cluster.start()
                    url = cluster.create_database()
            if url is not None:
                pg_root = root / "postgresql"
                pg_root.mkdir()
                chroma = ChromaServer(pg_root / "chroma")
                stack.callback(chroma.stop)
                chroma.start()
                env = base_env(
                    pg_root,
                    COPILOT_DATABASE_URL=url,
                    COPILOT_CHROMA_URL=chroma.url,
                    COPILOT_KB_REFRESH_S="5",
                    **settings,
                )
                _ingest(env, pg_root / "data-ingest", corpus)
                with _replicas(pg_root, env, ["a", "b"]) as (a, b):
                    report["databases"]["postgresql"] = {
                        "replicas": {
                            "1": measure([a.url], tag="pg-1", **common),
                            "2": measure([a.url, b.url], tag="pg-2", **common),
                        }
                    }
    return report


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['cores']} cores; {report['seconds']} s per cell; client threads share the "
        "machine with the servers"
    ]
    for db, found in report["databases"].items():
        for replicas, cells in found["replicas"].items():
            lines.append(f"\n{db}, {replicas} replica(s):")
            for op in OPERATIONS:
                for r in cells[op]:
                    ratio = "" if op == "healthz" else f" ({r['x_healthz_rps']}x healthz)"
                    lines.append(
                        f"  {op:14} {r['clients']:>3} clients: {r['throughput_rps']:8.1f} req/s"
                        f"{ratio}, p50 {r['p50_ms']:7.1f} ms, p99 {r['p99_ms']:7.1f} ms, "
                        f"{r['ok']} ok, {r['errors']} errors"
                    )
            w = cells["event_writes"]
            lines.append(
                f"  event writes, {w['writers']} writers: {w['throughput_rps']:.1f} events/s, "
                f"p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms, {w['acked']} acknowledged, "
                f"{w['read_back']} read back, {w['lost']} lost, {w['errors']} errors"
            )
    for db, why in report["skipped"].items():
        lines.append(f"\n{db}: skipped ({why})")
    return "\n".join(lines)


def failures(report: dict[str, Any]) -> int:
    """Errors plus lost writes over the whole report (target 0)."""
    total = 0
    for found in report["databases"].values():
        for cells in found["replicas"].values():
            total += sum(r["errors"] for op in OPERATIONS for r in cells[op])
            total += cells["event_writes"]["errors"] + cells["event_writes"]["lost"]
    return total
