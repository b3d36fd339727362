"""The status-update API over HTTP, against a real SQLite store."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.incidents.db import IncidentStore
from copilot.settings import Settings
from tests.status.conftest import Clock, at, draft, move

# What a public update must never carry, from the worked incident's record.
PRIVATE = [
    "checkout-api",
    "payments-gateway",
    "orders-db",
    "prod-eu-1",
    "10.20.3.4",
    "Priya",
    "Raman",
    "Tomasz",
    "Wolny",
    "Dana",
    "JIRA-881",
    "INC-1",
    "PSP",
    "PgBouncer",
    "pods",
    "4411",
    "v4410",
    "argocd",
    "£12k",
    "revenue",
    "deploy",
    "roll",
]


def _text(d: dict[str, Any]) -> str:
    return f"{d['title']}\n{d['body']}"


def test_a_public_draft_follows_the_contract_and_leaks_nothing(
    client: TestClient, incident: dict[str, Any]
) -> None:
    d = draft(client, incident["id"], "public")
    assert {"id", "audience", "title", "body", "status", "next_update_by", "guardrails"} <= set(d)
    assert d["audience"] == "public" and d["status"] == "investigating"
    assert d["state"] == "draft" and d["provider"] == "template"
    text = _text(d)
    for item in PRIVATE:
        assert item.lower() not in text.lower(), item
    # Impact first, in the record's own words, then what is being done and when the next comes.
    assert d["body"].startswith("Payments are failing for about 30% of customers in Europe.")
    assert "We are investigating" in d["body"]
    # The clock is at T0+60 (10:00); SEV2 updates every hour.
    assert d["next_update_by"] == "2026-03-02T11:00:00Z"
    assert "**Next update:** by 11:00 UTC" in d["body"]
    assert d["title"] == "Disruption to Checkout and Payments"
    assert d["components"] == ["Checkout", "Payments"]
    removed = {(f["check"], f["kind"], f["text"]) for f in d["guardrails"]["removed"]}
    assert ("leak", "hostname", "prod-eu-1") in removed
    assert ("leak", "business", "Revenue") in removed
    assert d["guardrails"]["checks"] == ["leak", "secret", "fact", "instructions"]


def test_internal_and_executive_drafts_carry_what_their_readers_need(
    client: TestClient, incident: dict[str, Any]
) -> None:
    internal = draft(client, incident["id"], "internal")
    body = internal["body"]
    assert internal["title"] == "INC-1 (SEV2, triage): checkout-api returns 502 after deploy 4411"
    assert "**Current hypothesis:** 09:20 UTC Deploy 4411 exhausted" in body
    assert "- Incident commander: Priya Raman" in body and "Responders: Tomasz Wolny" in body
    assert "- 09:25 UTC action: Rolled back checkout-api to v4410 with argocd" in body
    assert "Decision needed: ETA 10:30 UTC" in body
    assert "Next update by 11:00 UTC (every 1 hour at SEV2)." in body
    # Responders may read hosts, but never an address or a secret: redacted in place.
    assert "orders-db-0 ([REDACTED:ipv4])" in body and "10.20.3.4" not in body
    assert internal["guardrails"]["removed"] == [
        {
            "check": "secret",
            "kind": "ipv4",
            "text": "[REDACTED:ipv4]",
            "action": "redacted",
            "replacement": None,
        }
    ]

    execu = draft(client, incident["id"], "executive")
    body = execu["body"]
    assert execu["title"] == "INC-1 leadership update: Checkout returns 502 after deploy 4411"
    assert body.startswith("**Where we are:** investigating")
    assert "**Business impact:** Payments are failing for about 30% of customers in Europe." in body
    assert "Revenue loss is about £12k an hour." in body
    assert "**Severity:** SEV2 (Major)." in body
    assert "**ETA to recovery:** ETA 10:30 UTC if the rollback holds" in body
    assert "**Decisions needed:** ETA 10:30 UTC" in body
    # No jargon: the crash-looping pods on a cluster are not a leadership concern.
    assert "prod-eu-1" not in body and "pods" not in body


@pytest.mark.parametrize(
    ("status", "phase", "public_words", "internal_words"),
    [
        ("mobilized", "investigating", "We are investigating", "investigating; the cause"),
        ("mitigating", "identified", "We have identified the problem", "cause identified"),
        ("monitoring", "monitoring", "A fix is in place", "mitigated at 09:50 UTC"),
        ("resolved", "resolved", "This incident has been resolved.", "**Resolved** at 09:50 UTC"),
    ],
)
def test_wording_follows_the_lifecycle(
    client: TestClient,
    incident: dict[str, Any],
    status: str,
    phase: str,
    public_words: str,
    internal_words: str,
) -> None:
    move(client, incident["id"], status, 50)
    public = draft(client, incident["id"], "public")
    internal = draft(client, incident["id"], "internal")
    assert public["status"] == internal["status"] == phase
    assert public_words in public["body"]
    assert internal_words in internal["body"]
    if phase == "resolved":
        assert public["next_update_by"] is None
        assert "Next update" not in public["body"]
        assert "Customers were affected from 09:00 UTC to 09:50 UTC (50 minutes)." in public["body"]
    else:
        assert public["next_update_by"] == "2026-03-02T11:00:00Z"


def test_publishing_records_a_status_update_the_cadence_reads(
    client: TestClient, incident: dict[str, Any], clock: Clock
) -> None:
    before = client.get(f"/v1/incidents/{incident['id']}").json()
    assert before["last_status_update_at"] is None
    assert before["update_overdue"] is False and before["next_update_due"] == "2026-03-02T10:10:00Z"
    clock.set(75)  # 10:15: the first update is overdue
    assert client.get(f"/v1/incidents/{incident['id']}").json()["update_overdue"] is True

    d = draft(client, incident["id"], "public")
    r = client.post(f"/v1/incidents/{incident['id']}/status-updates/{d['id']}/publish")
    assert r.status_code == 200, r.text
    published = r.json()
    assert published["state"] == "published" and published["edited"] is False
    assert published["published_at"] == "2026-03-02T10:15:00Z"

    events = client.get(f"/v1/incidents/{incident['id']}/events?kind=status_update").json()
    [event] = events["events"]
    assert event["id"] == published["event_id"]
    assert event["data"]["audience"] == "public" and event["data"]["status_draft"] == d["id"]
    assert event["text"] == f"{d['title']}\n\n{d['body']}"

    after = client.get(f"/v1/incidents/{incident['id']}").json()
    assert after["last_status_update_at"] == "2026-03-02T10:15:00Z"
    assert after["next_update_due"] == "2026-03-02T11:15:00Z" and after["update_overdue"] is False
    metrics = client.get(f"/v1/incidents/{incident['id']}/metrics").json()
    assert metrics["update_cadence"]["updates_published"] == 1


def test_publishing_twice_is_a_conflict(client: TestClient, incident: dict[str, Any]) -> None:
    d = draft(client, incident["id"], "internal")
    url = f"/v1/incidents/{incident['id']}/status-updates/{d['id']}/publish"
    assert client.post(url).status_code == 200
    again = client.post(url, json={"body": "Something else entirely."})
    assert again.status_code == 409
    assert "already published" in again.json()["detail"]
    events = client.get(f"/v1/incidents/{incident['id']}/events?kind=status_update").json()
    assert len(events["events"]) == 1


def test_an_edited_body_passes_the_same_checks(
    client: TestClient, incident: dict[str, Any]
) -> None:
    d = draft(client, incident["id"], "public")
    url = f"/v1/incidents/{incident['id']}/status-updates/{d['id']}/publish"

    leaky = d["body"] + "\n\nPriya Raman rolled back checkout-api on prod-eu-1."
    r = client.post(url, json={"body": leaky})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "'Priya Raman' (person)" in detail and "'prod-eu-1'" in detail

    invented = d["body"].replace("about 30%", "about 45%") + "\nWe expect a fix by 10:45 UTC."
    r = client.post(url, json={"body": invented})
    assert r.status_code == 422
    assert "'45%' (percentage not in the incident record)" in r.json()["detail"]
    assert "'10:45' (time not in the incident record)" in r.json()["detail"]

    no_promise = d["body"].replace("**Next update:** by 11:00 UTC", "")
    r = client.post(url, json={"body": no_promise})
    assert r.status_code == 422 and "next update time" in r.json()["detail"]

    # Refusals publish nothing; a clean edit goes out as written.
    edited = d["body"].replace("We are investigating", "Our team is investigating")
    r = client.post(url, json={"body": edited, "author": "Dana Okafor"})
    assert r.status_code == 200, r.text
    published = r.json()
    assert published["edited"] is True and published["body"] == edited
    assert published["published_by"] == "Dana Okafor"
    events = client.get(f"/v1/incidents/{incident['id']}/events?kind=status_update").json()
    assert [e["author"] for e in events["events"]] == ["Dana Okafor"]


def test_a_draft_from_an_earlier_phase_cannot_be_published(
    client: TestClient, incident: dict[str, Any]
) -> None:
    d = draft(client, incident["id"], "public")
    move(client, incident["id"], "monitoring", 55)
    r = client.post(f"/v1/incidents/{incident['id']}/status-updates/{d['id']}/publish")
    assert r.status_code == 409
    assert "investigating" in r.json()["detail"] and "monitoring" in r.json()["detail"]


def test_a_draft_whose_promised_time_has_passed_cannot_be_published(
    client: TestClient, incident: dict[str, Any], clock: Clock
) -> None:
    d = draft(client, incident["id"], "public")
    clock.set(125)
    r = client.post(f"/v1/incidents/{incident['id']}/status-updates/{d['id']}/publish")
    assert r.status_code == 409 and "has passed" in r.json()["detail"]


def test_bad_input(client: TestClient, incident: dict[str, Any]) -> None:
    base = f"/v1/incidents/{incident['id']}/status-updates"
    r = client.post(base, json={"audience": "investors"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "audience"
    assert client.post(base, json={}).status_code == 422
    assert client.post(base, json={"audience": "public", "tone": "x"}).status_code == 422
    r = client.post("/v1/incidents/INC-999/status-updates", json={"audience": "public"})
    assert r.status_code == 404 and r.json()["detail"] == "incident not found"
    assert (
        client.post("/v1/incidents/nope/status-updates", json={"audience": "public"}).status_code
        == 404
    )
    for draft_id in ("999", "abc", "0", "99999999999"):
        assert client.get(f"{base}/{draft_id}").status_code == 404
        assert client.post(f"{base}/{draft_id}/publish").status_code == 404
        assert client.get(f"{base}/{draft_id}/export").status_code == 404
    d = draft(client, incident["id"], "public")
    r = client.post(f"{base}/{d['id']}/publish", json={"body": "   "})
    assert r.status_code == 422
    # A draft belongs to its incident.
    other = client.post(
        "/v1/incidents", json={"title": "Search is slow", "severity": "SEV3", "declared_at": at(1)}
    ).json()
    assert client.get(f"/v1/incidents/{other['id']}/status-updates/{d['id']}").status_code == 404
    r = client.post(f"/v1/incidents/{other['id']}/status-updates/{d['id']}/publish")
    assert r.status_code == 404


def test_drafts_are_listed_and_survive_a_restart(
    settings: Settings, client: TestClient, incident: dict[str, Any], clock: Clock
) -> None:
    first = draft(client, incident["id"], "public")
    second = draft(client, incident["id"], "internal")
    base = f"/v1/incidents/{incident['id']}/status-updates"
    client.post(f"{base}/{first['id']}/publish")
    listed = client.get(base).json()
    assert [d["id"] for d in listed["drafts"]] == [second["id"], first["id"]]
    assert [d["id"] for d in client.get(f"{base}?audience=public").json()["drafts"]] == [
        first["id"]
    ]
    assert client.get(f"{base}?audience=board").status_code == 422

    with IncidentStore(settings.sqlalchemy_url, clock=clock) as reopened:
        from copilot.status import service

        again = service.get_draft(store=reopened, incident_id="inc-1", draft_id=first["id"])
    assert again.state == "published" and again.body == first["body"]
    assert again.event_id is not None


def test_export_of_a_published_public_update(client: TestClient, incident: dict[str, Any]) -> None:
    move(client, incident["id"], "mitigating", 40)
    d = draft(client, incident["id"], "public")
    base = f"/v1/incidents/{incident['id']}/status-updates/{d['id']}"
    r = client.get(f"{base}/export")
    assert r.status_code == 409 and "not published" in r.json()["detail"]
    client.post(f"{base}/publish")
    out = client.get(f"{base}/export").json()
    page = out["statuspage"]
    assert page["name"] == "Disruption to Checkout and Payments"
    assert page["status"] == "identified"
    assert page["body"] == d["body"]
    assert page["components"] == [
        {"name": "Checkout", "status": "partial_outage"},
        {"name": "Payments", "status": "partial_outage"},
    ]
    slack = out["slack"]
    assert slack.startswith(":large_orange_circle: *Disruption to Checkout and Payments*")
    assert "*Affected:* Checkout and Payments" in slack and "**" not in slack
    assert out["next_update_by"] == "2026-03-02T11:00:00Z"


def test_export_of_an_internal_update_is_slack_only(
    client: TestClient, incident: dict[str, Any]
) -> None:
    d = draft(client, incident["id"], "internal")
    base = f"/v1/incidents/{incident['id']}/status-updates/{d['id']}"
    client.post(f"{base}/publish")
    out = client.get(f"{base}/export").json()
    assert out["statuspage"] is None
    assert "• Incident commander: Priya Raman" in out["slack"]
    assert re.search(r"^\*Roles\*$", out["slack"], re.M)


def test_each_draft_is_audited_without_counting_as_work(
    client: TestClient, incident: dict[str, Any]
) -> None:
    draft(client, incident["id"], "public")
    notes = client.get(f"/v1/incidents/{incident['id']}/events?kind=note").json()["events"]
    audit = [e for e in notes if "audit" in e["data"]]
    assert len(audit) == 1 and "public status update" in audit[0]["text"]
    # The audit note is not something the responders did: a second draft does not list it.
    internal = draft(client, incident["id"], "internal")
    assert "Copilot drafted" not in internal["body"]
