"""Incident fixtures: a real SQLite file in tmp_path, a settable clock, the app over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings

# Tests back-fill timelines around T0; the clock starts an hour after it.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    """An ISO timestamp `minutes` after T0, as a client would send it."""
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


class Clock:
    """A settable clock for the store: time moves only when a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, minutes: float) -> None:
        self.now = T0 + timedelta(minutes=minutes)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(hours=1))


@pytest.fixture
def store(settings: Settings, clock: Clock) -> Iterator[IncidentStore]:
    with IncidentStore(settings.sqlalchemy_url, clock=clock) as opened:
        yield opened


@pytest.fixture
def client(settings: Settings, store: IncidentStore) -> Iterator[TestClient]:
    app = create_app(settings, incident_store=store, load_knowledge=False)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def declare(client: TestClient) -> Any:
    """POST an incident (SEV2 on checkout, impact from T0, detected T0+5, declared T0+10)."""

    def _declare(**overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": "Checkout returns 502",
            "severity": "SEV2",
            "services": ["checkout"],
            "started_at": at(0),
            "detected_at": at(5),
            "declared_at": at(10),
            **overrides,
        }
        response = client.post("/v1/incidents", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    return _declare
