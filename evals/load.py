"""Load benchmark: search and ask over loopback HTTP at 1, 8 and 32 concurrent clients.

    python -m evals.load [--seconds 10] [--json]
    python -m evals.load --topology [--seconds 3] [--quick] [--json]   (see evals/load_topology.py)

Starts `copilot serve` on 127.0.0.1 (a free port, a temporary data dir with the sample runbooks
ingested), drives it from threads for a bounded time per level, and prints throughput, p50/p99
latency and the error count (target 0). Traffic never leaves this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from evals.common import load_jsonl

REPO = Path(__file__).resolve().parent.parent
LEVELS = (1, 8, 32)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(data: Path, port: int) -> subprocess.Popen[bytes]:
    # The per-client rate limit is policy, not capacity: off here so the figures show capacity.
    env = {**os.environ, "COPILOT_DATA_DIR": str(data), "COPILOT_RATE_LIMIT_PER_S": "0"}
    subprocess.run(
        [sys.executable, "-m", "copilot", "ingest", str(REPO / "runbooks")],
        env=env,
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "copilot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the server exited during start")
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not become ready within 120 s")


def _drive(
    base: str,
    path: str,
    bodies: list[dict[str, Any]],
    clients: int,
    seconds: float,
    *,
    unique: bool,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(offset: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            i = offset
            while time.monotonic() < stop:
                body = dict(bodies[i % len(bodies)])
                if unique:
                    # A new wording each time, so the query-embedding cache does not answer it.
                    body.update({k: f"{v} (request {i})" for k, v in body.items()})
                i += clients
                started = time.perf_counter()
                try:
                    r = client.post(path, json=body)
                    ok = r.status_code == 200
                    why = f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    ok, why = False, type(exc).__name__
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    (latencies.append(elapsed) if ok else errors.append(why))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    arr = np.asarray(latencies or [0.0])
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "throughput_rps": round(len(latencies) / wall, 2),
        "p50_ms": round(float(statistics.median(arr)), 1),
        "p99_ms": round(float(np.percentile(arr, 99)), 1),
    }


def run(seconds: float, *, unique: bool = True) -> dict[str, Any]:
    queries = [q["query"] for q in load_jsonl(REPO / "evals/datasets/runbooks.jsonl")]
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="copilot-load-") as tmp:
        proc = _start_server(Path(tmp), port)
        try:
            base = f"http://127.0.0.1:{port}"
            out: dict[str, Any] = {}
            for path, key in (("/v1/search", "query"), ("/v1/ask", "question")):
                bodies = [{key: q} for q in queries]
                out[path] = [_drive(base, path, bodies, n, seconds, unique=unique) for n in LEVELS]
            return out
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.load", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per level and endpoint")
    parser.add_argument(
        "--repeat-queries",
        action="store_true",
        help="cycle the eval queries verbatim (the query-embedding cache then answers most)",
    )
    parser.add_argument(
        "--topology",
        action="store_true",
        help="one and two replicas on SQLite and on PostgreSQL + a Chroma server, beside /healthz",
    )
    parser.add_argument(
        "--quick", action="store_true", help="with --topology: CI-smoke sizes (1 and 4 clients)"
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        action="append",
        help="with --topology: only these databases (default both)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.topology:
        return _topology(args)
    result = run(args.seconds, unique=not args.repeat_queries)
    if args.json:
        print(json.dumps(result))
        return 0
    for path, rows in result.items():
        base = rows[0]["throughput_rps"] or 1.0
        for r in rows:
            print(
                f"{path:11} {r['clients']:>3} clients: {r['throughput_rps']:7.1f} req/s "
                f"({r['throughput_rps'] / base:.2f}x one client), "
                f"p50 {r['p50_ms']:7.1f} ms, p99 {r['p99_ms']:7.1f} ms, "
                f"{r['requests']} ok, {r['errors']} errors"
            )
    errors = sum(r["errors"] for rows in result.values() for r in rows)
    return 1 if errors else 0


def _topology(args: argparse.Namespace) -> int:
    from evals import load_topology

    databases = tuple(args.database or ("sqlite", "postgresql"))
    if args.quick:
        seconds = 0.5 if args.seconds == 10.0 else args.seconds
        report = load_topology.run(seconds=seconds, levels=(1, 4), writers=4, databases=databases)
    else:
        seconds = 3.0 if args.seconds == 10.0 else args.seconds
        report = load_topology.run(seconds=seconds, databases=databases)
    print(json.dumps(report) if args.json else load_topology.render(report))
    return 1 if load_topology.failures(report) else 0


if __name__ == "__main__":
    sys.exit(main())
