"""Every copilot output is recorded: who, the redacted question, its sources, when; and an
incident's timeline shows it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.cli import main
from copilot.incidents import schemas as incident_schemas
from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.security.audit import AuditLog, record_output
from copilot.settings import get_settings
from tests.conftest import SAMPLE_KB, write
from tests.security.conftest import bearer, make_settings, new_key

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
# The question quotes a runbook command: were the audit note taken for work done, the next
# answer would drop that step.
QUESTION = (
    f"vault is sealed, pods stuck in Init:0/1. Should we run kubectl -n vault delete pod vault-3? "
    f"I used key {AWS_KEY}"
)


def test_an_ask_is_audited_and_shows_on_the_incident_timeline(
    app_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    alice = bearer(new_key(settings, "alice", "read", "respond"))
    admin = bearer(new_key(settings, "auditor", "admin"))
    client = app_client(settings)
    inc = client.post(
        "/v1/incidents", json={"title": "Vault sealed", "severity": "SEV2"}, headers=alice
    ).json()["id"]

    started = datetime.now(UTC) - timedelta(seconds=1)
    first = client.post("/v1/ask", json={"question": QUESTION, "incident_id": inc}, headers=alice)
    assert first.status_code == 200
    answer = first.json()

    records = client.get("/v1/admin/audit", headers=admin).json()["records"]
    assert len(records) == 1
    record = records[0]
    assert record["who"] == "alice" and record["action"] == "ask"
    assert record["incident_id"] == inc
    assert AWS_KEY not in json.dumps(record) and "[REDACTED:aws_access_key]" in record["question"]
    cited = {f"{c['source']}:{c['lines'][0]}-{c['lines'][1]}" for c in answer["citations"]}
    assert cited and cited <= set(record["sources"])
    assert datetime.fromisoformat(record["at"]) >= started.replace(microsecond=0)
    assert record["request_id"] == first.headers["x-request-id"]

    events = client.get(f"/v1/incidents/{inc}/events", headers=alice).json()["events"]
    notes = [e for e in events if e["kind"] == "note"]
    assert len(notes) == 1
    note = notes[0]
    assert note["author"] == "copilot"
    assert note["data"]["audit"]["who"] == "alice"
    assert note["data"]["audit"]["id"] == record["id"]
    assert "alice" in note["text"] and "[REDACTED:aws_access_key]" in note["text"]
    assert AWS_KEY not in json.dumps(events)

    # The audit note is the copilot's, not work the responders did: the same question gets the
    # same steps, none skipped as done.
    second = client.post("/v1/ask", json={"question": QUESTION, "incident_id": inc}, headers=alice)
    assert second.json()["skipped_done"] == []
    assert [s["text"] for s in second.json()["steps"]] == [s["text"] for s in answer["steps"]]

    only = client.get(f"/v1/admin/audit?incident_id={inc.lower()}", headers=admin).json()
    assert len(only["records"]) == 2
    assert client.get("/v1/admin/audit", headers=alice).status_code == 403


def test_an_open_server_audits_asks_as_anonymous(
    app_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    client = app_client(settings)
    assert (
        client.post("/v1/ask", json={"question": "dns lookups failing everywhere"}).status_code
        == 200
    )
    audit = AuditLog(settings.security_path)
    try:
        (record,) = audit.list()
    finally:
        audit.close()
    assert record.who == "anonymous" and record.incident_id is None and record.sources


def test_drafts_and_postmortems_record_through_the_same_function(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    audit = AuditLog(settings.security_path)
    with IncidentStore(settings.sqlalchemy_url) as store:
        inc = incidents.declare(
            store=store,
            request=incident_schemas.IncidentCreate(title="Checkout down", severity="SEV1"),
        )
        for action in ("status_update", "postmortem"):
            record = record_output(
                audit=audit,
                incidents=store,
                who="bob",
                action=action,
                question=f"{action} for executives; ping ops@larkfield-example.com",
                sources=["runbooks/checkout-error-rate-high.md:10-20"],
                incident_id=inc.id.lower(),
            )
            assert record is not None and record.incident_id == inc.id
        events = incidents.list_events(store=store, incident_id=inc.id, kind="note")
    texts = [e.text for e in events]
    assert any("drafted a status update for bob" in t for t in texts)
    assert any("drafted the postmortem for bob" in t for t in texts)
    assert not any("ops@larkfield-example.com" in t for t in texts)
    assert [r.action for r in audit.list()] == ["postmortem", "status_update"]
    with pytest.raises(ValueError):
        audit.append(who="x", action="delete_everything", question="q", sources=[])
    audit.close()


def test_an_audit_failure_does_not_lose_the_answer(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the data dir should be")
    audit = AuditLog(blocked / "security.sqlite")
    record = record_output(
        audit=audit, incidents=None, who="x", action="ask", question="q", sources=[]
    )
    assert record is None


def test_cli_asks_are_audited_and_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COPILOT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        root = tmp_path / "kb"
        write(root, "runbooks/vault.md", (SAMPLE_KB / "runbooks/vault-sealed.md").read_text())
        assert main(["ingest", str(root)]) == 0
        assert main(["ask", f"vault sealed, token {AWS_KEY}", "--json"]) == 0
        capsys.readouterr()
        assert main(["audit", "list", "--json"]) == 0
        records = json.loads(capsys.readouterr().out)["records"]
    finally:
        get_settings.cache_clear()
    assert len(records) == 1
    assert records[0]["who"].startswith("cli:")
    assert AWS_KEY not in records[0]["question"]
    assert any(s.startswith("runbooks/vault.md:") for s in records[0]["sources"])


def test_the_audit_log_stores_redacted_records_newest_first(database_url: str) -> None:
    """The audit table on SQLite and on PostgreSQL: ids, filters, redaction, limits."""
    audit = AuditLog(database_url)
    assert audit.list() == []
    first = audit.append(
        who="alice",
        action="ask",
        question=f"token {AWS_KEY}",
        sources=["runbooks/a.md:1-9"],
        incident_id="INC-1",
        request_id="r-1",
    )
    second = audit.append(who="bob", action="postmortem", question="draft it", sources=[])
    assert second.id > first.id
    assert AWS_KEY not in first.question and "[REDACTED:aws_access_key]" in first.question
    reader = AuditLog(database_url)  # another process's view
    assert [r.id for r in reader.list()] == [second.id, first.id]
    assert reader.list(incident_id="INC-1") == [first]
    assert reader.list(limit=1) == [second]
    assert reader.list()[1].sources == ["runbooks/a.md:1-9"]
    audit.close()
    reader.close()
