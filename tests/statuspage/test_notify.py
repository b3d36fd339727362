"""Status page subscribers: signed webhooks over HTTP on 127.0.0.1 carrying only published text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.integrations.webhooks import verify_signature
from copilot.statuspage import notify
from tests.incidents.conftest import Clock
from tests.integrations.test_webhooks import SECRET, Receiver, hook_settings
from tests.status.conftest import EVENTS, INCIDENT
from tests.statuspage.conftest import publish

BASE = "/v1/status-page/maintenances"
WINDOW = {
    "name": "Payment provider upgrade",
    "body": "Card payments may be slower for a few minutes.",
    "scheduled_for": "2026-03-02T11:00:00Z",
    "scheduled_until": "2026-03-02T12:00:00Z",
    "components": ["Payments"],
}


@pytest.fixture
def hooked(tmp_path: Path, clock: Clock) -> Iterator[tuple[TestClient, Receiver]]:
    """The app with a webhook limited to the status page's events, and its receiver."""
    with Receiver() as receiver:
        settings = hook_settings(tmp_path, [receiver.url], webhook_events=list(notify.EVENTS))
        with (
            IncidentStore(settings.sqlalchemy_url, clock=clock) as store,
            TestClient(create_app(settings, incident_store=store, load_knowledge=False)) as client,
        ):
            yield client, receiver


def test_subscribers_hear_updates_and_maintenance_signed_and_public_only(
    hooked: tuple[TestClient, Receiver], clock: Clock
) -> None:
    client, receiver = hooked
    r = client.post("/v1/incidents", json=INCIDENT)
    assert r.status_code == 201, r.text
    incident_id = r.json()["id"]
    for event in EVENTS:
        assert client.post(f"/v1/incidents/{incident_id}/events", json=event).status_code == 201
    published = publish(client, incident_id, components={"Checkout": "major_outage"})
    internal = publish(client, incident_id, "internal")  # never reaches subscribers
    made = client.post(BASE, json=WINDOW).json()
    r = client.patch(f"{BASE}/{made['id']}", json={"body": "We will start on time."})
    assert r.status_code == 200, r.text
    clock.set(125)  # 11:05: the window started at 11:00 by itself
    [moved] = client.app.state.status_page_notifier.tick()
    assert moved.automatic and moved.to_status == "in_progress"

    receiver.wait_for(4, timeout_s=60)
    assert receiver.events() == [
        "status_page.incident_updated",
        "status_page.maintenance_created",
        "status_page.maintenance_updated",
        "status_page.maintenance_updated",
    ]
    for request in receiver.requests:
        headers = request["headers"]
        stamp, signature = headers["x-copilot-timestamp"], headers["x-copilot-signature"]
        assert verify_signature(SECRET, timestamp=stamp, body=request["body"], signature=signature)
        tampered = request["body"].replace(b"Payment", b"Paymant").replace(b"Check", b"Chuck")
        assert not verify_signature(SECRET, timestamp=stamp, body=tampered, signature=signature)

    update, created, edited, started = receiver.payloads()
    inc = update["incident"]
    assert inc["id"] == incident_id and inc["name"] == published["title"]
    assert inc["status"] == "investigating" and inc["impact"] == "critical"
    [shown] = inc["incident_updates"]
    assert shown["body"].split("\n")[0] == published["body"].split("\n")[0]
    assert [(c["name"], c["status"]) for c in inc["components"]] == [("Checkout", "major_outage")]
    assert update["page"]["status_indicator"] == "critical"
    assert created["scheduled_maintenance"]["status"] == "scheduled"
    assert created["transition"] == {"from": None, "to": "scheduled", "automatic": False}
    assert edited["transition"] is None
    assert edited["scheduled_maintenance"]["incident_updates"][0]["body"] == (
        "We will start on time."
    )
    window = started["scheduled_maintenance"]
    assert started["transition"] == {"from": "scheduled", "to": "in_progress", "automatic": True}
    assert window["status"] == "in_progress" and window["started_at"] == "2026-03-02T11:00:00Z"
    assert [(c["name"], c["status"]) for c in window["components"]] == [
        ("Payments", "under_maintenance")
    ]

    # Nothing but published text: the same needles as the page's leak test.
    forbidden = [
        "Priya",
        "Raman",
        "Tomasz",
        "Wolny",
        "Dana Okafor",
        "checkout-api",
        "payments-gateway",
        "orders-db",
        "prod-eu-1",
        "10.20.3.4",
        "PgBouncer",
        "argocd",
        "JIRA-881",
        "£12k",
        INCIDENT["title"],
        "SEV2",
        *(e["text"] for e in EVENTS),
    ]
    forbidden += [
        line
        for line in internal["body"].split("\n")
        if len(line) > 20 and line not in published["body"]
    ]
    for request in receiver.requests:
        text = request["body"].decode("utf-8")
        assert json.loads(text)  # well-formed
        for needle in forbidden:
            assert needle not in text, f"{needle!r} reached {request['headers']['x-copilot-event']}"


def test_without_webhooks_nothing_is_sent_and_publishing_still_works(
    client: TestClient, incident: dict[str, Any], clock: Clock
) -> None:
    notifier = client.app.state.status_page_notifier
    assert notifier is not None and notifier.listeners == []
    publish(client, incident["id"], components={"Checkout": "partial_outage"})
    assert client.post(BASE, json=WINDOW).status_code == 201
    clock.set(125)
    assert [c.to_status for c in notifier.tick()] == ["in_progress"]
