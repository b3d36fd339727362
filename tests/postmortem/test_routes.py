"""`POST /v1/incidents/{id}/postmortem` over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings
from tests.postmortem.conftest import Worked


def test_contract_fields(client: TestClient, worked: Worked) -> None:
    r = client.post(f"/v1/incidents/{worked.id}/postmortem")
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"markdown", "sections", "metrics", "similar_incidents", "guardrails"} <= set(body)
    assert body["markdown"].startswith("---\n")
    assert set(body["sections"]) == {
        "summary",
        "impact",
        "timeline",
        "detection",
        "response",
        "root_cause",
        "retrospective",
        "action_items",
        "runbook_updates",
        "similar_incidents",
        "metrics",
        "review",
    }
    assert body["metrics"]["incident_id"] == worked.id
    assert body["similar_incidents"][0]["source"].startswith("postmortems/")
    assert set(body["guardrails"]) == {"redactions", "injection_suspected", "blocked", "removed"}
    assert body["guardrails"]["redactions"] >= 1  # the phone number on the timeline
    assert "7946 0958" not in r.text


def test_lower_case_and_bare_ids_are_the_same_incident(client: TestClient, worked: Worked) -> None:
    number = worked.id.split("-")[1]
    r = client.post(f"/v1/incidents/{number}/postmortem", json={"similar": 0})
    assert r.status_code == 200
    assert r.json()["incident_id"] == worked.id and r.json()["similar_incidents"] == []


@pytest.mark.parametrize("incident_id", ["INC-999", "not-an-id"])
def test_unknown_incident_is_404(client: TestClient, incident_id: str) -> None:
    r = client.post(f"/v1/incidents/{incident_id}/postmortem")
    assert r.status_code == 404
    assert r.json()["detail"].startswith("incident not found")


@pytest.mark.parametrize("body", [{"similar": 11}, {"similar": -1}, {"simlar": 2}])
def test_bad_body_is_422_with_the_field(
    client: TestClient, worked: Worked, body: dict[str, int]
) -> None:
    r = client.post(f"/v1/incidents/{worked.id}/postmortem", json=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] in ("similar", "simlar")


def test_the_draft_is_audited_on_the_timeline_and_left_out_of_the_next_draft(
    client: TestClient, worked: Worked
) -> None:
    first = client.post(f"/v1/incidents/{worked.id}/postmortem").json()
    events = client.get(f"/v1/incidents/{worked.id}/events").json()["events"]
    audits = [e for e in events if e["data"].get("audit", {}).get("action") == "postmortem"]
    assert len(audits) == 1
    assert audits[0]["data"]["audit"]["sources"]  # the passages the draft cites
    second = client.post(f"/v1/incidents/{worked.id}/postmortem").json()
    assert [e["event_id"] for e in second["timeline"]] == [e["event_id"] for e in first["timeline"]]


@pytest.fixture
def bare_client(settings: Settings, store: IncidentStore) -> Iterator[TestClient]:
    """The app without a knowledge base loaded."""
    app = create_app(settings, incident_store=store, load_knowledge=False)
    with TestClient(app) as test_client:
        yield test_client


def test_without_a_knowledge_base_the_draft_says_so(
    bare_client: TestClient, worked: Worked
) -> None:
    r = bare_client.post(f"/v1/incidents/{worked.id}/postmortem")
    assert r.status_code == 200
    body = r.json()
    assert body["similar_incidents"] == [] and body["runbook_updates"] == []
    assert "knowledge base is not loaded" in body["sections"]["similar_incidents"]
    # Recurrence still counts the incident store.
    assert any(worked.earlier in rec["incidents"] for rec in body["recurring"])


def test_a_team_template_from_settings(
    tmp_path: Path, store: IncidentStore, worked: Worked
) -> None:
    template = tmp_path / "team.md"
    template.write_text(
        "# {{ title }}\n\n## What happened\n\n{{ summary }}\n\n## Chronology\n\n{{ timeline }}\n\n"
        "## Customer communication\n\nWho told customers what, and when.\n",
        encoding="utf-8",
    )
    settings = Settings(data_dir=tmp_path / "d", postmortem_template=template, _env_file=None)
    with TestClient(create_app(settings, incident_store=store, load_knowledge=False)) as client:
        body = client.post(f"/v1/incidents/{worked.id}/postmortem").json()
    assert body["template"] == str(template)
    assert body["headings"] == {"summary": "What happened", "timeline": "Chronology"}
    assert set(body["sections"]) == {"summary", "timeline"}
    assert "## Customer communication\n\nWho told customers what, and when." in body["markdown"]
    assert "## Impact" not in body["markdown"]


def test_a_broken_team_template_is_a_plain_500(
    tmp_path: Path, store: IncidentStore, worked: Worked
) -> None:
    template = tmp_path / "team.md"
    template.write_text("## A\n\n{{ nonsense }}\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "d", postmortem_template=template, _env_file=None)
    with TestClient(create_app(settings, incident_store=store, load_knowledge=False)) as client:
        r = client.post(f"/v1/incidents/{worked.id}/postmortem")
    assert r.status_code == 500
    assert "unknown placeholder(s) nonsense" in r.json()["detail"]
    assert "Traceback" not in r.text


def test_runbooks_the_copilot_cited_during_the_incident_are_up_for_review(
    client: TestClient, worked: Worked
) -> None:
    asked = client.post(
        "/v1/ask",
        json={"question": "pgbouncer says too many clients", "incident_id": worked.id},
    )
    assert asked.status_code == 200
    top = asked.json()["citations"][0]["source"]
    body = client.post(f"/v1/incidents/{worked.id}/postmortem").json()
    review = [u for u in body["runbook_updates"] if u["action"] == "review"]
    cited = [u for u in review if "cited by the copilot" in u["text"]]
    assert [u["runbook"] for u in cited][:1] == [top]
    assert "The copilot answered 1 time(s)" in body["sections"]["response"]
    copilot_rows = [e for e in body["timeline"] if e["kind"] == "copilot"]
    assert len(copilot_rows) == 1
