"""Outbound webhooks, delivered to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from copilot.api.app import create_app
from copilot.errors import ConfigError
from copilot.incidents import schemas as s
from copilot.incidents import service
from copilot.incidents.db import IncidentStore
from copilot.integrations import webhooks
from copilot.integrations.webhooks import WebhookDispatcher, verify_signature
from copilot.settings import Settings

SECRET = "whsec-test-3b1f"


class Receiver:
    """A webhook endpoint: records each request, answers with the scripted statuses first."""

    def __init__(
        self,
        statuses: list[int] | None = None,
        delay_s: float = 0.0,
        *,
        down: bool = False,
        hold: bool = False,
    ) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self.delay_s = delay_s
        # With `hold`, each request waits (at most a minute) until `release` is set.
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.answered = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "at": time.monotonic(),
                        }
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                receiver.release.wait(60)
                with receiver.lock:
                    receiver.answered += 1
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        # Bound at once, so the URL is known; while `down` nothing listens and a connection
        # to it is refused, until `up()`.
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.server_bind()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/copilot?token=abc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.down = down

    def up(self) -> None:
        self.server.server_activate()
        self.thread.start()

    def __enter__(self) -> Receiver:
        if not self.down:
            self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[str]:
        return [r["headers"]["x-copilot-event"] for r in self.requests]

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]

    def wait_for(self, count: int, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"got {len(self.requests)} of {count} requests"
            time.sleep(0.01)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def hook_settings(tmp_path: Path, urls: list[str], **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        webhook_urls=urls,
        webhook_secret=SecretStr(SECRET),
        webhook_backoff_s=0.01,
        public_url="https://copilot.example.com",
        _env_file=None,
        **extra,
    )


@pytest.fixture
def client_for(tmp_path: Path) -> Iterator[Any]:
    opened: list[tuple[TestClient, IncidentStore]] = []

    def _make(urls: list[str], **extra: Any) -> tuple[TestClient, Any]:
        settings = hook_settings(tmp_path, urls, **extra)
        store = IncidentStore(settings.sqlalchemy_url)
        client = TestClient(create_app(settings, incident_store=store, load_knowledge=False))
        client.__enter__()
        opened.append((client, store))
        return client, store

    yield _make
    for client, store in opened:
        client.__exit__(None, None, None)
        store.close()


def check_signed(request: dict[str, Any]) -> None:
    headers = request["headers"]
    assert headers["content-type"] == "application/json"
    assert verify_signature(
        SECRET,
        timestamp=headers["x-copilot-timestamp"],
        body=request["body"],
        signature=headers["x-copilot-signature"],
    ), headers


def test_incident_events_are_delivered_signed_and_in_order(
    client_for: Any, receiver: Receiver
) -> None:
    client, _ = client_for([receiver.url])
    r = client.post("/v1/incidents", json={"title": "Checkout 502s", "severity": "SEV3"})
    assert r.status_code == 201
    client.patch("/v1/incidents/INC-1", json={"severity": "SEV2", "reason": "EU too"})
    client.post("/v1/incidents/INC-1/events", json={"text": "just a note"})  # not an event
    client.post(
        "/v1/incidents/INC-1/events",
        json={"kind": "status_update", "audience": "public", "text": "We are investigating."},
    )
    client.patch("/v1/incidents/INC-1", json={"status": "mitigating"})
    client.patch("/v1/incidents/INC-1", json={"status": "resolved"})
    receiver.wait_for(6)
    time.sleep(0.2)  # nothing more arrives

    assert receiver.events() == [
        "incident.declared",
        "incident.severity_changed",
        "incident.update_published",
        "incident.status_changed",
        "incident.status_changed",
        "incident.resolved",
    ]
    for request in receiver.requests:
        check_signed(request)
        assert request["path"] == "/hooks/copilot?token=abc"
        assert request["headers"]["x-copilot-attempt"] == "1"
        assert request["headers"]["user-agent"].startswith("responder-copilot/")
    payloads = receiver.payloads()
    assert [p["event"] for p in payloads] == receiver.events()
    assert len({p["id"] for p in payloads}) == 6
    assert [p["id"] for p in payloads] == [
        r["headers"]["x-copilot-delivery"] for r in receiver.requests
    ]
    declared = payloads[0]
    assert declared["incident"]["id"] == "INC-1"
    assert declared["incident"]["title"] == "Checkout 502s"
    assert declared["incident"]["url"] == "https://copilot.example.com/incidents/INC-1"
    assert declared["timeline_event"]["kind"] == "declared"
    assert payloads[1]["change"] == {"from": "SEV3", "to": "SEV2"}
    assert payloads[1]["incident"]["severity"] == "SEV2"
    assert payloads[2]["update"] == {"audience": "public", "body": "We are investigating."}
    assert payloads[3]["change"] == {"from": "triage", "to": "mitigating", "reopened": False}
    assert payloads[5]["change"]["to"] == "resolved"
    assert payloads[5]["incident"]["resolved_at"] is not None
    assert payloads[5]["incident"]["next_update_due"] is None


def test_signature_fails_on_any_change() -> None:
    body = b'{"event":"incident.declared"}'
    ts = str(int(time.time()))
    signature = webhooks.sign(SECRET, ts, body)
    assert verify_signature(SECRET, timestamp=ts, body=body, signature=signature)
    assert not verify_signature(SECRET, timestamp=ts, body=body + b" ", signature=signature)
    assert not verify_signature("other", timestamp=ts, body=body, signature=signature)
    assert not verify_signature(SECRET, timestamp=str(int(ts) + 1), body=body, signature=signature)
    old = str(int(time.time()) - 600)
    assert not verify_signature(
        SECRET, timestamp=old, body=body, signature=webhooks.sign(SECRET, old, body)
    )
    assert not verify_signature(SECRET, timestamp="x1", body=body, signature=signature)


def test_failed_deliveries_are_retried_with_backoff(client_for: Any) -> None:
    with Receiver(statuses=[500, 503, 429]) as flaky:
        client, _ = client_for([flaky.url])
        client.post("/v1/incidents", json={"title": "Flaky receiver", "severity": "SEV4"})
        flaky.wait_for(4)
        attempts = [r["headers"]["x-copilot-attempt"] for r in flaky.requests]
        assert attempts == ["1", "2", "3", "4"]
        # One delivery: the same id and body every time, signed afresh each attempt.
        assert len({r["headers"]["x-copilot-delivery"] for r in flaky.requests}) == 1
        assert len({r["body"] for r in flaky.requests}) == 1
        for request in flaky.requests:
            check_signed(request)


def test_the_retry_schedule_doubles_with_jitter_and_respects_retry_after(tmp_path: Path) -> None:
    dispatcher = WebhookDispatcher(
        [], SECRET, outbox=tmp_path / "w.sqlite", backoff_s=1.0, max_backoff_s=30.0
    )
    lowest = [dispatcher.retry_delay(n, jitter=0.0) for n in (1, 2, 3, 4)]
    highest = [dispatcher.retry_delay(n, jitter=0.999) for n in (1, 2, 3, 4)]
    assert lowest == pytest.approx([0.8, 1.6, 3.2, 6.4])
    # Whatever the jitter, each wait is longer than any the attempt before could have had.
    assert all(low > high for low, high in zip(lowest[1:], highest, strict=False))
    assert dispatcher.retry_delay(10, jitter=0.999) <= 30.0
    assert dispatcher.retry_delay(1, retry_after=12.0, jitter=0.0) == 12.0
    assert dispatcher.retry_delay(1, retry_after=600.0, jitter=0.0) == 30.0


def test_a_client_error_is_not_retried_and_attempts_are_bounded(tmp_path: Path) -> None:
    with Receiver(statuses=[410]) as gone, Receiver(statuses=[500] * 10) as down:
        dispatcher = WebhookDispatcher(
            [gone.url, down.url],
            SECRET,
            outbox=tmp_path / "webhooks.sqlite",
            max_attempts=3,
            backoff_s=0.01,
        )
        dispatcher.start()
        store = IncidentStore(f"sqlite:///{tmp_path / 'i.sqlite'}")
        store.listeners.append(dispatcher.on_change)
        service.declare(store=store, request=s.IncidentCreate(title="Gone", severity="SEV4"))
        assert dispatcher.wait_idle(10)
        assert len(gone.requests) == 1
        assert len(down.requests) == 3
        assert dispatcher.stats.failed == 2 and dispatcher.stats.delivered == 0
        dispatcher.stop()
        store.close()


def test_an_unreachable_receiver_never_slows_or_fails_the_api(client_for: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}/nobody"  # bound, never listening
    with Receiver(hold=True) as slow:
        client, _ = client_for([dead_url, slow.url], webhook_max_attempts=2)
        for n in range(3):
            r = client.post("/v1/incidents", json={"title": f"Outage {n}", "severity": "SEV4"})
            assert r.status_code == 201
        # Every write answered while the receiver had answered nothing: none was waited for.
        assert slow.answered == 0
        slow.release.set()
        slow.wait_for(3, timeout_s=30)
        assert [p["incident"]["title"] for p in slow.payloads()] == [
            "Outage 0",
            "Outage 1",
            "Outage 2",
        ]


def test_event_filter(client_for: Any, receiver: Receiver) -> None:
    client, _ = client_for([receiver.url], webhook_events=["incident.resolved"])
    client.post("/v1/incidents", json={"title": "Only the end", "severity": "SEV4"})
    client.patch("/v1/incidents/INC-1", json={"status": "resolved"})
    receiver.wait_for(1)
    time.sleep(0.2)
    assert receiver.events() == ["incident.resolved"]


def test_a_failing_listener_does_not_fail_the_write(tmp_path: Path) -> None:
    store = IncidentStore(f"sqlite:///{tmp_path / 'i.sqlite'}")

    def broken(incident: Any, events: Any) -> None:
        raise RuntimeError("listener bug")

    seen: list[tuple[str, list[str]]] = []
    store.listeners.extend([broken, lambda inc, evs: seen.append((inc.id, [e.kind for e in evs]))])
    created = service.declare(
        store=store,
        request=s.IncidentCreate(
            title="Still declared", severity="SEV4", roles=s.RolesPatch(incident_commander="Ana")
        ),
    )
    assert created.id == "INC-1"
    assert seen == [("INC-1", ["declared", "role_change"])]
    # A rolled-back change tells no one.
    with pytest.raises(Exception, match="cannot move"):
        service.update_incident(
            store=store, incident_id="INC-1", patch=s.IncidentPatch(status="closed")
        )
    assert len(seen) == 1
    store.close()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"webhook_secret": None}, "COPILOT_WEBHOOK_SECRET"),
        ({"webhook_urls": ["ftp://example.com/x"]}, r"not an http\(s\) URL"),
        ({"webhook_urls": ["https://[status.example.com/hook"]}, r"not an http\(s\) URL"),
        ({"webhook_events": ["incident.exploded"]}, "unknown event"),
    ],
)
def test_bad_webhook_settings_fail_at_start(
    tmp_path: Path, extra: dict[str, Any], message: str
) -> None:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "webhook_urls": ["https://status.example.com/hook"],
        "webhook_secret": SecretStr(SECRET),
        "_env_file": None,
        **extra,
    }
    with pytest.raises(ConfigError, match=message):
        create_app(Settings(**values), load_knowledge=False)


def test_urls_and_secrets_stay_out_of_the_log(
    client_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with Receiver(statuses=[500] * 5) as down:
        client, _ = client_for([down.url], webhook_max_attempts=2)
        client.post("/v1/incidents", json={"title": "Logged", "severity": "SEV4"})
        down.wait_for(2)
        time.sleep(0.2)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "not delivered" in logged and "127.0.0.1" in logged
    assert "token=abc" not in logged and SECRET not in logged


def test_publishing_a_status_draft_sends_update_published(
    client_for: Any, receiver: Receiver
) -> None:
    client, _ = client_for([receiver.url], webhook_events=["incident.update_published"])
    client.post(
        "/v1/incidents",
        json={"title": "Checkout errors", "severity": "SEV2", "customer_impact": "Orders fail"},
    )
    draft = client.post("/v1/incidents/INC-1/status-updates", json={"audience": "public"})
    if draft.status_code == 404 and draft.json()["detail"] == "Not Found":
        pytest.skip("POST /v1/incidents/{id}/status-updates is not served by this build")
    assert draft.status_code == 201, draft.text
    published = client.post(f"/v1/incidents/INC-1/status-updates/{draft.json()['id']}/publish")
    assert published.status_code == 200, published.text
    receiver.wait_for(1)
    payload = receiver.payloads()[0]
    assert payload["event"] == "incident.update_published"
    assert payload["update"]["audience"] == "public"
    assert draft.json()["body"] in payload["update"]["body"]
    assert payload["incident"]["next_update_due"] is not None
