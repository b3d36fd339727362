"""Many clients at once over real HTTP: searches and asks while the server ingests and events
are appended. No request fails, no event is lost or reordered, the ingest lands whole."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import httpx

from copilot.api.app import create_app
from copilot.embedding import Embedder
from copilot.incidents.db import IncidentStore
from copilot.knowledge.store import KnowledgeBase
from ingest.pipeline import ingest_paths
from tests.conftest import SAMPLE_KB, LiveServer
from tests.security.conftest import make_settings

FIRST = ["vault-sealed.md", "dns-resolution-failures.md", "node-disk-pressure.md"]
ADDED = ["tls-certificate-expiring.md", "kafka-consumer-lag-orderstream.md"]
SEARCHERS, ASKERS, WRITERS = 6, 4, 4
NOTES_PER_WRITER = 15
QUERIES = [
    "vault is sealed and secrets cannot be read",
    "pods cannot resolve internal DNS names",
    "node has disk pressure and pods are evicted",
    "certificate about to expire",
]


def test_concurrent_search_ask_ingest_and_events(tmp_path: Path, embedder: Embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in FIRST:
        shutil.copy(SAMPLE_KB / "runbooks" / name, corpus / name)
    for name in ADDED:
        assert (SAMPLE_KB / "runbooks" / name).exists(), name
    settings = make_settings(tmp_path, ingest_roots=[corpus], rate_limit_per_s=0)
    kb = KnowledgeBase(settings, embedder)
    store = IncidentStore(settings.sqlalchemy_url)
    assert not ingest_paths(kb, [corpus], progress=False).failed
    app = create_app(settings, kb=kb, incident_store=store, bind_host="127.0.0.1")

    failures: list[str] = []
    failures_lock = threading.Lock()
    done = threading.Event()

    def check(response: httpx.Response, expected: int, what: str) -> Any:
        if response.status_code != expected:
            with failures_lock:
                failures.append(f"{what}: HTTP {response.status_code} {response.text[:200]}")
            return None
        return response.json()

    try:
        with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=120) as main:
            incident = check(
                main.post(
                    "/v1/incidents",
                    json={"title": "Secrets unreadable", "severity": "SEV2", "services": ["vault"]},
                ),
                201,
                "declare",
            )
            incident_id = incident["id"]

            def searcher(n: int) -> None:
                with httpx.Client(base_url=server.url, timeout=120) as client:
                    i = n
                    while not done.is_set():
                        body = check(
                            client.post("/v1/search", json={"query": QUERIES[i % len(QUERIES)]}),
                            200,
                            "search",
                        )
                        if body is not None and not body["results"]:
                            with failures_lock:
                                failures.append("search: no results")
                        i += 1

            def asker(n: int) -> None:
                with httpx.Client(base_url=server.url, timeout=120) as client:
                    i = n
                    while not done.is_set():
                        question = QUERIES[i % len(QUERIES)]
                        check(
                            client.post(
                                "/v1/ask", json={"question": question, "incident_id": incident_id}
                            ),
                            200,
                            "ask",
                        )
                        i += 1

            def writer(n: int) -> None:
                with httpx.Client(base_url=server.url, timeout=120) as client:
                    for i in range(NOTES_PER_WRITER):
                        check(
                            client.post(
                                f"/v1/incidents/{incident_id}/events",
                                json={"kind": "note", "text": f"writer {n} note {i}"},
                            ),
                            201,
                            "event",
                        )

            readers = [threading.Thread(target=searcher, args=(n,)) for n in range(SEARCHERS)]
            readers += [threading.Thread(target=asker, args=(n,)) for n in range(ASKERS)]
            writers = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
            for thread in readers + writers:
                thread.start()
            try:
                # Two ingests through the server while everything else runs: add documents,
                # then change one and remove another.
                for name in ADDED:
                    shutil.copy(SAMPLE_KB / "runbooks" / name, corpus / name)
                added = check(
                    main.post("/v1/admin/ingest", json={"paths": [str(corpus)]}), 200, "ingest 1"
                )
                vault = corpus / FIRST[0]
                vault.write_text(vault.read_text() + "\n## Concurrency marker\n\nZebra step.\n")
                (corpus / FIRST[1]).unlink()
                changed = check(
                    main.post("/v1/admin/ingest", json={"paths": [str(corpus)]}), 200, "ingest 2"
                )
                for thread in writers:
                    thread.join(120)
            finally:
                done.set()
                for thread in readers + writers:
                    thread.join(120)

            assert not failures, failures[:10]
            assert added is not None and added["added"] == len(ADDED) and added["failed"] == 0
            assert changed is not None
            assert (changed["updated"], changed["removed"], changed["failed"]) == (1, 1, 0)

            timeline = check(main.get(f"/v1/incidents/{incident_id}/events"), 200, "events")
            notes = [e["text"] for e in timeline["events"] if e["text"].startswith("writer ")]
            # Every note is there exactly once, each writer's in the order it wrote them.
            assert sorted(notes) == sorted(
                f"writer {n} note {i}" for n in range(WRITERS) for i in range(NOTES_PER_WRITER)
            )
            for n in range(WRITERS):
                mine = [t for t in notes if t.startswith(f"writer {n} ")]
                assert mine == [f"writer {n} note {i}" for i in range(NOTES_PER_WRITER)]

            hits = check(
                main.post("/v1/search", json={"query": "zebra step concurrency marker"}),
                200,
                "search after",
            )["results"]
            assert hits[0]["source"] == FIRST[0]
        assert sorted(kb.files()) == sorted([FIRST[0], FIRST[2], *ADDED])
        counts = kb.counts()
        assert counts["vectors"] == counts["chunks"]
    finally:
        store.close()
        kb.close()
