"""`copilot status publish --component NAME=STATUS --impact ... --public-status ...` moves the
status page too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.settings import get_settings
from tests.conftest import run_cli
from tests.status.conftest import INCIDENT, draft


def _incident_with_draft() -> tuple[str, dict[str, Any]]:
    app = create_app(get_settings(), load_knowledge=False)
    with TestClient(app) as client:
        r = client.post("/v1/incidents", json={k: v for k, v in INCIDENT.items() if k != "at"})
        assert r.status_code == 201, r.text
        incident_id = r.json()["id"]
        return incident_id, draft(client, incident_id, "public")


def _summary() -> dict[str, Any]:
    app = create_app(get_settings(), load_knowledge=False)
    with TestClient(app) as client:
        result: dict[str, Any] = client.get("/status/api/v2/summary.json").json()
        return result


def test_publish_from_the_cli_sets_components_and_impact(
    cli_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    incident_id, d = _incident_with_draft()
    code, _, err = run_cli(
        capsys,
        "status",
        "publish",
        incident_id,
        str(d["id"]),
        "--component",
        "Checkout=major_outage",
        "--component",
        "payments=Degraded-Performance",  # as people type it
        "--impact",
        "critical",
        "--public-status",
        "identified",
    )
    assert code == 0, err
    summary = _summary()
    comps = {c["name"]: c["status"] for c in summary["components"]}
    assert comps["Checkout"] == "major_outage" and comps["Payments"] == "degraded_performance"
    [inc] = summary["incidents"]
    assert inc["impact"] == "critical" and inc["id"] == incident_id
    assert inc["status"] == "identified"  # the publisher's, not the phase's (investigating)


def test_bad_component_options_are_clear_errors_and_publish_nothing(
    cli_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    incident_id, d = _incident_with_draft()
    base = ("status", "publish", incident_id, str(d["id"]))
    code, _, err = run_cli(capsys, *base, "--component", "Checkout")
    assert code == 2 and "NAME=STATUS" in err
    code, _, err = run_cli(capsys, *base, "--component", "Teleporter=major_outage")
    assert code != 0 and "Teleporter" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, *base, "--component", "Checkout=on_fire")
    assert code != 0 and "Traceback" not in err
    assert _summary()["incidents"] == []


def test_tick_records_the_maintenance_moves_due(
    cli_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    from copilot.incidents.db import IncidentStore
    from copilot.status.config import StatusConfig
    from copilot.statuspage import config as page_config
    from copilot.statuspage import maintenance
    from copilot.statuspage import schemas as s

    # Scheduled in 2020 for an hour the next day: long over by the time the CLI runs.
    then = datetime(2020, 1, 1, tzinfo=UTC)
    with IncidentStore(get_settings().sqlalchemy_url, clock=lambda: then) as store:
        made = maintenance.create_maintenance(
            store=store,
            config=page_config.load(),
            catalog=StatusConfig.load().catalog,
            request=s.MaintenanceCreate(
                name="Payment provider upgrade",
                body="Card payments may be slower for a few minutes.",
                scheduled_for=then + timedelta(days=1),
                scheduled_until=then + timedelta(days=1, hours=1),
                components=["Payments"],
            ),
        )
    code, out, err = run_cli(capsys, "status-page", "tick")
    assert code == 0, err
    assert out.splitlines() == [
        f"MNT-{made.id}: scheduled -> in_progress at 2020-01-02T00:00:00+00:00",
        f"MNT-{made.id}: in_progress -> completed at 2020-01-02T01:00:00+00:00",
    ]
    code, out, _ = run_cli(capsys, "status-page", "tick")
    assert code == 0 and out.strip() == "no maintenance window is due to start or end"
