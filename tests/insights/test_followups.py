"""Follow-ups over HTTP and the CLI: tracked, overdue listed first, signed webhooks on change."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings
from tests.conftest import run_cli
from tests.integrations.test_webhooks import Receiver, check_signed, hook_settings

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    with IncidentStore(database_url, clock=lambda: NOW) as store:
        app = create_app(settings, incident_store=store, load_knowledge=False)
        with TestClient(app) as test_client:
            yield test_client


def _incident(client: TestClient) -> str:
    r = client.post(
        "/v1/incidents",
        json={"title": "Checkout 502s", "severity": "SEV2", "declared_at": "2026-03-01T09:00Z"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_create_list_change_and_overdue(client: TestClient) -> None:
    incident = _incident(client)
    made = [
        client.post("/v1/follow-ups", json=body)
        for body in (
            {"title": "Add a pool alert", "incident_id": incident, "due_on": "2026-03-01"},
            {"title": "Write the runbook", "owner": "Dana", "due_on": "2026-04-01"},
            {"title": "Review limits", "team": "Team-Data", "priority": "high"},
            {"title": "Old one", "due_on": "2026-02-01", "status": "done"},
        )
    ]
    assert [r.status_code for r in made] == [201] * 4, [r.text for r in made]
    first = made[0].json()
    assert first["id"] == "FU-1" and first["incident_id"] == incident
    assert first["overdue"] is True and first["status"] == "open"
    assert made[2].json()["team"] == "team-data"
    assert made[3].json()["overdue"] is False  # done is never overdue
    assert made[3].json()["closed_at"] is not None

    listed = client.get("/v1/follow-ups").json()
    # Overdue first, then by due date, those without one last.
    assert [f["id"] for f in listed["follow_ups"]] == ["FU-1", "FU-4", "FU-2", "FU-3"]
    assert listed["overdue"] == 1 and listed["count"] == 4
    only_late = client.get("/v1/follow-ups", params={"overdue": "true"}).json()
    assert [f["id"] for f in only_late["follow_ups"]] == ["FU-1"]
    by_incident = client.get("/v1/follow-ups", params={"incident": incident}).json()
    assert [f["id"] for f in by_incident["follow_ups"]] == ["FU-1"]

    r = client.patch(
        "/v1/follow-ups/FU-1",
        json={"status": "done", "external_url": "https://tracker.example.com/T-1"},
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done" and done["overdue"] is False and done["closed_at"]
    assert done["external_url"] == "https://tracker.example.com/T-1"
    assert client.get("/v1/follow-ups/fu-1").json()["status"] == "done"
    assert client.get("/v1/follow-ups", params={"overdue": "true"}).json()["count"] == 0
    reopened = client.patch("/v1/follow-ups/FU-1", json={"status": "in_progress"}).json()
    assert reopened["closed_at"] is None and reopened["overdue"] is True

    # The incident it came from can be corrected, or cleared.
    moved = client.patch("/v1/follow-ups/FU-2", json={"incident_id": incident.lower()}).json()
    assert moved["incident_id"] == incident
    assert client.get("/v1/follow-ups", params={"incident": incident}).json()["count"] == 2
    cleared = client.patch("/v1/follow-ups/FU-2", json={"incident_id": None, "owner": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["incident_id"] is None and cleared.json()["owner"] is None


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("post", "/v1/follow-ups", {"title": ""}, 422, "title"),
        ("post", "/v1/follow-ups", {"title": "x", "status": "finished"}, 422, "status"),
        ("post", "/v1/follow-ups", {"title": "x", "due_on": "next week"}, 422, "due_on"),
        ("post", "/v1/follow-ups", {"title": "x", "external_url": "javascript:x"}, 422, "url"),
        ("post", "/v1/follow-ups", {"title": "x", "incident_id": "INC-999"}, 404, "incident not"),
        ("post", "/v1/follow-ups", {"title": "x", "colour": "red"}, 422, "colour"),
        ("patch", "/v1/follow-ups/FU-1", {}, 422, "nothing to change"),
        ("patch", "/v1/follow-ups/FU-1", {"title": None}, 422, "cannot be cleared"),
        ("patch", "/v1/follow-ups/FU-1", {"status": None}, 422, "cannot be cleared"),
        ("patch", "/v1/follow-ups/FU-1", {"incident_id": "INC-999"}, 404, "incident not"),
        ("patch", "/v1/follow-ups/FU-77", {"status": "done"}, 404, "follow-up not found"),
        ("get", "/v1/follow-ups/banana", None, 404, "FU-12"),
        ("get", "/v1/follow-ups?limit=0", None, 422, "limit"),
    ],
)
def test_bad_input_is_a_clear_4xx(
    client: TestClient, method: str, path: str, body: Any, status: int, says: str
) -> None:
    client.post("/v1/follow-ups", json={"title": "exists"})
    r = client.request(method.upper(), path, json=body)
    assert r.status_code == status, r.text
    assert says.lower() in r.text.lower()
    assert "Traceback" not in r.text


def test_changes_are_sent_as_signed_webhooks(tmp_path: Path) -> None:
    with Receiver() as receiver:
        settings = hook_settings(tmp_path, [receiver.url])
        with (
            IncidentStore(settings.sqlalchemy_url) as store,
            TestClient(create_app(settings, incident_store=store, load_knowledge=False)) as c,
        ):
            c.post("/v1/follow-ups", json={"title": "Add alert", "owner": "Dana"})
            c.patch("/v1/follow-ups/FU-1", json={"status": "in_progress"})
            c.patch("/v1/follow-ups/FU-1", json={"status": "in_progress"})  # no change: no event
            c.patch("/v1/follow-ups/FU-1", json={"due_on": "2026-12-24"})
            receiver.wait_for(3)
            time.sleep(0.2)
    assert receiver.events() == ["follow_up.created", "follow_up.changed", "follow_up.changed"]
    for request in receiver.requests:
        check_signed(request)
    payloads = receiver.payloads()
    assert payloads[0]["follow_up"]["title"] == "Add alert" and payloads[0]["changes"] == {}
    assert payloads[1]["changes"] == {"status": ["open", "in_progress"]}
    assert payloads[2]["changes"] == {"due_on": [None, "2026-12-24"]}


def test_secrets_in_a_follow_up_are_redacted_where_shown(client: TestClient) -> None:
    r = client.post(
        "/v1/follow-ups",
        json={"title": "Rotate password=hunter2hunter2 on db", "owner": "ops@example.com"},
    )
    shown = json.dumps(r.json())
    assert "hunter2hunter2" not in shown and "ops@example.com" not in shown


def test_cli_add_list_update(cli_data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys, "follow-ups", "add", "Add an alert", "--due", "2020-01-01", "--owner", "Dana"
    )
    assert code == 0 and "FU-1 [open]" in out and "OVERDUE" in out
    code, out, _ = run_cli(capsys, "follow-ups", "list", "--overdue", "--json")
    listed = json.loads(out)
    assert [f["id"] for f in listed["follow_ups"]] == ["FU-1"]
    code, out, _ = run_cli(capsys, "follow-ups", "update", "FU-1", "--status", "done")
    assert code == 0 and "[done]" in out and "OVERDUE" not in out
    code, _, err = run_cli(capsys, "follow-ups", "update", "FU-1")
    assert code == 2 and "nothing to change" in err
    code, _, err = run_cli(capsys, "follow-ups", "show", "FU-9")
    assert code == 1 and "no follow-up FU-9" in err
    assert date.fromisoformat(listed["follow_ups"][0]["due_on"]) == date(2020, 1, 1)
    # A status as people write it: "in-progress", "won't do".
    code, out, err = run_cli(capsys, "follow-ups", "update", "FU-1", "--status", "in-progress")
    assert code == 0 and "[in_progress]" in out, err
    code, out, _ = run_cli(capsys, "follow-ups", "list", "--status", "In progress", "--json")
    assert [f["id"] for f in json.loads(out)["follow_ups"]] == ["FU-1"]
    code, out, err = run_cli(capsys, "follow-ups", "update", "FU-1", "--status", "won't do")
    assert code == 0 and "[wont_do]" in out, err
    with pytest.raises(SystemExit) as refused:
        run_cli(capsys, "follow-ups", "update", "FU-1", "--status", "later")
    assert refused.value.code == 2 and "invalid choice: 'later'" in capsys.readouterr().err
