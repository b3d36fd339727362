"""Incidents follow their alerts after they end: an alert never joins a resolved or closed
incident; within the reopen window its group proposes reopening it, later it is a new group."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.alerts.conftest import Clock, alert, payload

AM = "/v1/alerts/alertmanager"


def checkout(starts: float = 0) -> dict[str, Any]:
    return payload(
        alert("HighErrorRate", service="checkout-api", severity="critical", starts=starts),
        alert("HighLatency", service="checkout-api", severity="warning", starts=starts + 1),
        alert("PodCrashLooping", service="checkout-api", pod="c-1", starts=starts + 2),
    )


def declared_then(client: TestClient, *statuses: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send the checkout storm, declare its candidate, move the incident through `statuses`."""
    assert client.post(AM, json=checkout()).status_code == 200
    (group,) = client.get("/v1/alert-groups", params={"status": "candidate"}).json()["items"]
    incident = client.post(f"/v1/alert-groups/{group['id']}/declare", json={}).json()
    for status in statuses:
        moved = client.patch(f"/v1/incidents/{incident['id']}", json={"status": status})
        assert moved.status_code == 200, moved.text
    return group, incident


def events(client: TestClient, incident_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/incidents/{incident_id}/events")
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["events"]
    return items


def test_a_flap_after_the_incident_resolved_proposes_reopening_it(
    client: TestClient, clock: Clock
) -> None:
    group, incident = declared_then(client, "mitigating", "resolved")
    clock.set(6)
    resolve = payload(
        alert(
            "HighErrorRate",
            service="checkout-api",
            severity="critical",
            status="resolved",
            starts=0,
            ends=5,
        )
    )
    assert client.post(AM, json=resolve).status_code == 200
    before = events(client, incident["id"])
    # Its resolve still reaches the resolved incident's timeline (it is news, not a join).
    assert any("HighErrorRate resolved" in e["text"] for e in before)

    # Fires again within the flap window: it would have been a flap of the declared group.
    clock.set(8)
    again = payload(alert("HighErrorRate", service="checkout-api", severity="critical", starts=7))
    result = client.post(AM, json=again).json()
    (new_id,) = result["groups"]
    assert new_id != group["id"] and result["flaps"] == 0
    assert result["candidates"] == [new_id]  # a proposal is shown at once, below the threshold
    assert result["declared"] == []

    proposed = client.get(f"/v1/alert-groups/{new_id}").json()
    assert proposed["status"] == "candidate" and proposed["incident_id"] is None
    assert proposed["reopen"]["incident_id"] == incident["id"]
    assert proposed["reopen"]["incident_status"] == "resolved"
    assert proposed["reopen"]["resolved_at"] is not None
    assert "reopen" in proposed["reopen"]["reason"]
    assert f"proposes reopening {incident['id']}" in proposed["reason"]
    old = client.get(f"/v1/alert-groups/{group['id']}").json()
    assert old["status"] == "declared" and len(old["alerts"]) == 2  # the alert left it

    # The incident did not take the alert; it carries one note of the proposal.
    after = events(client, incident["id"])
    added = after[len(before) :]
    assert [(e["kind"], e["data"].get("proposal"), e["data"].get("group_id")) for e in added] == [
        ("alert", "reopen", new_id)
    ]
    assert client.get(f"/v1/incidents/{incident['id']}").json()["status"] == "resolved"

    # A repeated notification, and more alerts of the situation, add no second note.
    assert client.post(AM, json=again).json()["duplicate"]
    clock.set(9)
    more = payload(alert("QueueBacklog", service="checkout-api", severity="warning", starts=8.5))
    assert client.post(AM, json=more).json()["groups"] == [new_id]
    assert len(events(client, incident["id"])) == len(after)

    # People decide: reopen it, and the group is attached with its alerts on the timeline.
    reopened = client.post(f"/v1/alert-groups/{new_id}/reopen", json={"author": "ana"})
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert body["status"] == "attached" and body["incident_id"] == incident["id"]
    assert body["reopen"]["incident_status"] == "mitigating"
    now = client.get(f"/v1/incidents/{incident['id']}").json()
    assert now["status"] == "mitigating"
    timeline = events(client, incident["id"])
    reopen_events = [e for e in timeline if e["kind"] == "status_change" and e["data"]["reopen"]]
    assert len(reopen_events) == 1 and reopen_events[0]["author"] == "ana"
    assert f"alert group {new_id}" in reopen_events[0]["text"]
    assert client.post(f"/v1/alert-groups/{new_id}/reopen", json={}).status_code == 409


def test_a_new_alert_of_a_closed_incident_within_the_window_proposes_too(
    client: TestClient, clock: Clock
) -> None:
    _, incident = declared_then(client, "resolved", "closed")
    clock.set(30)
    fresh = payload(alert("DiskPressure", service="checkout-api", node="n-2", starts=29))
    (new_id,) = client.post(AM, json=fresh).json()["groups"]
    proposed = client.get(f"/v1/alert-groups/{new_id}").json()
    assert proposed["reopen"]["incident_id"] == incident["id"]
    assert proposed["reopen"]["incident_status"] == "closed"
    assert not any(
        e["kind"] == "alert" and "DiskPressure" in e["text"] and not e["data"].get("proposal")
        for e in events(client, incident["id"])
    )


def test_after_the_reopen_window_it_is_a_new_candidate_without_a_proposal(
    client: TestClient, clock: Clock
) -> None:
    _, incident = declared_then(client, "mitigating", "resolved")
    clock.set(10)
    ended = checkout()
    for item in ended["alerts"]:
        item["status"], item["endsAt"] = "resolved", "2026-03-02T09:09:00Z"
    ended["status"] = "resolved"
    assert client.post(AM, json=ended).json()["changed"] == 3
    before = events(client, incident["id"])
    clock.set(125)  # the packaged reopen window is one hour
    later = payload(
        alert("HighErrorRate", service="checkout-api", severity="critical", starts=121),
        alert("HighLatency", service="checkout-api", severity="warning", starts=122),
    )
    result = client.post(AM, json=later).json()
    (new_id,) = result["candidates"]
    group = client.get(f"/v1/alert-groups/{new_id}").json()
    assert group["status"] == "candidate" and group["reopen"] is None
    assert group["incident_id"] is None
    assert events(client, incident["id"]) == before
    # Without a proposal there is nothing to reopen; its incident stays resolved.
    refused = client.post(f"/v1/alert-groups/{new_id}/reopen", json={})
    assert refused.status_code == 409 and "does not propose" in refused.json()["detail"]
    assert client.get(f"/v1/incidents/{incident['id']}").json()["status"] == "resolved"


def test_reopen_refuses_bad_input_with_a_4xx(client: TestClient) -> None:
    assert client.post("/v1/alert-groups/999/reopen", json={}).status_code == 404
    assert client.post("/v1/alert-groups/x1/reopen", json={}).status_code == 422
    bad = client.post("/v1/alert-groups/1/reopen", json={"status": "resolved"})
    assert bad.status_code == 422 and "status" in bad.text
