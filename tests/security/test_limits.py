"""Body limit on the bytes received (chunked too) and the per-caller token bucket."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.security.limits import TokenBuckets
from tests.conftest import LiveServer
from tests.security.conftest import bearer, make_settings, new_key

LIMIT = 4096


def test_a_declared_length_over_the_limit_is_refused(
    app_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = app_client(make_settings(tmp_path, max_body_bytes=LIMIT))
    body = json.dumps({"query": "disk full " + "x" * LIMIT})
    response = client.post("/v1/search", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert str(LIMIT) in response.json()["detail"]
    small = client.post("/v1/search", json={"query": "disk full on a node"})
    assert small.status_code == 200


def test_a_streamed_body_is_counted_as_it_arrives(
    app_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = app_client(make_settings(tmp_path, max_body_bytes=LIMIT))

    def chunks(total: int) -> Iterator[bytes]:
        yield b'{"query": "disk full '
        for _ in range(total // 512):
            yield b"y" * 512
        yield b'"}'

    big = client.post(
        "/v1/search", content=chunks(LIMIT * 2), headers={"content-type": "application/json"}
    )
    assert big.status_code == 413
    fine = client.post(
        "/v1/search", content=chunks(1024), headers={"content-type": "application/json"}
    )
    assert fine.status_code == 200


# -- over a real socket: chunked transfer encoding, no Content-Length ---------------------------


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A real uvicorn on 127.0.0.1 (an ephemeral port) serving incidents only."""
    settings = make_settings(tmp_path, max_body_bytes=LIMIT)
    store = IncidentStore(settings.sqlalchemy_url)
    app = create_app(settings, incident_store=store, load_knowledge=False, bind_host="127.0.0.1")
    try:
        with LiveServer(app) as server:
            yield "127.0.0.1", server.port
    finally:
        store.close()


def _chunked_request(address: tuple[str, int], body_chunks: list[bytes], *, finish: bool) -> bytes:
    """Send a chunked POST; read the response as soon as the server gives one."""
    sock = socket.create_connection(address, timeout=10)
    try:
        sock.sendall(
            b"POST /v1/incidents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        # poll, not select: a long test session may hold more than 1,024 descriptors, and
        # select() refuses any numbered past that.
        answered = select.poll()
        answered.register(sock, select.POLLIN)
        for chunk in body_chunks:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if answered.poll(0):
                break  # the server answered before the body was done
        if finish:
            sock.sendall(b"0\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + 10:
            part = sock.recv(65536)
            if not part:
                break
            data += part
        return data
    finally:
        sock.close()


def test_a_chunked_upload_over_the_limit_gets_413_before_it_ends(
    live_server: tuple[str, int],
) -> None:
    # Only a bit more than the limit is sent, and the body is never terminated: the answer
    # can only come from counting the chunks as they arrive.
    chunks = [b'{"title": "' + b"z" * 1000] + [b"z" * 1000] * 4
    reply = _chunked_request(live_server, chunks, finish=False)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"request body too large" in reply


def test_a_chunked_upload_within_the_limit_reaches_the_app_intact(
    live_server: tuple[str, int],
) -> None:
    body = json.dumps({"title": "Chunked declaration", "severity": "SEV3"}).encode()
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]
    reply = _chunked_request(live_server, chunks, finish=True)
    assert reply.startswith(b"HTTP/1.1 201"), reply[:300]


# -- rate limit -------------------------------------------------------------------------------


def test_token_bucket_refills_at_its_rate() -> None:
    now = [100.0]
    buckets = TokenBuckets(rate=2.0, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0.0  # callers have their own buckets
    now[0] += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    now[0] += 60
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]  # never above the burst
    assert buckets.take("a") > 0
    assert TokenBuckets(rate=0, burst=1).take("x") == 0.0  # rate 0: off


def test_each_key_has_its_own_limit_with_retry_after(
    app_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, rate_limit_per_s=0.2, rate_limit_burst=3)
    alice = bearer(new_key(settings, "alice", "read"))
    bob = bearer(new_key(settings, "bob", "read"))
    client = app_client(settings)
    statuses = [client.get("/v1/incidents", headers=alice).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/v1/incidents", headers=alice)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 5
    assert "rate limit" in limited.json()["detail"]
    assert client.get("/v1/incidents", headers=bob).status_code == 200
    # probes are never limited
    assert all(client.get("/healthz").status_code == 200 for _ in range(10))


def test_without_keys_the_limit_is_per_client_address(
    app_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = app_client(make_settings(tmp_path, rate_limit_per_s=0.1, rate_limit_burst=2))
    assert [client.get("/v1/incidents").status_code for _ in range(3)] == [200, 200, 429]
    buckets: TokenBuckets = client.app.state.rate_limits  # type: ignore[attr-defined]
    assert list(buckets._buckets) == ["ip:testclient"]
