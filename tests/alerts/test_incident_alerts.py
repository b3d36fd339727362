"""GET /v1/incidents/{id}/alerts: an incident's linked alerts counted, and when every one has
resolved, saying so without resolving the incident."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.alerts.conftest import Clock, alert, iso, payload


def storm(
    *, resolved: frozenset[str] = frozenset(), ends: float = 20, starts: float = 0
) -> dict[str, object]:
    names = ("HighErrorRate", "HighLatency")
    return payload(
        *(
            alert(
                name,
                service="checkout-api",
                severity="critical",
                starts=starts + i,
                status="resolved" if name in resolved else "firing",
                ends=ends if name in resolved else None,
            )
            for i, name in enumerate(names)
        )
    )


def test_every_alert_resolved_is_said_and_the_incident_stays_open(
    client: TestClient, clock: Clock
) -> None:
    assert client.post("/v1/alerts/alertmanager", json=storm()).status_code == 200
    (group,) = client.get("/v1/alert-groups", params={"status": "candidate"}).json()["items"]
    declared = client.post(f"/v1/alert-groups/{group['id']}/declare", json={})
    assert declared.status_code == 201, declared.text
    incident_id = declared.json()["id"]
    url = f"/v1/incidents/{incident_id}/alerts"

    firing = client.get(url).json()
    assert firing == {
        "incident_id": incident_id,
        "groups": [group["id"]],
        "alerts": 2,
        "firing": 2,
        "resolved": 0,
        "all_resolved": False,
        "last_resolved_at": None,
    }

    # One resolves: not all.
    clock.set(21)
    body = storm(resolved=frozenset({"HighErrorRate"}), ends=20)
    assert client.post("/v1/alerts/alertmanager", json=body).status_code == 200
    half = client.get(url).json()
    assert (half["firing"], half["resolved"], half["all_resolved"]) == (1, 1, False)

    # Both resolve: said, with when the last one ended; the incident is left as it was.
    clock.set(31)
    body = storm(resolved=frozenset({"HighErrorRate", "HighLatency"}), ends=30)
    assert client.post("/v1/alerts/alertmanager", json=body).status_code == 200
    done = client.get(url).json()
    assert (done["firing"], done["resolved"], done["all_resolved"]) == (0, 2, True)
    assert done["last_resolved_at"].replace("+00:00", "Z") == iso(30)
    assert client.get(f"/v1/incidents/{incident_id}").json()["status"] == "triage"

    # Firing again (a new start): no longer all resolved.
    clock.set(35)
    assert client.post("/v1/alerts/alertmanager", json=storm(starts=34)).status_code == 200
    again = client.get(url).json()
    assert (again["firing"], again["all_resolved"], again["last_resolved_at"]) == (2, False, None)


def test_an_incident_without_alerts_and_an_unknown_one(client: TestClient) -> None:
    made = client.post("/v1/incidents", json={"title": "Typed by a person", "severity": "SEV3"})
    assert made.status_code == 201, made.text
    none = client.get(f"/v1/incidents/{made.json()['id']}/alerts").json()
    assert (none["alerts"], none["groups"], none["all_resolved"]) == (0, [], False)

    missing = client.get("/v1/incidents/INC-999/alerts")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "incident not found"}
    assert client.get("/v1/incidents/nonsense/alerts").status_code == 404
