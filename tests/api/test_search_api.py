from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.knowledge.store import KnowledgeBase


@pytest.fixture
def client(sample_kb: KnowledgeBase) -> Iterator[TestClient]:
    with TestClient(create_app(sample_kb.settings, kb=sample_kb)) as c:
        yield c


def test_search_returns_cited_sections_best_first(client: TestClient) -> None:
    r = client.post("/v1/search", json={"query": "vault is sealed and pods cannot read secrets"})
    assert r.status_code == 200
    body = r.json()
    assert body["query"].startswith("vault")
    results = body["results"]
    assert 1 <= len(results) <= 5
    top = results[0]
    assert top["source"] == "runbooks/vault-sealed.md"
    assert set(top) == {"source", "title", "section", "kind", "score", "lines", "text"}
    assert top["kind"] == "runbook" and top["lines"][0] <= top["lines"][1]
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)


def test_search_cited_lines_hold_the_text(client: TestClient, sample_kb: KnowledgeBase) -> None:
    from tests.conftest import SAMPLE_KB

    r = client.post("/v1/search", json={"query": "order confirmation emails not sent", "top_k": 8})
    for result in r.json()["results"]:
        lines = (SAMPLE_KB / result["source"]).read_text().split("\n")
        start, end = result["lines"]
        cited = "\n".join(lines[start - 1 : end])
        first_line = result["text"].strip().split("\n")[0].strip()
        assert first_line in cited


def test_kind_filter_over_http(client: TestClient) -> None:
    r = client.post(
        "/v1/search", json={"query": "has this happened before: dns", "kind": "postmortem"}
    )
    assert r.status_code == 200
    assert {x["kind"] for x in r.json()["results"]} == {"postmortem"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "   "}, "query"),
        ({"query": "x" * 2001}, "query"),
        ({"query": "disk", "top_k": 0}, "top_k"),
        ({"query": "disk", "top_k": 51}, "top_k"),
        ({"query": "disk", "kind": "wiki"}, "kind"),
        ({}, "query"),
    ],
)
def test_bad_search_input_is_a_422_naming_the_field(
    client: TestClient, body: dict[str, object], field: str
) -> None:
    r = client.post("/v1/search", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert any(d["field"] == field for d in detail), detail


def test_malformed_json_is_a_422_not_a_500(client: TestClient) -> None:
    r = client.post(
        "/v1/search", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


def test_validation_errors_do_not_echo_submitted_values(client: TestClient) -> None:
    secret = "AKIAABCDEFGHIJKLMNOP" * 120
    r = client.post("/v1/search", json={"query": secret})
    assert r.status_code == 422
    assert "AKIA" not in r.text


def test_probes_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "model": True,
        "store": True,
        "database": True,
        "vectors": True,
    }
    client.post("/v1/search", json={"query": "disk full"})
    metrics = client.get("/metrics").text
    assert (
        'copilot_http_request_seconds_count{method="POST",route="/v1/search",status="200"}'
        in metrics
    )


def test_readyz_is_503_without_a_store(sample_kb: KnowledgeBase) -> None:
    app = create_app(sample_kb.settings, kb=sample_kb)
    with TestClient(app) as c:
        app.state.kb = None
        r = c.get("/readyz")
        assert r.status_code == 503
        assert c.post("/v1/search", json={"query": "disk"}).status_code == 503
    openapi = create_app(sample_kb.settings, kb=sample_kb).openapi()
    assert "/v1/search" in openapi["paths"]
