"""JSON logs with request ids and no secrets; Prometheus metrics of the copilot's work."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.security.logs import configure_logging, scrub
from tests.assist.conftest import scripted
from tests.security.conftest import bearer, make_settings, new_key

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
EMAIL = "jane.doe@larkfield-example.com"
PASSWORD = "hunter2-Sup3rSecret"


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every logger at DEBUG into one JSON handler; returns a function that parses the lines."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    configure_logging(logging.DEBUG, stream=buffer)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    yield lines
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def test_no_secret_or_redacted_value_reaches_a_log_line(
    app_client: Callable[..., TestClient],
    tmp_path: Path,
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    settings = make_settings(tmp_path)
    key = new_key(settings, "alice", "read", "respond")
    client = app_client(settings)
    headers = {**bearer(key), "X-Request-ID": "req-4711"}
    question = (
        f"vault is sealed and pods are stuck in Init:0/1; I tried the token {AWS_KEY}, "
        f"password={PASSWORD}, mail {EMAIL} if you need me"
    )
    incident = client.post(
        "/v1/incidents",
        json={"title": "Vault sealed", "severity": "SEV2", "summary": f"reported by {EMAIL}"},
        headers=headers,
    ).json()["id"]
    response = client.post(
        "/v1/ask", json={"question": question, "incident_id": incident}, headers=headers
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-4711"
    # the secret in places that are never logged, and a request that fails validation
    client.get("/v1/incidents", params={"service": EMAIL}, headers=headers)
    client.post("/v1/ask", json={"question": question, "top_k": 999}, headers=headers)
    client.post("/v1/search", json={"query": question}, headers={"X-API-Key": key + "x"})
    # and straight into a log call, as a careless line of code would
    logging.getLogger("copilot.somewhere").warning("upstream said %s for %s", AWS_KEY, EMAIL)
    try:
        raise RuntimeError(f"connect failed for postgres://app:{PASSWORD}@db/orders")
    except RuntimeError:
        logging.getLogger("copilot.somewhere").exception("query failed")

    lines = log_lines()
    assert lines, "nothing was logged"
    text = "\n".join(json.dumps(line) for line in lines)
    for secret in (AWS_KEY, EMAIL, PASSWORD, key, key.split("_", 2)[2]):
        assert secret not in text, f"{secret[:6]}... reached the log"

    ask_lines = [line for line in lines if line.get("request_id") == "req-4711"]
    assert any(line.get("route") == "/v1/ask" and line.get("status") == 200 for line in ask_lines)
    recorded = [line for line in ask_lines if line["message"] == "copilot output recorded"]
    assert recorded and "[REDACTED:aws_access_key]" in recorded[0]["question"]
    assert recorded[0]["who"] == "alice"
    assert any("[REDACTED:" in line.get("exception", "") for line in lines)


def test_request_ids_are_made_when_missing_or_unsafe(app_client: Callable[..., TestClient]) -> None:
    client = app_client()
    made = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/healthz").headers["x-request-id"] != made
    unsafe = client.get("/healthz", headers={"X-Request-ID": "a b\nc"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe)
    refused = client.post("/v1/search", json={"query": "x" * 10}, headers={"X-Request-ID": "r-1"})
    assert refused.headers["x-request-id"] == "r-1"


def test_scrub_covers_api_keys_and_personal_data() -> None:
    key = "rcp_0123456789ab_" + "Zq9-" * 10
    assert scrub(f"key {key} from {EMAIL}") == "key [REDACTED:api_key] from [REDACTED:email]"


def _sample(metrics_text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{(.*?)\}})? (\S+)$", re.M)
    total = 0.0
    for found, value in pattern.findall(metrics_text):
        got = ",".join(sorted(found.split(","))) if found else ""
        if got == want:
            total += float(value)
    return total


def test_metrics_count_retrieval_model_calls_and_guardrails(
    app_client: Callable[..., TestClient],
) -> None:
    chat, _ = scripted("not json at all")  # the model answers, badly: a call, then a fallback
    client = app_client(chat=chat)
    before = client.get("/metrics").text

    ask = {"question": f"vault sealed, pods stuck in Init:0/1; contact {EMAIL}"}
    assert client.post("/v1/ask", json=ask).status_code == 200
    assert client.post("/v1/search", json={"query": "disk pressure on a node"}).status_code == 200
    after = client.get("/metrics").text

    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert grew("copilot_retrieval_seconds_count") >= 3  # search, and ask's two searches
    assert grew("copilot_model_calls_total", outcome="ok") == 1
    assert grew("copilot_model_call_seconds_count") == 1
    assert grew("copilot_guardrail_triggers_total", kind="redaction") >= 1
    assert grew("copilot_guardrail_triggers_total", kind="fallback") == 1
    assert grew("copilot_audit_records_total", outcome="written") == 1
    assert (
        grew("copilot_http_request_seconds_count", method="POST", route="/v1/ask", status="200")
        == 1
    )


def test_metrics_count_model_failures_and_ingest_files(
    app_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    from copilot.metrics import observe_ingest

    chat, _ = scripted()  # no reply scripted: the call fails
    client = app_client(chat=chat)
    before = client.get("/metrics").text
    ask = {"question": "vault is sealed and pods are stuck in Init:0/1"}
    assert client.post("/v1/ask", json=ask).status_code == 200
    observe_ingest({"added": 2, "unchanged": 5, "failed": 1, "chunks": 9, "embedded": 4})
    after = client.get("/metrics").text
    assert (
        _sample(after, "copilot_model_calls_total", outcome="error")
        - _sample(before, "copilot_model_calls_total", outcome="error")
        == 1
    )
    for outcome, n in (("added", 2), ("unchanged", 5), ("failed", 1)):
        delta = _sample(after, "copilot_ingest_files_total", outcome=outcome) - _sample(
            before, "copilot_ingest_files_total", outcome=outcome
        )
        assert delta == n
    assert (
        _sample(after, "copilot_ingest_chunks_total", stage="embedded")
        - _sample(before, "copilot_ingest_chunks_total", stage="embedded")
        == 4
    )
