"""Scopes over real HTTP: 401 without a valid key, 403 without the scope, probes open."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.security.auth import is_loopback, is_public_read, required_scope
from copilot.security.keys import KeyStore
from tests.security.conftest import bearer, make_settings, new_key

SEARCH = {"query": "vault sealed pods stuck in init", "top_k": 2}
INCIDENT = {"title": "Checkout errors", "severity": "SEV2", "services": ["checkout-api"]}
OPEN_PATHS = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
}


def test_without_keys_a_loopback_server_is_open(app_client: Callable[..., TestClient]) -> None:
    client = app_client()
    assert client.post("/v1/search", json=SEARCH).status_code == 200
    assert client.post("/v1/incidents", json=INCIDENT).status_code == 201
    assert client.get("/v1/admin/keys").json() == {"keys": []}


def test_without_keys_a_public_bind_serves_no_one(
    app_client: Callable[..., TestClient],
) -> None:
    client = app_client(bind_host="0.0.0.0")
    response = client.post("/v1/search", json=SEARCH)
    assert response.status_code == 401
    assert "no API keys exist" in response.json()["detail"]
    assert client.get("/healthz").status_code == 200


def test_without_keys_a_connection_to_a_public_address_is_refused(
    app_client: Callable[..., TestClient],
) -> None:
    """However the app was started (bind address unknown), a non-loopback connection needs a key."""
    client = app_client()
    public = TestClient(client.app, base_url="http://10.20.30.40:8000")
    response = public.post("/v1/search", json=SEARCH)
    assert response.status_code == 401
    local = TestClient(client.app, base_url="http://127.0.0.1:8000")
    assert local.post("/v1/search", json=SEARCH).status_code == 200


def test_once_a_key_exists_v1_needs_one(
    app_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    key = new_key(settings, "reader", "read")
    client = app_client(settings)

    missing = client.post("/v1/search", json=SEARCH)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "API key is required" in missing.json()["detail"]
    assert client.get("/v1/incidents").status_code == 401

    wrong = client.post("/v1/search", json=SEARCH, headers=bearer(key[:-2] + "xx"))
    assert wrong.status_code == 401
    assert key[:-2] not in wrong.text

    assert client.post("/v1/search", json=SEARCH, headers=bearer(key)).status_code == 200
    assert client.post("/v1/search", json=SEARCH, headers={"X-API-Key": key}).status_code == 200
    assert client.post("/v1/search", json=SEARCH, headers={"Authorization": key}).status_code == 401

    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert client.get(path).status_code == 200, path


def test_each_scope_opens_only_its_routes(
    app_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    read = bearer(new_key(settings, "reader", "read"))
    respond = bearer(new_key(settings, "responder", "respond"))
    admin = bearer(new_key(settings, "admin", "admin"))
    both = bearer(new_key(settings, "oncall", "read", "respond"))
    client = app_client(settings)

    # respond: incident writes and events
    assert client.post("/v1/incidents", json=INCIDENT, headers=read).status_code == 403
    created = client.post("/v1/incidents", json=INCIDENT, headers=respond)
    assert created.status_code == 201
    inc = created.json()["id"]
    note = {"kind": "note", "text": "restarted the canary"}
    assert client.post(f"/v1/incidents/{inc}/events", json=note, headers=read).status_code == 403
    assert client.post(f"/v1/incidents/{inc}/events", json=note, headers=both).status_code == 201
    patch = {"status": "mobilized"}
    assert client.patch(f"/v1/incidents/{inc}", json=patch, headers=read).status_code == 403
    assert client.patch(f"/v1/incidents/{inc}", json=patch, headers=respond).status_code == 200

    # read: search, ask, views
    forbidden = client.post("/v1/search", json=SEARCH, headers=respond)
    assert forbidden.status_code == 403
    assert "'read' scope" in forbidden.json()["detail"]
    assert client.get(f"/v1/incidents/{inc}", headers=read).status_code == 200
    assert client.get(f"/v1/incidents/{inc}/events", headers=read).status_code == 200
    assert client.get(f"/v1/incidents/{inc}/metrics", headers=read).status_code == 200
    ask = {"question": "vault is sealed and pods are stuck in Init:0/1"}
    assert client.post("/v1/ask", json=ask, headers=read).status_code == 200

    # admin: keys, audit, ingest; admin alone does not read
    for headers in (read, respond, both):
        assert client.get("/v1/admin/keys", headers=headers).status_code == 403
        assert (
            client.post("/v1/admin/ingest", json={"paths": ["x"]}, headers=headers).status_code
            == 403
        )
    listed = client.get("/v1/admin/keys", headers=admin)
    assert listed.status_code == 200
    assert {k["name"] for k in listed.json()["keys"]} == {"reader", "responder", "admin", "oncall"}
    assert "key" not in listed.text.replace('"keys"', "")
    assert client.post("/v1/search", json=SEARCH, headers=admin).status_code == 403


def test_keys_made_and_revoked_over_http_take_effect_at_once(
    app_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    admin = bearer(new_key(settings, "root", "admin"))
    client = app_client(settings)
    made = client.post("/v1/admin/keys", json={"name": "bot", "scopes": ["read"]}, headers=admin)
    assert made.status_code == 201
    body = made.json()
    assert set(body) == {"name", "key", "scopes"} and body["scopes"] == ["read"]
    bot = bearer(body["key"])
    assert client.post("/v1/search", json=SEARCH, headers=bot).status_code == 200
    assert client.delete("/v1/admin/keys/bot", headers=admin).status_code == 200
    assert client.post("/v1/search", json=SEARCH, headers=bot).status_code == 401
    bad = client.post("/v1/admin/keys", json={"name": "x", "scopes": ["root"]}, headers=admin)
    assert bad.status_code == 422


def test_revoking_the_last_key_reopens_only_a_loopback_server(
    app_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    key = new_key(settings, "only", "read")
    public = app_client(settings, bind_host="0.0.0.0")
    assert public.post("/v1/search", json=SEARCH, headers=bearer(key)).status_code == 200
    keys = KeyStore(settings.security_path)
    keys.revoke("only")
    keys.close()
    assert public.post("/v1/search", json=SEARCH).status_code == 401
    local = app_client(settings, bind_host="127.0.0.1")
    assert local.post("/v1/search", json=SEARCH).status_code == 200


def test_slack_routes_are_left_to_their_signature_check(
    app_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    new_key(settings, "reader", "read")
    client = app_client(settings)
    # Whatever the Slack route answers (it checks a signature), it is not the key check's 401.
    assert client.post("/v1/integrations/slack/commands", data={"text": "x"}).status_code != 401
    assert client.post("/v1/integrations/other", json={}).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/healthz", None),
        ("GET", "/metrics", None),
        ("GET", "/v1x/search", None),
        ("POST", "/v1/search", "read"),
        ("POST", "/v1/ask", "read"),
        ("POST", "/v1/triage", "read"),
        ("GET", "/v1/incidents", "read"),
        ("HEAD", "/v1/incidents/INC-1", "read"),
        ("POST", "/v1/incidents", "respond"),
        ("PATCH", "/v1/incidents/INC-1", "respond"),
        ("POST", "/v1/incidents/INC-1/events", "respond"),
        ("POST", "/v1/incidents/INC-1/status-updates", "respond"),
        ("POST", "/v1/incidents/INC-1/postmortem", "respond"),
        ("GET", "/v1/admin/audit", "admin"),
        ("POST", "/v1/admin/ingest", "admin"),
        ("DELETE", "/v1/admin/keys/x", "admin"),
        ("POST", "/v1/integrations/slack/events", None),
        ("POST", "/v1", "respond"),
    ],
)
def test_scope_of_each_kind_of_request(method: str, path: str, scope: str | None) -> None:
    assert required_scope(method, path) == scope


def test_every_api_route_is_a_probe_or_scoped(app_client: Callable[..., TestClient]) -> None:
    """An API router added later under another prefix would be served without keys: fail.

    Routes left out of the OpenAPI document (the war-room's HTML shells, its static files)
    carry no data; their script reads everything through /v1 with a key.
    """
    client = app_client()
    routes = {
        (method.upper(), path)
        for path, ops in client.get("/openapi.json").json()["paths"].items()
        for method in ops
    }
    assert ("POST", "/v1/admin/ingest") in routes and ("GET", "/healthz") in routes
    for method, path in sorted(routes):
        needed = required_scope(method, path)
        if needed is None:
            assert (
                path in OPEN_PATHS
                or path.startswith("/v1/integrations/slack/")
                or is_public_read(method, path)
            ), f"{method} {path} needs no API key; mount it under /v1 or list it as open"
        if path.startswith("/v1/admin"):
            assert needed == "admin", path


def test_loopback_addresses() -> None:
    for host in ("127.0.0.1", "127.0.0.53", "::1", "[::1]", "localhost", None):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "example.com", ""):
        assert not is_loopback(host), host
