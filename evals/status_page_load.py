"""Load benchmark of the public status page, beside /healthz in the same run.

    python -m evals.status_page_load [--seconds 5] [--update-every 2] [--reingest] [--json]

Starts `copilot serve` on 127.0.0.1 (a free port, a temporary data dir with the sample runbooks
ingested), declares an incident and keeps publishing public updates to it from a background
thread (every 2 s by default, each moving a component: far more often than a real incident),
and drives `GET /status`, `GET /status/api/v2/summary.json` and `GET /healthz` at 1, 32 and 128
concurrent clients. Prints requests/s, p50/p99 latency, the ratio of each to /healthz at the
same level, and the errors (target 0): a response that is not 200, or a page that does not show
the incident. `--reingest` also rebuilds the knowledge base through the server while the load
runs. Traffic never leaves this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from evals.load import REPO, _free_port, _start_server

LEVELS = (1, 32, 128)
PATHS = ("/healthz", "/status", "/status/api/v2/summary.json")
STATUSES = ("partial_outage", "major_outage", "degraded_performance")


def _correct(path: str, response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    if path == "/status":
        return "Active incidents" in response.text
    if path.endswith("summary.json"):
        body = response.json()
        return len(body["incidents"]) == 1 and body["status"]["indicator"] != "none"
    return True


def _drive(base: str, path: str, clients: int, seconds: float) -> dict[str, Any]:
    """`clients` concurrent connections from one event loop (threads would make the client,
    not the server, the bottleneck at 128 on a small machine)."""
    latencies: list[float] = []
    errors: list[str] = []

    async def drive() -> float:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            stop = time.monotonic() + seconds

            async def worker() -> None:
                while time.monotonic() < stop:
                    started = time.perf_counter()
                    try:
                        r = await client.get(path)
                        ok, why = _correct(path, r), f"HTTP {r.status_code} or wrong content"
                    except httpx.HTTPError as exc:
                        ok, why = False, type(exc).__name__
                    elapsed = (time.perf_counter() - started) * 1000
                    (latencies.append(elapsed) if ok else errors.append(why))

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(clients)))
            return time.perf_counter() - began

    wall = asyncio.run(drive())
    arr = np.asarray(latencies or [0.0])
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "throughput_rps": round(len(latencies) / wall, 2),
        "p50_ms": round(float(statistics.median(arr)), 1),
        "p99_ms": round(float(np.percentile(arr, 99)), 1),
        "error_kinds": sorted(set(errors)),
    }


class Updater(threading.Thread):
    """Publishes a public update every `every` seconds, each setting Checkout's status anew."""

    def __init__(self, base: str, incident_id: str, every: float) -> None:
        super().__init__(daemon=True)
        self.base, self.incident_id, self.every = base, incident_id, every
        self.stopped = threading.Event()
        self.published = 0
        self.errors: list[str] = []

    def run(self) -> None:
        url = f"/v1/incidents/{self.incident_id}/status-updates"
        with httpx.Client(base_url=self.base, timeout=60) as client:
            i = 0
            while not self.stopped.is_set():
                d = client.post(url, json={"audience": "public"})
                if d.status_code != 201:
                    self.errors.append(f"draft: HTTP {d.status_code}")
                else:
                    status = STATUSES[i % len(STATUSES)]
                    p = client.post(
                        f"{url}/{d.json()['id']}/publish",
                        json={"components": {"Checkout": status}},
                    )
                    if p.status_code == 200:
                        self.published += 1
                    else:
                        self.errors.append(f"publish: HTTP {p.status_code}")
                i += 1
                self.stopped.wait(self.every)


def _incident(base: str) -> str:
    r = httpx.post(
        f"{base}/v1/incidents",
        json={
            "title": "Checkout errors",
            "severity": "SEV2",
            "services": ["checkout-api"],
            "customer_impact": "Some customers cannot complete checkout.",
        },
        timeout=60,
    )
    r.raise_for_status()
    return str(r.json()["id"])


def run(seconds: float, *, every: float = 2.0, reingest: bool = False) -> dict[str, Any]:
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="copilot-status-load-") as tmp:
        data = Path(tmp)
        # The server may re-ingest the sample runbooks (for --reingest) from where they are.
        saved = os.environ.get("COPILOT_INGEST_ROOTS")
        os.environ["COPILOT_INGEST_ROOTS"] = json.dumps([str(REPO / "runbooks")])
        try:
            proc = _start_server(data, port)
        finally:
            if saved is None:
                os.environ.pop("COPILOT_INGEST_ROOTS", None)
            else:
                os.environ["COPILOT_INGEST_ROOTS"] = saved
        base = f"http://127.0.0.1:{port}"
        ingest: subprocess.Popen[bytes] | None = None
        updater = Updater(base, _incident(base), every)
        try:
            updater.start()
            time.sleep(1.0)  # the first update is on the page
            # Warm-up, not measured: the first screening of text fits the guardrails' semantic
            # detector once per process (seconds), which no later request pays.
            for path in PATHS:
                httpx.get(base + path, timeout=120)
            if reingest:
                env = {**os.environ, "COPILOT_DATA_DIR": str(data)}
                ingest = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "copilot",
                        "ingest",
                        str(REPO / "runbooks"),
                        "--rebuild",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            out: dict[str, Any] = {"paths": {}}
            for n in LEVELS:
                for path in PATHS:
                    out["paths"].setdefault(path, []).append(_drive(base, path, n, seconds))
            out["updates_published"] = updater.published
            out["update_errors"] = updater.errors[:10]
            if ingest is not None:
                _, err = ingest.communicate(timeout=600)
                out["reingest_exit"] = ingest.returncode
                if ingest.returncode:
                    out["reingest_error"] = err.decode(errors="replace").strip()[-300:]
            return out
        finally:
            updater.stopped.set()
            updater.join(timeout=30)
            if ingest is not None and ingest.poll() is None:
                ingest.terminate()
            proc.terminate()
            proc.wait(timeout=30)


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "n/a"


def report(result: dict[str, Any], say: Callable[[str], None]) -> None:
    health = result["paths"]["/healthz"]
    for path, rows in result["paths"].items():
        for row, h in zip(rows, health, strict=True):
            say(
                f"{path:28} {row['clients']:>3} clients: {row['throughput_rps']:7.1f} req/s "
                f"({_ratio(row['throughput_rps'], h['throughput_rps'])} of /healthz), "
                f"p50 {row['p50_ms']:7.1f} ms, p99 {row['p99_ms']:7.1f} ms "
                f"({_ratio(row['p99_ms'], h['p99_ms'])}), "
                f"{row['requests']} ok, {row['errors']} errors"
                + (f" ({', '.join(row['error_kinds'])})" if row["errors"] else "")
            )
    say(f"public updates published during the run: {result['updates_published']}")
    if result["update_errors"]:
        say(f"update errors: {result['update_errors']}")
    if "reingest_exit" in result:
        say(f"re-ingest through the server during the run: exit {result['reingest_exit']}")
        if result.get("reingest_error"):
            say(f"  {result['reingest_error']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.status_page_load", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="per level and path")
    parser.add_argument(
        "--update-every", type=float, default=2.0, help="seconds between published updates"
    )
    parser.add_argument(
        "--reingest", action="store_true", help="rebuild the knowledge base meanwhile"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.seconds, every=args.update_every, reingest=args.reingest)
    if args.json:
        print(json.dumps(result))
    else:
        report(result, print)
    errors = sum(r["errors"] for rows in result["paths"].values() for r in rows)
    return 1 if errors or result["update_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
