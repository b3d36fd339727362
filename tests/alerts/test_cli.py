"""`copilot alerts list|show|replay` in this process, over a data directory of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.alerts.conftest import alert, payload
from tests.conftest import run_cli


def _storm_file(tmp_path: Path) -> Path:
    storm = payload(
        alert("HighErrorRate", service="checkout-api", team="payments", severity="critical"),
        alert("HighLatency", service="checkout-api", team="payments"),
        alert("DiskFull", service="orders-db", team="payments"),
    )
    path = tmp_path / "storm.json"
    path.write_text(json.dumps([storm, storm]), encoding="utf-8")
    return path


def test_replay_list_and_show(
    cli_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "alerts", "replay", str(_storm_file(tmp_path)))
    assert code == 0, err
    assert "replayed 2 payload(s): 3 new alert(s)" in out
    assert "1 duplicate notification(s)" in out
    assert "2 group(s), 1 candidate(s)" in out
    code, out, _ = run_cli(capsys, "alerts", "list", "--groups", "--json")
    groups = json.loads(out)["items"]
    checkout = next(g for g in groups if g["services"] == ["checkout-api"])
    assert checkout["status"] == "candidate" and checkout["suggested_severity"] == "SEV2"
    code, out, _ = run_cli(capsys, "alerts", "show", str(checkout["id"]))
    assert code == 0
    assert "why: service checkout-api" in out and "joined: same service checkout-api" in out
    code, out, _ = run_cli(capsys, "alerts", "list", "--status", "firing")
    assert code == 0 and out.count("firing") == 3
    fingerprint = checkout["alerts"][0]["fingerprint"]
    code, out, _ = run_cli(capsys, "alerts", "show", fingerprint)
    assert code == 0 and out.startswith(fingerprint)
    code, _, err = run_cli(capsys, "alerts", "show", "0123456789abcdef")
    assert code == 1 and "no alert with fingerprint" in err


def test_replay_with_other_rules_groups_otherwise(
    cli_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - name: by-team\n    group_by: [team]\n    window: 5m\n"
        "    threshold: {alerts: 3, names: 3}\n",
        encoding="utf-8",
    )
    code, out, err = run_cli(
        capsys, "alerts", "replay", str(_storm_file(tmp_path)), "--rules", str(rules)
    )
    assert code == 0, err
    assert "1 group(s), 1 candidate(s)" in out and "team payments" in out


def test_a_bad_file_applies_nothing(
    cli_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = payload(alert("HighErrorRate", service="checkout-api"))
    bad = payload(alert("HighLatency", service="checkout-api", status="pending"))
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "alerts", "replay", str(path))
    assert code == 2 and "payload 2: alerts.0.status" in err and "pending" not in err
    code, out, _ = run_cli(capsys, "alerts", "list")
    assert out.strip() == "no alerts"
    (tmp_path / "junk.json").write_text("{not json", encoding="utf-8")
    code, _, err = run_cli(capsys, "alerts", "replay", str(tmp_path / "junk.json"))
    assert code == 2 and "not JSON" in err
    code, _, err = run_cli(capsys, "alerts", "replay", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err


def test_show_says_when_a_group_proposes_reopening(
    cli_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from copilot.alerts import schemas, service
    from copilot.alerts.rules import load_rules
    from copilot.cliutil import incident_store
    from copilot.incidents import schemas as inc_schemas
    from copilot.incidents import service as incidents
    from copilot.settings import get_settings

    assert run_cli(capsys, "alerts", "replay", str(_storm_file(tmp_path)))[0] == 0
    rules = load_rules()
    with incident_store(get_settings()) as store:
        (group,) = service.list_groups(store=store, rules=rules, status="candidate")
        incident = service.declare(
            store=store, rules=rules, group_id=group.id, request=schemas.DeclareRequest()
        )
        incidents.update_incident(
            store=store,
            incident_id=incident.id,
            patch=inc_schemas.IncidentPatch(status="resolved"),
        )
    again = tmp_path / "again.json"
    late = alert("CheckoutQueueBacklog", service="checkout-api", team="payments")
    late["startsAt"] = incident.declared_at.isoformat()
    again.write_text(json.dumps(payload(late)), encoding="utf-8")
    assert run_cli(capsys, "alerts", "replay", str(again))[0] == 0
    code, out, _ = run_cli(capsys, "alerts", "list", "--groups", "--status", "candidate")
    assert code == 0
    assert f"proposes reopening {incident.id} (resolved)" in out
