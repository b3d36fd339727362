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


@pytest.fixture
def incidents(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, load_knowledge=False)) as c:
        yield c


def test_malformed_json_is_named_as_such_with_its_place_and_not_echoed(
    incidents: TestClient,
) -> None:
    raw = b'{"title": "db down, token hunter2",\n "severity": "SEV2",, }'
    r = incidents.post("/v1/incidents", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["field"] == "body"
    assert detail["message"].startswith("the body is not valid JSON: Expecting property name")
    assert (detail["line"], detail["column"]) == (2, 21)
    assert "line 2, column 21" in detail["message"]
    assert "hunter2" not in r.text and "db down" not in r.text


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"", "application/json", "the request needs a JSON body"),
        (b"title=x", "text/plain", "the body must be a JSON object"),
    ],
)
def test_a_missing_or_non_json_body_says_what_to_send(
    incidents: TestClient, content: bytes, content_type: str, message: str
) -> None:
    r = incidents.post("/v1/incidents", content=content, headers={"content-type": content_type})
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["field"] == "body" and detail["message"].startswith(message)
    assert "title=x" not in r.text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/incidents/INC-4242", "incident not found"),
        ("/v1/incidents/%3Cscript%3Ealert", "incident not found; incident ids look like INC-42"),
        ("/v1/incidents/INC-4242/status-updates", "incident not found"),
        ("/v1/incidents/INC-1/status-updates/987654", "status update draft not found"),
        ("/v1/incidents/INC-1/status-updates/zz-top", "status update draft not found"),
    ],
)
def test_404s_say_what_was_not_found_without_echoing_the_id(
    incidents: TestClient, path: str, expected: str
) -> None:
    declared = incidents.post("/v1/incidents", json={"title": "Checkout down", "severity": "SEV2"})
    assert declared.status_code == 201 and declared.json()["id"] == "INC-1"
    r = incidents.get(path)
    assert r.status_code == 404
    assert r.json()["detail"].startswith(expected)
    for submitted in ("4242", "script", "987654", "zz-top"):
        assert submitted not in r.text
