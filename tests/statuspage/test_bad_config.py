"""A components file the page cannot use: a 503 that says so, never a 500 or a stack trace; and
HEAD on every public URL answers like GET, without a body."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings

PUBLIC = (
    "/status",
    "/status/",
    "/status/status.css",
    "/status/history.atom",
    "/status/api/v2/status.json",
    "/status/api/v2/summary.json",
    "/status/api/v2/components.json",
    "/status/api/v2/incidents.json",
    "/status/api/v2/incidents/unresolved.json",
    "/status/api/v2/scheduled-maintenances.json",
    "/status/api/v2/scheduled-maintenances/upcoming.json",
    "/status/api/v2/scheduled-maintenances/active.json",
)
BAD_FILES = {
    "not-yaml": b"groups: [\n  - name: x\n",
    "wrong-field": b"components:\n  - nm: Checkout\n",
    "a-list": b"- Checkout\n- Search\n",
    "not-utf8": b"\xff\xfe components: []\n",
    "empty-group": b"groups: [{name: Shopping, components: []}]\n",
}
GOOD = "components:\n  - name: Checkout\n  - name: Search\n"


def _client(settings: Settings, store: IncidentStore, components: Path) -> TestClient:
    settings = settings.model_copy(update={"status_components": components})
    app = create_app(settings, incident_store=store, load_knowledge=False)
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_components_file_answers_503_with_a_message_not_a_500(
    settings: Settings, store: IncidentStore, tmp_path: Path, name: str
) -> None:
    components = tmp_path / "components.yaml"
    components.write_bytes(BAD_FILES[name])
    with _client(settings, store, components) as client:
        for path in ("/status", "/status/api/v2/summary.json", "/status/api/v2/components.json"):
            r = client.get(path)
            assert r.status_code == 503, (path, r.status_code, r.text)
            detail = r.json()["detail"]
            assert "components file is invalid" in detail
            # The public answer names neither the server's paths nor a traceback.
            assert str(tmp_path) not in r.text and "Traceback" not in r.text


def test_a_missing_components_file_answers_503(
    settings: Settings, store: IncidentStore, tmp_path: Path
) -> None:
    with _client(settings, store, tmp_path / "nowhere.yaml") as client:
        r = client.get("/status/api/v2/summary.json")
        assert r.status_code == 503 and "components file" in r.json()["detail"]
        assert "nowhere" not in r.text


def test_a_file_broken_after_start_keeps_the_last_good_components(
    settings: Settings, store: IncidentStore, tmp_path: Path
) -> None:
    components = tmp_path / "components.yaml"
    components.write_text(GOOD, encoding="utf-8")
    with _client(settings, store, components) as client:
        names = [
            c["name"] for c in client.get("/status/api/v2/components.json").json()["components"]
        ]
        assert names == ["Checkout", "Search"]
        components.write_bytes(BAD_FILES["not-yaml"])
        page, _ = client.app.state.status_page  # type: ignore[attr-defined]
        client.app.state.status_page = (page, -1e9)  # type: ignore[attr-defined]  # expired
        r = client.get("/status/api/v2/components.json")
        assert r.status_code == 200
        assert [c["name"] for c in r.json()["components"]] == ["Checkout", "Search"]


@pytest.mark.parametrize("path", PUBLIC)
def test_head_answers_like_get_without_a_body(
    settings: Settings, store: IncidentStore, tmp_path: Path, path: str
) -> None:
    components = tmp_path / "components.yaml"
    components.write_text(GOOD, encoding="utf-8")
    with _client(settings, store, components) as client:
        got = client.get(path)
        head = client.head(path)
        assert got.status_code == 200
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == str(len(got.content))
        for name in ("cache-control", "content-security-policy", "access-control-allow-origin"):
            assert head.headers.get(name) == got.headers.get(name)


def test_head_is_not_listed_in_the_openapi_document(
    settings: Settings, store: IncidentStore, tmp_path: Path
) -> None:
    components = tmp_path / "components.yaml"
    components.write_text(GOOD, encoding="utf-8")
    with _client(settings, store, components) as client:
        paths = client.get("/openapi.json").json()["paths"]
        assert set(paths["/status/api/v2/summary.json"]) == {"get"}
