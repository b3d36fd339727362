"""Security fixtures: apps over a tmp data dir (keys and audit live there), keys made for real."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.knowledge.store import KnowledgeBase
from copilot.security.keys import KeyStore
from copilot.settings import Settings


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None, **overrides)  # type: ignore[call-arg]


def new_key(settings: Settings, name: str, *scopes: str) -> str:
    keys = KeyStore(settings.security_path)
    try:
        return keys.create(name, scopes)[1]
    finally:
        keys.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def app_client(sample_kb: KnowledgeBase, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """`make(settings=None, bind_host=None, chat=None)`: a client over the sample knowledge base,
    with keys, audit and incidents in this test's own data dir."""
    opened: list[tuple[TestClient, IncidentStore]] = []

    def _make(
        settings: Settings | None = None, *, bind_host: str | None = None, chat: Any = None
    ) -> TestClient:
        settings = settings or make_settings(tmp_path)
        store = IncidentStore(settings.sqlalchemy_url)
        app = create_app(
            settings, kb=sample_kb, incident_store=store, chat=chat, bind_host=bind_host
        )
        client = TestClient(app)
        client.__enter__()
        opened.append((client, store))
        return client

    yield _make
    for client, store in opened:
        client.__exit__(None, None, None)
        store.close()
