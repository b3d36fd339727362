"""Single writer: ingest goes through the server that owns the store, inside allowed roots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.cli import main
from copilot.embedding import Embedder
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings, get_settings
from tests.conftest import SAMPLE_KB, write
from tests.security.conftest import bearer, make_settings, new_key


def _added(metrics: str) -> float:
    found = re.search(r'^copilot_ingest_files_total\{outcome="added"\} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.fixture
def served(tmp_path: Path, embedder: Embedder) -> Iterator[tuple[TestClient, Settings, Path]]:
    """A server that owns its knowledge base (the lifespan opens it and holds the lock)."""
    root = tmp_path / "runbooks"
    write(root, "runbooks/vault.md", (SAMPLE_KB / "runbooks/vault-sealed.md").read_text())
    settings = make_settings(tmp_path, ingest_roots=[root])
    store = IncidentStore(settings.sqlalchemy_url)
    app = create_app(settings, embedder=embedder, incident_store=store)
    with TestClient(app) as client:
        yield client, settings, root
    store.close()


def test_admin_ingest_runs_in_the_server(
    served: tuple[TestClient, Settings, Path], tmp_path: Path
) -> None:
    client, settings, root = served
    admin = bearer(new_key(settings, "ci", "admin"))
    reader = bearer(new_key(settings, "reader", "read"))

    assert (
        client.post("/v1/admin/ingest", json={"paths": [str(root)]}, headers=reader).status_code
        == 403
    )
    added_before = _added(client.get("/metrics").text)
    response = client.post("/v1/admin/ingest", json={"paths": [str(root)]}, headers=admin)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["added"] == 1 and summary["failed"] == 0 and summary["chunks"] > 0
    assert _added(client.get("/metrics").text) == added_before + 1

    found = client.post("/v1/search", json={"query": "vault sealed"}, headers=reader).json()
    assert found["results"][0]["source"] == "runbooks/vault.md"

    again = client.post("/v1/admin/ingest", json={"paths": [str(root)]}, headers=admin)
    assert again.status_code == 200 and again.json()["unchanged"] == 1


def test_paths_outside_the_ingest_roots_are_refused(
    served: tuple[TestClient, Settings, Path], tmp_path: Path
) -> None:
    client, settings, root = served
    admin = bearer(new_key(settings, "ci", "admin"))
    outside = write(tmp_path / "elsewhere", "secret.md", "# Not for the index\n")
    (root / "escape").symlink_to(outside.parent, target_is_directory=True)

    for path in (str(outside), str(root / ".." / "elsewhere"), str(root / "escape"), "/etc"):
        refused = client.post("/v1/admin/ingest", json={"paths": [path]}, headers=admin)
        assert refused.status_code == 403, path
        assert "outside the ingest roots" in refused.json()["detail"]
        assert "COPILOT_INGEST_ROOTS" in refused.json()["detail"]

    missing = client.post("/v1/admin/ingest", json={"paths": [str(root / "nope")]}, headers=admin)
    assert missing.status_code == 422
    for bad in ({"paths": []}, {"paths": [""]}, {"paths": ["a\x00b"]}, {"paths": ["x"] * 21}):
        assert client.post("/v1/admin/ingest", json=bad, headers=admin).status_code == 422


def test_cli_ingest_while_the_server_owns_the_store_names_the_server_route(
    served: tuple[TestClient, Settings, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, settings, root = served
    monkeypatch.setenv("COPILOT_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        code = main(["ingest", str(root)])
    finally:
        get_settings.cache_clear()
    assert code == 1
    err = capsys.readouterr().err
    assert "in use by process" in err
    assert "POST /v1/admin/ingest" in err and "--scope admin" in err


def test_default_ingest_root_is_the_runbooks_folder_beside_the_data_dir(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert settings.allowed_ingest_roots == [(tmp_path / "runbooks").resolve()]
