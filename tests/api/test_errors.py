"""Error bodies: unknown fields refused, malformed JSON named as such, 404s that echo nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.embedding import Embedder
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings


@pytest.fixture
def kb(settings: Settings, embedder: Embedder) -> Iterator[KnowledgeBase]:
    # Empty: every request below fails validation before anything is searched.
    store = KnowledgeBase(settings, embedder)
    yield store
    store.close()


@pytest.fixture
def client(settings: Settings, kb: KnowledgeBase) -> Iterator[TestClient]:
    with TestClient(create_app(settings, kb=kb)) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/search", {"query": "disk full", "topk": 3}),
        ("/v1/ask", {"question": "disk full", "topk": 3}),
        ("/v1/triage", {"error_rate": 0.2, "topk": 3}),
    ],
)
def test_unknown_request_fields_are_refused(
    client: TestClient, path: str, body: dict[str, object]
) -> None:
    r = client.post(path, json=body)
    assert r.status_code == 422
    assert r.json()["detail"] == [{"field": "topk", "message": "Extra inputs are not permitted"}]
