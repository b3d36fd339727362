"""The server reads the hosts its knowledge base links to, and which of its pages link to which,
while it waits for the first ask, so the first ask does not screen every section itself (18 s
on the sample knowledge base)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from copilot.api import app as app_module
from copilot.api.app import create_app
from copilot.embedding import Embedder
from copilot.guardrails import semantic
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from ingest.pipeline import ingest_paths
from tests.conftest import write


def test_the_server_reads_its_link_hosts_before_anyone_asks(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    root = tmp_path / "kb"
    write(
        root,
        "kiln.md",
        "# Kiln too hot\n\n## Diagnosis\n\n"
        "Open the [kiln dashboard](https://grafana.kiln.example/d/kiln) and check the drift.\n"
        "Follow [the vent check](vents.md) before opening the door.\n",
    )
    write(root, "vents.md", "# Vent check\n\n## Diagnosis\n\nCheck the vents are open.\n")
    with KnowledgeBase(settings, embedder) as kb:
        ingest_paths(kb, [root], progress=False)
    app = create_app(settings, embedder=embedder)
    with TestClient(app) as client:
        kb = app.state.kb
        # Nothing asked: the warm-up fills the cache on its own (polled, not timed).
        deadline = time.monotonic() + 120
        while "links_into" not in kb._derived and time.monotonic() < deadline:
            time.sleep(0.05)
        assert kb._hosts_cache == {"grafana.kiln.example"}
        # And which pages link to which (search asks it of its first result).
        assert kb._derived["links_into"] == {"vents.md": frozenset({"kiln.md"})}
        asked = client.post("/v1/ask", json={"question": "kiln too hot"})
        assert asked.status_code == 200
        assert asked.json()["guardrails"]["blocked"] == []


def test_start_up_work_uses_every_core_and_serving_its_own_threads(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The detector's fit embeds its exemplars at start, before anything is served: on every
    core (15.6 s on one thread, 9.2 s on two). Serving then keeps to `serve_threads`."""
    settings = Settings(data_dir=tmp_path / "data", serve_threads=1, _env_file=None)  # type: ignore[call-arg]
    events: list[tuple[str, int]] = []
    real = app_module.set_threads

    def set_threads(count: int) -> None:
        events.append(("threads", count))
        real(count)

    monkeypatch.setattr(app_module, "set_threads", set_threads)
    monkeypatch.setattr(semantic, "warm", lambda: events.append(("fit", 0)))
    before = torch.get_num_threads()
    try:
        with TestClient(create_app(settings, embedder=embedder)) as client:
            assert client.get("/healthz").status_code == 200
    finally:
        torch.set_num_threads(before)
    assert events == [("threads", os.cpu_count() or 1), ("fit", 0), ("threads", 1)]


def test_a_second_start_reads_the_detector_fit_the_first_kept(
    tmp_path: Path, embedder: Embedder
) -> None:
    """The fit is most of the server's start (9 s of 17 s on two cores): kept in the data
    directory, a later start with the same model and exemplars reads it."""
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    sources = []
    try:
        for _ in range(2):
            with TestClient(create_app(settings, embedder=embedder)) as client:
                assert client.get("/healthz").status_code == 200
                found = semantic.detector()
                assert found is not None
                sources.append(found.fit_source)
    finally:
        semantic.keep_fits_in(None)
    assert sources == ["fitted", "read"]
    assert (settings.data_dir / semantic.FIT_FILE).exists()
