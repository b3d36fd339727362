"""`copilot status ...` through copilot.cli.main, against a data dir in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from copilot.cli import main
from tests.conftest import run_cli


@pytest.fixture(autouse=True)
def data_dir(cli_data_dir: Path) -> Path:
    return cli_data_dir


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run_cli(capsys, *argv)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def incident(capsys: pytest.CaptureFixture[str]) -> str:
    declared = run_json(
        capsys,
        "incident",
        "declare",
        "checkout-api 502s on prod-eu-1",
        "--severity",
        "P1",
        "--service",
        "checkout-api",
        "--impact",
        "Most customers cannot complete checkout; checkout-api pods restarting on prod-eu-1",
        "--commander",
        "Priya Raman",
    )
    incident_id: str = declared["id"]
    return incident_id


def test_draft_publish_export(capsys: pytest.CaptureFixture[str], incident: str) -> None:
    code, out, err = run(capsys, "status", "draft", incident, "--audience", "public")
    assert code == 0, err
    assert out.startswith(f"{incident} draft 1 · public · investigating · draft · template")
    assert "Most customers cannot complete checkout." in out
    assert "leak: hostname 'prod-eu-1' removed" in out
    # The hint marks the affected component as an export would for a SEV1 (major outage):
    # published without it, the page would go on showing Checkout operational.
    assert f"copilot status publish {incident} 1 --component Checkout=major_outage" in out
    body = out.split("\n\n")[2]
    assert "prod-eu-1" not in body and "Priya" not in body

    code, out, _ = run(capsys, "status", "publish", incident, "1")
    assert code == 0 and out.startswith(f"published public update 1 on {incident}: timeline event")
    code, _, err = run(capsys, "status", "publish", incident, "1")
    assert code == 1 and "already published" in err

    code, out, _ = run(capsys, "status", "export", incident, "1", "--format", "slack")
    assert code == 0 and out.startswith(":red_circle: *Disruption to Checkout*")
    code, out, _ = run(capsys, "status", "export", incident, "1", "--format", "statuspage")
    page = json.loads(out)
    assert page["status"] == "investigating"
    assert page["components"] == [{"name": "Checkout", "status": "major_outage"}]

    shown = run_json(capsys, "incident", "show", incident)
    kinds = [e["kind"] for e in shown["events"]]
    assert "status_update" in kinds
    assert shown["incident"]["last_status_update_at"] is not None


def test_edited_publish_list_and_show(
    capsys: pytest.CaptureFixture[str], incident: str, tmp_path: Path
) -> None:
    d = run_json(capsys, "status", "draft", incident, "-a", "executive")
    edited = tmp_path / "body.md"
    edited.write_text(d["body"] + "\nPriya Raman approved a failover.\n", encoding="utf-8")
    # Executives may read names: this edit is fine for them.
    published = run_json(
        capsys, "status", "publish", incident, str(d["id"]), "--body-file", str(edited)
    )
    assert published["edited"] is True and "Priya Raman approved" in published["body"]

    p = run_json(capsys, "status", "draft", incident, "-a", "public")
    code, _, err = run(
        capsys, "status", "publish", incident, str(p["id"]), "--body", p["body"] + " Ask Priya."
    )
    assert code == 2 and "'Priya' (person)" in err  # refused input (422): fix the text

    listed = run_json(capsys, "status", "list", incident)
    assert [(x["id"], x["state"]) for x in listed["drafts"]] == [
        (p["id"], "draft"),
        (d["id"], "published"),
    ]
    code, out, _ = run(capsys, "status", "list", incident, "--audience", "public")
    assert code == 0 and out.startswith(f"{p['id']}     public") and "draft" in out
    shown = run_json(capsys, "status", "show", incident, str(d["id"]))
    assert shown["state"] == "published"


def test_bad_input(capsys: pytest.CaptureFixture[str], incident: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["status", "draft", incident, "--audience", "investors"])
    assert exc.value.code == 2
    capsys.readouterr()
    code, _, err = run(capsys, "status", "draft", "INC-404", "--audience", "public")
    assert code == 1 and "no incident INC-404" in err
    code, _, err = run(capsys, "status", "show", incident, "7")
    assert code == 1 and "no status update draft 7" in err
    code, _, err = run(
        capsys, "status", "publish", incident, "1", "--body", "x", "--body-file", "-"
    )
    assert code == 2 and "not both" in err
    d = run_json(capsys, "status", "draft", incident, "-a", "internal")
    run(capsys, "status", "publish", incident, str(d["id"]))
    code, _, err = run(capsys, "status", "export", incident, str(d["id"]), "--format", "statuspage")
    assert code == 2 and "only public updates" in err
