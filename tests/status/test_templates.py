"""Templates and the catalog: every packaged file renders; a team's files replace them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.errors import ConfigError
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings
from copilot.status import service
from copilot.status.config import StatusConfig, config_dir, parse_template
from copilot.status.schemas import AUDIENCES, PHASES
from tests.status.conftest import draft


@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("phase", PHASES)
def test_every_packaged_template_renders_and_passes_its_own_checks(
    client: TestClient, incident: dict[str, Any], audience: str, phase: str
) -> None:
    target = {"investigating": None, "identified": "mitigating"}.get(phase, phase)
    if target is not None:
        r = client.patch(f"/v1/incidents/{incident['id']}", json={"status": target})
        assert r.status_code == 200, r.text
    d = draft(client, incident["id"], audience)
    assert d["status"] == phase
    assert "$" not in d["title"] + d["body"]
    # The template itself never trips a check: whatever was removed came from the record.
    assert not [f for f in d["guardrails"]["removed"] if f["check"] == "fact"]
    template = StatusConfig.load().template(audience, phase)
    assert template.uses("impact") or phase == "resolved"


def test_a_team_can_replace_a_template_and_the_catalog(
    settings: Settings, store: IncidentStore, client: TestClient, incident: dict[str, Any]
) -> None:
    folder = config_dir(settings.data_dir)
    (folder / "templates" / "public").mkdir(parents=True)
    (folder / "templates" / "public" / "investigating.md").write_text(
        "<!-- ours -->\n# $public_name (ours)\n$impact Next update by $next_update. "
        "Ticket $incident_id, led by $ic.\n",
        encoding="utf-8",
    )
    (folder / "catalog.yaml").write_text(
        "components:\n  checkout-api: Online checkout\n  payments-gateway: Card payments\n",
        encoding="utf-8",
    )
    config = StatusConfig.load(folder)
    d = service.create_draft(
        store=store, config=config, incident_id=incident["id"], audience="public"
    )
    assert d.title == "Disruption to Online checkout and Card payments (ours)"
    # Even a team's template cannot put the ticket id or the IC's name on the status page.
    assert d.body == (
        "Payments are failing for about 30% of customers in Europe. Next update by 11:00 UTC."
    )
    assert {"INC-1", "Priya Raman"} <= {f.text for f in d.guardrails.removed}
    # Other templates still come from the package.
    internal = service.create_draft(
        store=store, config=config, incident_id=incident["id"], audience="internal"
    )
    assert internal.body.startswith("**Status:** investigating")


def test_broken_templates_and_catalogs_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must start with a '# title' line"):
        parse_template("no title here", "x.md")
    bad = parse_template("# $public_name\n$no_such_thing", "x.md")
    with pytest.raises(ConfigError, match=r"uses \$no_such_thing, which is not a placeholder"):
        bad.render({"public_name": "x"})
    (tmp_path / "catalog.yaml").write_text("components: [1, 2]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"status catalog .* is invalid: components"):
        StatusConfig.load(tmp_path)
    (tmp_path / "catalog.yaml").write_text("vendors: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        StatusConfig.load(tmp_path)
