"""With a service catalog imported, its public entities are the page's components."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.settings import get_settings
from tests.conftest import REPO, run_cli
from tests.status.conftest import INCIDENT
from tests.statuspage.conftest import publish


def components(client: TestClient) -> dict[str, dict[str, object]]:
    body = client.get("/status/api/v2/components.json").json()
    return {c["name"]: c for c in body["components"]}


def test_catalog_public_entities_replace_the_components_file(
    cli_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(get_settings(), load_knowledge=False)
    with TestClient(app) as client:
        # No catalog yet: the packaged components file.
        assert "Checkout and orders" in components(client)

    code, _, err = run_cli(capsys, "catalog", "import", str(REPO / "runbooks" / "catalog"))
    assert code == 0, err
    app = create_app(get_settings(), load_knowledge=False)
    with TestClient(app) as client:
        found = components(client)
        # Groups from the catalog's public groups; no internal entity is named.
        assert "Checkout and orders" not in found
        group = found["Checkout and payments"]
        assert group["group"] is True
        assert found["Checkout"]["group_id"] == group["id"]
        assert found["Login"]["group_id"] == found["Accounts"]["id"]
        assert not [n for n in found if "-" in n or "service" in n.lower()]
        r = client.post("/v1/incidents", json=INCIDENT)
        publish(client, r.json()["id"], components={"Login": "partial_outage"})
        assert components(client)["Login"]["status"] == "partial_outage"
        assert components(client)["Accounts"]["status"] == "partial_outage"
