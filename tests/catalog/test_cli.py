"""`copilot catalog ...` in this process against the data directory's database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.catalog.conftest import SAMPLE, entity
from tests.conftest import run_cli


def test_import_names_each_bad_file_with_its_line_and_imports_the_rest(
    cli_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "extra" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text(
        entity("Component", "odd", spec="dependsOn: [component:ghost]") + "---\nkind: [\n"
    )
    code, out, _ = run_cli(capsys, "catalog", "import", str(SAMPLE), str(bad))
    assert code == 1
    assert "5 file(s) imported" in out and "1 failed; 62 entities" in out
    assert f"error: {bad}:9: invalid YAML" in out  # the end of the file, where "[" is unclosed

    code, out, _ = run_cli(capsys, "catalog", "import", str(SAMPLE))
    assert code == 0 and "0 file(s) imported, 5 unchanged" in out


def test_impact_json_names_dependents_paths_public_names_and_owners(
    cli_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "catalog", "import", str(SAMPLE))[0] == 0
    code, out, _ = run_cli(capsys, "catalog", "impact", "promotions", "not-a-thing", "--json")
    assert code == 0
    result = json.loads(out)
    assert [a["ref"] for a in result["failing"]] == ["component:default/promotions-service"]
    paths = {a["ref"]: a["path"] for a in result["dependents"]}
    assert paths["component:default/pricing-engine"] == [
        "component:default/promotions-service",
        "component:default/pricing-engine",
    ]
    assert "Checkout" in {p["public_name"] for p in result["user_facing"]}
    assert "group:default/team-pricing" in {o["ref"] for o in result["owners"]}
    assert result["unmapped"] == ["not-a-thing"]

    code, out, _ = run_cli(capsys, "catalog", "show", "PPAY001")
    assert code == 0
    assert out.startswith("component:default/payments-gateway  Payments gateway")
    # Who to escalate to first: the team's PagerDuty escalation policy.
    assert (
        "owner: Payments team (group:default/team-payments): pagerduty: payments-oncall, "
        "mailto:payments@larkfield" in out
    )

    if shutil.which("dot") is not None:
        picture = tmp_path / "radius.svg"
        code, out, _ = run_cli(capsys, "catalog", "impact", "orders-db", "--svg", str(picture))
        assert code == 0 and "affected dependents" in out
        assert "<svg" in picture.read_text() and "Orders database" in picture.read_text()

    code, _, err = run_cli(capsys, "catalog", "show", "no-such-entity")
    assert code == 1 and "no catalog entity named 'no-such-entity'" in err
