"""A real Prometheus Alertmanager on 127.0.0.1 notifies a real copilot served by uvicorn.

Alerts are posted to Alertmanager's API v2; its webhook receiver (bearer key with the `alerts`
scope, group_wait 1s) sends them on; the copilot must group them into one candidate per
situation with the prometheus-operator runbook of each alert name, and follow resolve and re-fire.
Needs /usr/bin/prometheus-alertmanager (`make alertmanager-deps`); skips without it, fails on CI.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import httpx
import pytest

from copilot.api.app import create_app
from copilot.embedding import Embedder
from copilot.incidents.db import IncidentStore
from copilot.knowledge.store import KnowledgeBase
from copilot.security.keys import KeyStore
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.conftest import REPO, LiveServer

ALERTMANAGER = os.environ.get("ALERTMANAGER", "/usr/bin/prometheus-alertmanager")
CORPUS = (
    REPO.parent / "shared" / "corpora" / "prometheus-operator-runbooks" / "content" / "runbooks"
)
DEADLINE_S = 60.0
RUNBOOKS = (
    "kubernetes/KubePodCrashLooping.md",
    "kubernetes/KubePodNotReady.md",
    "kubernetes/KubeDeploymentReplicasMismatch.md",
    "kubernetes/KubeDeploymentGenerationMismatch.md",
    "node/NodeFilesystemSpaceFillingUp.md",
    "node/NodeFilesystemAlmostOutOfSpace.md",
    "node/NodeFilesystemFilesFillingUp.md",
    "alertmanager/AlertmanagerFailedToSendAlerts.md",
)
T = TypeVar("T")


def _missing(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; on CI `make test` installs it (make alertmanager-deps)")
    pytest.skip(f"{reason}; `make alertmanager-deps` installs it (as root, with apt-get)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(what: str, probe: Callable[[], T | None], deadline_s: float = DEADLINE_S) -> T:
    """Poll `probe` until it returns something, or fail saying what never happened."""
    deadline = time.monotonic() + deadline_s
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"within {deadline_s:.0f}s: {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def prometheus_kb(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[KnowledgeBase]:
    if not CORPUS.is_dir():
        pytest.skip(f"the prometheus-operator runbooks are not at {CORPUS}")
    settings = Settings(data_dir=tmp_path_factory.mktemp("prom-kb"), _env_file=None)  # type: ignore[call-arg]
    kb = KnowledgeBase(settings, embedder)
    # The runbooks of the alert names below and near neighbours of theirs (the whole corpus
    # takes over a minute to embed on a small machine).
    report = ingest_paths(kb, [CORPUS / f for f in RUNBOOKS], progress=False)
    assert not report.failed, report.failed
    yield kb
    kb.close()


class Alertmanager:
    def __init__(self, workdir: Path, webhook: str, key: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "alertmanager.yml"
        config.write_text(
            f"""
