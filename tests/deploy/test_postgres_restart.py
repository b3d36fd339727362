"""PostgreSQL restarted under load: a `copilot serve` on it answers 503 with a plain message while
the database is down (never a 500, never a traceback), serves again once it is back without being
restarted itself, and every write it acknowledged is there afterwards.

The session's cluster is stopped and started again (same port, same data); other tests' databases
in it are untouched. Nothing here asserts a duration: deadlines only bound waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from copilot.db import DATABASE_DOWN
from evals.processes import PostgresCluster, Replica, base_env
from tests.deploy.test_topology import wait_for

pytestmark = pytest.mark.slow


@dataclass
class Outcomes:
    """Acknowledged writes (2xx) and every other answer, as (status, body)."""

    incidents: dict[str, str] = field(default_factory=dict)
    events: dict[int, tuple[str, str]] = field(default_factory=dict)
    refused: list[tuple[int, str]] = field(default_factory=list)
    transport: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acked(self) -> int:
        with self.lock:
            return len(self.incidents) + len(self.events)

    def refusals(self) -> int:
        with self.lock:
            return len(self.refused)


def writer(url: str, n: int, out: Outcomes, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        i = 0
        incident: str | None = None
        while not stop.is_set():
            i += 1
            try:
                if incident is None or i % 4 == 0:
                    title = f"restart writer {n} incident {i}"
                    r = client.post("/v1/incidents", json={"title": title, "severity": "SEV2"})
                    if r.status_code == 201:
                        incident = str(r.json()["id"])
                        with out.lock:
                            out.incidents[incident] = title
                        continue
                else:
                    text = f"writer {n} event {i}"
                    r = client.post(f"/v1/incidents/{incident}/events", json={"text": text})
                    if r.status_code == 201:
                        with out.lock:
                            out.events[int(r.json()["id"])] = (incident, text)
                        continue
                with out.lock:
                    out.refused.append((r.status_code, r.text))
                time.sleep(0.05)
            except httpx.TransportError as exc:
                with out.lock:
                    out.transport.append(type(exc).__name__)
                time.sleep(0.05)


@pytest.fixture
def replica(tmp_path: Path, postgres_cluster: PostgresCluster) -> Iterator[Replica]:
    url = postgres_cluster.create_database()
    env = base_env(tmp_path, COPILOT_DATABASE_URL=url, COPILOT_RATE_LIMIT_PER_S="0")
    server = Replica("a", tmp_path, env).start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        # Whatever failed, the session's cluster is left running for the tests after this one.
        if not _accepting(postgres_cluster):
            postgres_cluster.start_server()
        postgres_cluster.drop_database(url)


def _accepting(cluster: PostgresCluster) -> bool:
    try:
        cluster.admin().execute("SELECT 1")
        return True
    except Exception:
        return False


def test_postgres_restart_under_load_is_503_then_recovers_losing_nothing(
    replica: Replica, postgres_cluster: PostgresCluster
) -> None:
    out = Outcomes()
    stop = threading.Event()
    threads = [
        threading.Thread(target=writer, args=(replica.url, n, out, stop), daemon=True)
        for n in range(3)
    ]
    for thread in threads:
        thread.start()
    try:
        wait_for("writes acknowledged before the restart", lambda: out.acked() >= 30)
        postgres_cluster.stop_server()
        wait_for("writers refused while PostgreSQL is down", lambda: out.refusals() >= 10)

        # Reads are refused the same way, and /readyz says the database is not there.
        listed = httpx.get(f"{replica.url}/v1/incidents", timeout=60)
        assert listed.status_code == 503, listed.text
        assert listed.json() == {"detail": DATABASE_DOWN}
        ready = httpx.get(f"{replica.url}/readyz", timeout=60)
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] is False
        assert httpx.get(f"{replica.url}/healthz", timeout=60).status_code == 200

        postgres_cluster.start_server()
        back = out.acked()
        wait_for("writes acknowledged after the restart", lambda: out.acked() >= back + 30)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not any(thread.is_alive() for thread in threads)

    # The copilot itself never went away, and every refusal was a 503 saying why.
    assert replica.proc is not None and replica.proc.poll() is None
    assert out.transport == []
    assert out.refused, "PostgreSQL's stop was never noticed"
    for status, body in out.refused:
        assert status == 503, (status, body[:300])
        assert body == f'{{"detail":"{DATABASE_DOWN}"}}', body[:300]
        assert "Traceback" not in body

    # Everything acknowledged, before, during and after, reads back.
    with httpx.Client(base_url=replica.url, timeout=60) as client:
        assert client.get("/readyz").status_code == 200
        for incident, title in out.incidents.items():
            r = client.get(f"/v1/incidents/{incident}")
            assert r.status_code == 200, r.text
            assert r.json()["title"] == title
        by_incident: dict[str, dict[int, str]] = {}
        for event_id, (incident, text) in out.events.items():
            by_incident.setdefault(incident, {})[event_id] = text
        for incident, events in by_incident.items():
            found = {
                e["id"]: e["text"]
                for e in client.get(f"/v1/incidents/{incident}/events").json()["events"]
            }
            for event_id, text in events.items():
                assert found.get(event_id) == text, (incident, event_id)
