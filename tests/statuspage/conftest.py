"""Status page fixtures: the status-update fixtures (a real SQLite store, a settable clock, the app
through TestClient, the worked incident with its internal notes), and a helper that publishes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.status.conftest import (  # noqa: F401 - fixtures shared with the status tests
    EVENTS,
    INCIDENT,
    client,
    clock,
    draft,
    incident,
    make_client,
    move,
    store,
)
from tests.web.conftest import web_settings  # noqa: F401 - shared with the war-room tests


def publish(
    http: TestClient, incident_id: str, audience: str = "public", **page: Any
) -> dict[str, Any]:
    """Draft an update for `audience` and publish it, with status page fields if given."""
    d = draft(http, incident_id, audience)
    r = http.post(
        f"/v1/incidents/{incident_id}/status-updates/{d['id']}/publish", json=page or None
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result