route:
  receiver: copilot
  group_by: [service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: copilot
    webhook_configs:
      - url: {webhook}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {key}
""",
            encoding="utf-8",
        )
        self.log = workdir / "alertmanager.log"
        self.proc = subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={config}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> bool | None:
        if self.proc.poll() is not None:
            pytest.fail(f"Alertmanager exited: {self.log.read_text(errors='replace')[-2000:]}")
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200 or None
        except httpx.HTTPError:
            return None

    def post(self, alerts: list[dict[str, Any]]) -> None:
        response = httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=5)
        assert response.status_code == 200, response.text

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def am_alert(
    name: str, service: str, *, starts: datetime, ends: datetime | None = None, **labels: str
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "labels": {"alertname": name, "service": service, **labels},
        "annotations": {"summary": f"{name} on {service}"},
        "startsAt": _iso(starts),
        "generatorURL": f"http://prometheus.example.test/graph?g0.expr={name}",
    }
    if ends is not None:
        body["endsAt"] = _iso(ends)
    return body


def test_a_real_alertmanager_feeds_the_copilot(
    tmp_path: Path, prometheus_kb: KnowledgeBase
) -> None:
    if not (Path(ALERTMANAGER).is_file() and os.access(ALERTMANAGER, os.X_OK)):
        _missing(f"Alertmanager is not installed ({ALERTMANAGER})")
    settings = Settings(data_dir=tmp_path / "copilot", _env_file=None)  # type: ignore[call-arg]
    keys = KeyStore(settings.security_path)
    alerts_key = keys.create("alertmanager", ["alerts"])[1]
    read_key = keys.create("viewer", ["read"])[1]
    keys.close()
    store = IncidentStore(settings.sqlalchemy_url)
    app = create_app(settings, kb=prometheus_kb, incident_store=store, bind_host="127.0.0.1")
    am: Alertmanager | None = None
    try:
        with LiveServer(app) as server:
            am = Alertmanager(tmp_path, f"{server.url}/v1/alerts/alertmanager", alerts_key)
            wait_for("Alertmanager answers /-/ready", am.ready)
            copilot = httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {read_key}"}, timeout=60
            )

            def groups() -> list[dict[str, Any]]:
                response = copilot.get("/v1/alert-groups")
                assert response.status_code == 200, response.text
                items: list[dict[str, Any]] = response.json()["items"]
                return items

            def alerts() -> dict[str, dict[str, Any]]:
                items = copilot.get("/v1/alerts").json()["items"]
                return {
                    f"{a['labels']['alertname']}/{a['labels'].get('pod', '')}": a for a in items
                }

            now = datetime.now(UTC).replace(microsecond=0)
            am.post(
                [
                    am_alert("KubePodCrashLooping", "checkout-api", starts=now, pod="c-1"),
                    am_alert("KubePodCrashLooping", "checkout-api", starts=now, pod="c-2"),
                    am_alert("KubeDeploymentReplicasMismatch", "checkout-api", starts=now),
                    am_alert("NodeFilesystemSpaceFillingUp", "orders-db", starts=now, pod="db-0"),
                    am_alert("NodeFilesystemAlmostOutOfSpace", "orders-db", starts=now),
                    am_alert("Watchdog", "monitoring", starts=now),
                ]
            )

            def two_candidates() -> list[dict[str, Any]] | None:
                found = [g for g in groups() if g["status"] == "candidate"]
                sizes = sorted(len(g["alerts"]) for g in found)
                return found if sizes == [2, 3] else None

            found = wait_for("two candidates, of 3 and 2 alerts", two_candidates)
            by_service = {g["services"][0]: g for g in found}
            assert set(by_service) == {"checkout-api", "orders-db"}
            for service, group in by_service.items():
                assert {a["labels"]["service"] for a in group["alerts"]} == {service}
                runbooks = {r["alertname"]: r for r in group["runbooks"]}
                names = {a["labels"]["alertname"] for a in group["alerts"]}
                assert set(runbooks) == names
                for name, runbook in runbooks.items():
                    assert Path(runbook["source"]).name == f"{name}.md", runbook
                    assert runbook["found_by"] == "file_name"
                    assert runbook["lines"][0] >= 1
            checkout = by_service["checkout-api"]
            assert checkout["suggested_severity"] and "checkout-api" in checkout["title"]
            # The heartbeat is tracked, never a candidate.
            watchdog = wait_for("Watchdog recorded", lambda: alerts().get("Watchdog/"))
            assert watchdog["heartbeat"] and watchdog["group_id"] is None
            metrics = httpx.get(f"{server.url}/metrics").text
            assert 'copilot_alert_heartbeat_age_seconds{alertname="Watchdog"}' in metrics

            # Resolve one (endsAt in the past), then fire it again: one alert, one flap.
            am.post(
                [
                    am_alert(
                        "KubePodCrashLooping",
                        "checkout-api",
                        starts=now,
                        ends=now + timedelta(seconds=1),
                        pod="c-1",
                    )
                ]
            )
            wait_for(
                "KubePodCrashLooping/c-1 resolved",
                lambda: alerts()["KubePodCrashLooping/c-1"]["status"] == "resolved" or None,
            )
            again = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
            am.post([am_alert("KubePodCrashLooping", "checkout-api", starts=again, pod="c-1")])

            def refired_once() -> dict[str, Any] | None:
                one = alerts()["KubePodCrashLooping/c-1"]
                return one if one["status"] == "firing" and one["flaps"] == 1 else None

            refired = wait_for("KubePodCrashLooping/c-1 firing again, one flap", refired_once)
            assert refired["group_id"] == checkout["id"]
            everything = alerts()
            assert len(everything) == 6  # no duplicates, whatever Alertmanager resent
            assert len([g for g in groups() if g["status"] == "candidate"]) == 2
    finally:
        if am is not None:
            am.stop()
        store.close()
        shutil.rmtree(tmp_path / "data", ignore_errors=True)


class FailOnce:
    """ASGI in front of the copilot: when armed, the next notification is applied and then
    answered 503 (as a copilot dying after its commit would answer), so Alertmanager retries a
    notification the copilot already has. Records each notification and the copilot's answers."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.armed = False
        self.bodies: list[bytes] = []
        self.answers: list[tuple[int, bytes]] = []  # (status sent to Alertmanager, copilot's body)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/alerts/alertmanager":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        self.bodies.append(body)
        given = False

        async def replay() -> dict[str, Any]:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            return dict(await receive())

        fail, self.armed = self.armed, False
        status = 0
        answer = b""

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status, answer
            if message["type"] == "http.response.start":
                status = message["status"]
            else:
                answer += message.get("body", b"")
            if not fail:
                await send(message)

        await self.app(scope, replay, capture)
        if fail:
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"detail":"unavailable"}'})
            self.answers.append((503, answer))
        else:
            self.answers.append((status, answer))


