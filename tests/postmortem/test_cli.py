"""`copilot postmortem ID` through copilot.cli.main, against a data dir in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli


@pytest.fixture(autouse=True)
def data_dir(cli_data_dir: Path) -> Path:
    return cli_data_dir


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run_cli(capsys, *argv)


@pytest.fixture
def incident(capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run(
        capsys,
        "incident",
        "declare",
        "Checkout returns 502",
        "--severity",
        "SEV2",
        "--service",
        "checkout-api",
        "--started-at",
        "2026-03-02T09:00Z",
        "--detected-at",
        "2026-03-02T09:05Z",
        "--declared-at",
        "2026-03-02T09:10Z",
        "--commander",
        "alice",
        "--json",
    )
    assert code == 0, err
    incident_id: str = json.loads(out)["id"]
    code, _, err = run(
        capsys,
        "incident",
        "note",
        incident_id,
        "Rolled back checkout-api to the previous release",
        "--kind",
        "mitigation",
        "--at",
        "2026-03-02T09:20Z",
    )
    assert code == 0, err
    return incident_id


def test_markdown_on_stdout(
    capsys: pytest.CaptureFixture[str], incident: str, tmp_path: Path
) -> None:
    code, out, err = run(capsys, "postmortem", incident, "--no-kb")
    assert code == 0, err
    meta = yaml.safe_load(out.split("---\n")[1])
    assert meta["kind"] == "postmortem" and meta["incident"] == incident
    assert "## Timeline" in out and "Rolled back checkout-api to the previous release" in out
    assert "| 2026-03-02 09:20 | +15m |" in out


def test_json_is_the_full_object(capsys: pytest.CaptureFixture[str], incident: str) -> None:
    code, out, err = run(capsys, "postmortem", incident.lower(), "--no-kb", "--json")
    assert code == 0, err
    body = json.loads(out)
    assert body["incident_id"] == incident
    assert body["metrics"]["time_to_detect_s"] == 300
    assert body["markdown"].startswith("---\n")


def test_with_the_knowledge_base_of_the_data_dir(
    capsys: pytest.CaptureFixture[str], incident: str
) -> None:
    # Nothing is ingested in this data dir: the draft says there is nothing to compare with.
    code, out, err = run(capsys, "postmortem", incident)
    assert code == 0, err
    assert "holds no past postmortem" in out


def test_the_draft_is_audited(capsys: pytest.CaptureFixture[str], incident: str) -> None:
    run(capsys, "postmortem", incident, "--no-kb")
    code, out, _ = run(capsys, "incident", "show", incident, "--json")
    assert code == 0
    notes = [e for e in json.loads(out)["events"] if e["data"].get("audit")]
    assert [n["data"]["audit"]["action"] for n in notes] == ["postmortem"]


def test_unknown_incident_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "postmortem", "INC-404", "--no-kb")
    assert code == 1 and out == ""
    assert "no incident INC-404" in err


def test_bad_template_and_limits_are_usage_errors(
    capsys: pytest.CaptureFixture[str], incident: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("## A\n\n{{ nope }}\n", encoding="utf-8")
    code, _, err = run(capsys, "postmortem", incident, "--no-kb", "--template", str(bad))
    assert code == 2 and "unknown placeholder(s) nope" in err
    code, _, err = run(capsys, "postmortem", incident, "--no-kb", "--similar", "11")
    assert code == 2 and "--similar" in err
