"""The catalog over HTTP (TestClient, a real SQLite file): admin import confined to the ingest
roots, reads by any key, the incident blast radius, and the SVG laid out by Graphviz."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings
from tests.catalog.conftest import SAMPLE, entity
from tests.security.conftest import bearer, make_settings, new_key


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Settings, Path]]:
    root = tmp_path / "runbooks"
    shutil.copytree(SAMPLE, root / "catalog")
    settings = make_settings(tmp_path, ingest_roots=[root])
    store = IncidentStore(settings.sqlalchemy_url)
    app = create_app(settings, incident_store=store, load_knowledge=False)
    with TestClient(app) as client:
        yield client, settings, root
    store.close()


def test_import_needs_admin_and_stays_inside_the_roots(
    served: tuple[TestClient, Settings, Path], tmp_path: Path
) -> None:
    client, settings, root = served
    admin = bearer(new_key(settings, "ci", "admin"))
    reader = bearer(new_key(settings, "reader", "read"))
    body = {"paths": [str(root / "catalog")]}
    assert client.post("/v1/admin/catalog", json=body, headers=reader).status_code == 403
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    refused = client.post("/v1/admin/catalog", json={"paths": [str(outside)]}, headers=admin)
    assert refused.status_code == 403
    assert "outside the ingest roots" in refused.json()["detail"]
    escape = client.post(
        "/v1/admin/catalog", json={"paths": [str(root / ".." / "elsewhere")]}, headers=admin
    )
    assert escape.status_code == 403

    done = client.post("/v1/admin/catalog", json=body, headers=admin)
    assert done.status_code == 200, done.text
    report = done.json()
    assert (len(report["imported"]), report["entities"], report["failed"]) == (5, 62, [])
    again = client.post("/v1/admin/catalog", json=body, headers=admin).json()
    assert (again["imported"], len(again["unchanged"])) == ([], 5)

    (root / "catalog" / "broken.yaml").write_bytes(entity("Component", "x").encode() + b"\xff\n")
    partial = client.post("/v1/admin/catalog", json=body, headers=admin).json()
    assert [(p["file"], p["line"]) for p in partial["failed"]] == [
        (str(root / "catalog" / "broken.yaml"), 5)
    ]

    listed = client.get("/v1/catalog/entities", params={"kind": "group"}, headers=reader)
    assert listed.status_code == 200
    assert "group:default/team-checkout" in {e["ref"] for e in listed.json()["entities"]}
    bad_kind = client.get("/v1/catalog/entities", params={"kind": "widget"}, headers=reader)
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json()["detail"]
    shown = client.get("/v1/catalog/entities/Checkout API", headers=reader).json()
    assert shown["ref"] == "component:default/checkout-api"
    assert shown["owner_detail"]["name"] == "Checkout team"
    missing = client.get("/v1/catalog/entities/nothing-here", headers=reader)
    assert missing.status_code == 404
    assert missing.json()["detail"].startswith("catalog entity not found")
    impact = client.get("/v1/catalog/impact", params={"name": ["redis-carts"]}, headers=reader)
    assert impact.status_code == 200, impact.text
    assert "Shopping cart" in {p["public_name"] for p in impact.json()["user_facing"]}
    assert client.get("/v1/catalog/impact", headers=reader).status_code == 422
    too_long = client.get("/v1/catalog/impact", params={"name": "x" * 500}, headers=reader)
    assert too_long.status_code == 422


def test_an_incidents_blast_radius_and_its_picture(
    served: tuple[TestClient, Settings, Path],
) -> None:
    client, settings, root = served
    admin = bearer(new_key(settings, "ci", "admin", "respond", "read"))
    client.post("/v1/admin/catalog", json={"paths": [str(root / "catalog")]}, headers=admin)
    made = client.post(
        "/v1/incidents",
        json={"title": "Carts empty", "severity": "SEV2", "services": ["redis-carts", "lark-v9"]},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    incident = made.json()["id"]
    radius = client.get(f"/v1/incidents/{incident}/blast-radius", headers=admin).json()
    assert [a["ref"] for a in radius["failing"]] == ["resource:default/redis-carts"]
    assert radius["unmapped"] == ["lark-v9"]
    owners = {o["ref"] for o in radius["owners"]}
    assert {"group:default/team-basket", "group:default/team-checkout"} <= owners
    assert client.get("/v1/incidents/INC-404/blast-radius", headers=admin).status_code == 404

    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz's dot is missing on CI (make test installs Debian's graphviz)")
        pytest.skip("Graphviz's dot is not installed (make test installs Debian's graphviz)")
    picture = client.get(f"/v1/incidents/{incident}/blast-radius.svg", headers=admin)
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/svg+xml"
    assert picture.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in picture.headers["content-security-policy"]
    svg = picture.text
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<script" not in svg
    assert "Carts Redis" in svg and "public: Shopping cart" in svg and "Basket team" in svg