def test_alertmanager_retries_after_a_5xx_add_no_duplicate_alerts_or_events(
    tmp_path: Path, prometheus_kb: KnowledgeBase
) -> None:
    if not (Path(ALERTMANAGER).is_file() and os.access(ALERTMANAGER, os.X_OK)):
        _missing(f"Alertmanager is not installed ({ALERTMANAGER})")
    settings = Settings(data_dir=tmp_path / "copilot", _env_file=None)  # type: ignore[call-arg]
    keys = KeyStore(settings.security_path)
    alerts_key = keys.create("alertmanager", ["alerts"])[1]
    oncall_key = keys.create("oncall", ["read", "respond"])[1]
    keys.close()
    store = IncidentStore(settings.sqlalchemy_url)
    front = FailOnce(
        create_app(settings, kb=prometheus_kb, incident_store=store, bind_host="127.0.0.1")
    )
    am: Alertmanager | None = None
    try:
        with LiveServer(front) as server:
            am = Alertmanager(tmp_path, f"{server.url}/v1/alerts/alertmanager", alerts_key)
            wait_for("Alertmanager answers /-/ready", am.ready)
            copilot = httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {oncall_key}"}, timeout=60
            )

            def candidates() -> list[dict[str, Any]] | None:
                items = copilot.get("/v1/alert-groups", params={"status": "candidate"}).json()
                found: list[dict[str, Any]] = items["items"]
                return found if found and len(found[0]["alerts"]) == 2 else None

            now = datetime.now(UTC).replace(microsecond=0)
            am.post(
                [
                    am_alert("KubePodCrashLooping", "checkout-api", starts=now, pod="c-1"),
                    am_alert("KubeDeploymentReplicasMismatch", "checkout-api", starts=now),
                ]
            )
            (group,) = wait_for("a candidate of 2 alerts", candidates)
            declared = copilot.post(f"/v1/alert-groups/{group['id']}/declare", json={})
            assert declared.status_code == 201, declared.text
            incident_id = declared.json()["id"]

            def alert_events() -> list[dict[str, Any]]:
                response = copilot.get(
                    f"/v1/incidents/{incident_id}/events", params={"kind": "alert"}
                )
                assert response.status_code == 200, response.text
                events: list[dict[str, Any]] = response.json()["events"]
                return events

            assert len(alert_events()) == 2
            sent = len(front.answers)
            assert len(front.bodies) == sent  # nothing in flight

            # The next notification is applied, then answered 503: Alertmanager must retry it.
            front.armed = True
            am.post([am_alert("KubePodNotReady", "checkout-api", starts=now, pod="c-3")])

            def retried() -> bool | None:
                # Answers are recorded when a request is done (bodies when it starts).
                if len(front.answers) < sent + 2 or front.armed:
                    return None
                return True

            wait_for("Alertmanager retrying the notification answered 503", retried)
            failed_at = next(i for i, (status, _) in enumerate(front.answers) if status == 503)
            assert failed_at >= sent
            first, retry = front.bodies[failed_at], front.bodies[failed_at + 1]
            fingerprints = [
                sorted((a["fingerprint"], a["status"]) for a in json.loads(b)["alerts"])
                for b in (first, retry)
            ]
            assert fingerprints[0] == fingerprints[1]  # the same notification, sent again
            applied = json.loads(front.answers[failed_at][1])
            assert applied["duplicate"] is False and applied["new"] == 1
            status, answer = front.answers[failed_at + 1]
            assert status == 200
            assert json.loads(answer)["duplicate"] is True

            items = copilot.get("/v1/alerts").json()["items"]
            assert len(items) == 3  # no duplicate alert
            assert {a["group_id"] for a in items} == {group["id"]}
            events = alert_events()
            assert len(events) == 3  # the new alert's one event, not one per delivery
            assert sum("KubePodNotReady" in e["text"] for e in events) == 1
    finally:
        if am is not None:
            am.stop()
        store.close()
        shutil.rmtree(tmp_path / "data", ignore_errors=True)
