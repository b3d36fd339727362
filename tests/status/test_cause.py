"""A draft says the cause is identified only when the timeline names one."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.status.compose import cause_known
from tests.incidents.conftest import at
from tests.status.conftest import INCIDENT, draft, move


def event(kind: str, text: str) -> Any:
    return SimpleNamespace(kind=kind, text=text)


@pytest.mark.parametrize(
    ("events", "known"),
    [
        ([], False),
        ([event("action", "Rolled back checkout-api to v4410")], False),
        ([event("mitigation", "Failed over orders-db")], False),
        ([event("note", "Root cause is not known yet")], False),
        ([event("note", "root cause: unknown")], False),
        ([event("hypothesis", "Deploy 4411 exhausted the PgBouncer pool")], True),
        ([event("decision", "Keep v4410 until the pool settings are fixed")], True),
        ([event("note", "Root cause: the cert expired at midnight")], True),
        ([event("action", "Confirmed the 502s were caused by deploy 4411")], True),
    ],
)
def test_what_counts_as_a_named_cause(events: list[Any], known: bool) -> None:
    assert cause_known(events) is known


def _mitigating(client: TestClient, *events: dict[str, Any]) -> str:
    r = client.post("/v1/incidents", json=INCIDENT)
    assert r.status_code == 201, r.text
    incident_id: str = r.json()["id"]
    for e in events:
        assert client.post(f"/v1/incidents/{incident_id}/events", json=e).status_code == 201
    move(client, incident_id, "mitigating", 30)
    return incident_id


def test_mitigating_with_no_cause_on_the_timeline_says_it_is_under_investigation(
    client: TestClient,
) -> None:
    rollback = {"kind": "action", "text": "Rolled back checkout-api to v4410", "at": at(25)}
    incident_id = _mitigating(client, rollback)

    internal = draft(client, incident_id, "internal")
    assert internal["status"] == "identified"
    assert "**Status:** cause under investigation; mitigation in progress." in internal["body"]
    assert "cause identified" not in internal["body"]
    executive = draft(client, incident_id, "executive")
    assert "the cause is still under investigation" in executive["body"]
    assert "cause is understood" not in executive["body"]

    hypothesis = {
        "kind": "hypothesis",
        "text": "Deploy 4411 exhausted the PgBouncer pool",
        "at": at(35),
    }
    assert client.post(f"/v1/incidents/{incident_id}/events", json=hypothesis).status_code == 201
    internal = draft(client, incident_id, "internal")
    assert "**Status:** cause identified; mitigation in progress." in internal["body"]
    assert "the cause is understood" in draft(client, incident_id, "executive")["body"]
