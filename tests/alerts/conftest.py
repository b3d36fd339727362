"""Alert fixtures: payloads as Alertmanager writes them, a store with a settable clock, the app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.alerts.intake import fingerprint_of
from copilot.alerts.rules import RuleSet, load_rules
from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ZERO = "0001-01-01T00:00:00Z"


def iso(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, minutes: float) -> None:
        self.now = T0 + timedelta(minutes=minutes)


def alert(
    name: str,
    *,
    status: str = "firing",
    starts: float = 0,
    ends: float | None = None,
    annotations: dict[str, str] | None = None,
    fingerprint: bool = True,
    **labels: str,
) -> dict[str, Any]:
    """One alert of a webhook payload; `ends` (minutes after T0) for a resolved one."""
    all_labels = {"alertname": name, **labels}
    body: dict[str, Any] = {
        "status": status,
        "labels": all_labels,
        "annotations": annotations or {"summary": f"{name} is firing"},
        "startsAt": iso(starts),
        "endsAt": iso(ends) if ends is not None else ZERO,
        "generatorURL": f"http://prometheus.example.test/graph?g0.expr={name}",
    }
    if fingerprint:
        body["fingerprint"] = fingerprint_of(all_labels)
    return body


def payload(*alerts: dict[str, Any], group_key: str = '{}:{alertname="x"}') -> dict[str, Any]:
    """An Alertmanager (version 4) notification carrying `alerts`."""
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "receiver": "copilot",
        "status": "firing" if firing else "resolved",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.test",
        "alerts": list(alerts),
    }


@pytest.fixture
def rules() -> RuleSet:
    return load_rules()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(minutes=1))


@pytest.fixture
def store(database_url: str, clock: Clock) -> Iterator[IncidentStore]:
    """An incident store (the one database) on SQLite and on PostgreSQL."""
    with IncidentStore(database_url, clock=clock) as opened:
        yield opened


@pytest.fixture
def sqlite_store(settings: Settings, clock: Clock) -> Iterator[IncidentStore]:
    with IncidentStore(settings.sqlalchemy_url, clock=clock) as opened:
        yield opened


@pytest.fixture
def client(settings: Settings, sqlite_store: IncidentStore) -> Iterator[TestClient]:
    app = create_app(settings, incident_store=sqlite_store, load_knowledge=False)
    with TestClient(app) as test_client:
        yield test_client
