"""`copilot incident ...` through copilot.cli.main, against a data dir in tmp_path."""

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
    return run_cli(capsys, "incident", *argv)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


DECLARE = (
    "declare",
    "Checkout returns 502",
    "--severity",
    "P2",
    "--service",
    "checkout",
    "--tag",
    "bad-deploy",
    "--started-at",
    "2026-03-02T09:00Z",
    "--detected-at",
    "2026-03-02T09:05Z",
    "--declared-at",
    "2026-03-02T09:10Z",
    "--commander",
    "alice",
)


def test_declare_and_show(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out, _ = run(capsys, *DECLARE)
    assert code == 0
    assert out.startswith("declared INC-1 (SEV2, triage)\n")
    assert "roles     IC alice" in out
    assert (data_dir / "incidents.sqlite").exists()

    shown = run_json(capsys, "show", "INC-1")
    assert shown["incident"]["services"] == ["checkout"]
    assert shown["incident"]["roles"]["incident_commander"] == "alice"
    assert [e["kind"] for e in shown["events"]] == ["declared", "role_change"]

    code, out, _ = run(capsys, "show", "inc-1")
    assert code == 0
    assert "Timeline" in out and "Declared SEV2 (Major): Checkout returns 502" in out


def test_a_worked_incident(capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, *DECLARE)
    note = run_json(
        capsys, "note", "INC-1", "Rolled back 4411", "--kind", "action", "--at", "2026-03-02T09:20Z"
    )
    assert (note["kind"], note["at"]) == ("action", "2026-03-02T09:20:00Z")
    fix = run_json(capsys, "note", "INC-1", "It was 4410", "--corrects", str(note["id"]))
    assert (fix["kind"], fix["corrects"]) == ("correction", note["id"])
    # Kinds and statuses as people type them: "status-update", "Mitigating".
    update = run_json(
        capsys, "note", "INC-1", "Rolling back", "--kind", "status-update",
        "--audience", "public", "--at", "2026-03-02T09:25Z",
    )  # fmt: skip
    assert update["kind"] == "status_update"
    run_json(capsys, "role", "INC-1", "scribe", "sam", "--at", "2026-03-02T09:12Z")
    run_json(capsys, "role", "INC-1", "responder", "rui", "--at", "2026-03-02T09:12Z")
    handed = run_json(capsys, "role", "INC-1", "ic", "bob", "--at", "2026-03-02T09:30Z")
    assert handed["roles"] == {
        "incident_commander": "bob",
        "escalation_lead": None,
        "scribe": "sam",
        "customer_liaison": None,
        "responders": ["rui"],
    }
    raised = run_json(capsys, "severity", "INC-1", "SEV1", "--at", "2026-03-02T09:15Z")
    assert raised["severity"] == "SEV1"
    for status, when in (("Mitigating", "09:21"), ("monitoring", "09:40"), ("resolved", "10:05")):
        result = run_json(capsys, "status", "INC-1", status, "--at", f"2026-03-02T{when}Z")
        assert result["status"] == status.lower()

    metrics = run_json(capsys, "metrics", "INC-1")
    assert metrics["time_to_detect_s"] == 300
    assert metrics["time_to_mitigate_s"] == 35 * 60
    assert metrics["time_to_resolve_s"] == 60 * 60
    assert metrics["update_cadence"]["updates_published"] == 1

    code, out, _ = run(capsys, "metrics", "INC-1")
    assert code == 0
    assert "time to mitigate   35m 00s   (target 1h 00m: met)" in out

    agg = run_json(capsys, "metrics", "--since", "2026-03-01")
    assert agg["overall"]["incidents"] == 1
    assert agg["by_service"]["checkout"]["time_to_resolve_s"]["p50"] == 3600

    code, out, _ = run(capsys, "list")
    assert code == 0
    assert out.startswith("INC-1    SEV1  resolved")
    assert run_json(capsys, "list", "--status", "triage")["incidents"] == []


def test_errors_exit_non_zero_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, *DECLARE)
    code, _, err = run(capsys, "show", "INC-9")
    assert (code, err) == (1, "error: no incident INC-9\n")
    code, _, err = run(capsys, "status", "INC-1", "closed")
    assert code == 1
    assert "allowed statuses are: mobilized, mitigating, monitoring, resolved" in err
    code, _, err = run(capsys, "declare", "x", "--severity", "SEV7")
    assert code == 2 and "severity: unknown severity 'SEV7'" in err  # bad input, as a 422
    code, _, err = run(capsys, "declare", "   ", "--severity", "SEV2")
    assert code == 2 and "title" in err
    with pytest.raises(SystemExit) as caught:
        run(capsys, "note", "INC-1", "x", "--at", "not-a-time")
    assert caught.value.code == 2 and "--at: 'not-a-time' is not a time" in capsys.readouterr().err
    code, _, err = run(capsys, "role", "INC-1", "ic", "alice", "--remove")
    assert code == 1 and "must always have an incident commander" in err
    code, _, err = run(capsys, "role", "INC-1", "scribe", "nobody", "--remove")
    assert code == 2 and "nobody is not the scribe" in err
    with pytest.raises(SystemExit) as caught:
        main(["incident", "status", "INC-1", "fixed"])
    assert caught.value.code == 2


def test_triage_command(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "triage", "--error-rate", "0.3", "--customer-facing")
    assert (result["declare"], result["severity"]) == (True, "SEV1")
    code, out, _ = run(
        capsys, "triage", "--internal", "--error-rate", "0.001", "--alert", "BatchSlow"
    )
    assert code == 0
    assert out.startswith("declare: no\n")
    # A share as people write it: 30% is 0.3; a bare 30 is neither, and says so.
    assert run_json(capsys, "triage", "--error-rate", "30%", "--customer-facing") == result
    with pytest.raises(SystemExit) as refused:
        main(["incident", "triage", "--error-rate", "30"])
    assert refused.value.code == 2 and "did you mean 30%?" in capsys.readouterr().err


def test_role_names_are_the_apis_or_hyphenated(capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, *DECLARE)
    for name, role, person in (
        ("incident_commander", "incident_commander", "bob"),
        ("escalation-lead", "escalation_lead", "eve"),
        ("Customer_Liaison", "customer_liaison", "lee"),
        ("commander", "incident_commander", "carol"),
    ):
        assert run_json(capsys, "role", "INC-1", name, person)["roles"][role] == person
    code, _, err = run(capsys, "role", "INC-1", "escalation-lead", "zed", "--remove")
    assert (code, err) == (2, "error: zed is not the escalation_lead of INC-1\n")
    with pytest.raises(SystemExit) as caught:
        main(["incident", "role", "INC-1", "chief", "x"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "unknown role 'chief'" in err and "incident_commander" in err


def test_the_same_kind_of_error_has_the_same_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    """Not found or refused: 1. Bad input, whether the CLI or the service finds it: 2."""
    run_json(capsys, *DECLARE)
    assert run(capsys, "show", "INC-9")[0] == 1
    assert run(capsys, "metrics", "INC-9")[0] == 1
    assert run(capsys, "note", "INC-9", "x")[0] == 1
    assert run(capsys, "severity", "INC-1", "SEV9")[0] == 2  # found by the taxonomy
    assert run(capsys, "declare", "x", "--severity", "SEV9")[0] == 2
    assert run(capsys, "declare", "", "--severity", "SEV2")[0] == 2  # found by the schema
    assert run(capsys, "list", "--limit", "0")[0] == 2
