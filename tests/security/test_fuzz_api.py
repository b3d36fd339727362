"""Schemathesis against the served /openapi.json: generated requests, valid and invalid, to every
operation over real HTTP. No 500s, and every response matches the schema the API publishes.

The server has its own small knowledge base (admin ingest is among the fuzzed operations), runs
open on loopback as `copilot serve` does with no keys, and has the rate limit off so the fuzzer
sees the handlers rather than 429s. Examples per operation are bounded (FUZZ_EXAMPLES).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from copilot.api.app import create_app
from copilot.api.middleware import close_security
from copilot.embedding import Embedder
from copilot.incidents.db import IncidentStore
from copilot.knowledge.store import KnowledgeBase
from ingest.pipeline import ingest_paths
from tests.conftest import SAMPLE_KB, LiveServer
from tests.security.conftest import make_settings

FUZZ_EXAMPLES = 30
DOCS = ["vault-sealed.md", "dns-resolution-failures.md"]
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    root = tmp_path_factory.mktemp("fuzz")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in DOCS:
        shutil.copy(SAMPLE_KB / "runbooks" / name, corpus / name)
    settings = make_settings(root, ingest_roots=[corpus], rate_limit_per_s=0)
    kb = KnowledgeBase(settings, embedder)
    store = IncidentStore(settings.sqlalchemy_url)
    assert not ingest_paths(kb, [corpus], progress=False).failed
    app = create_app(settings, kb=kb, incident_store=store, bind_host="127.0.0.1")
    try:
        with LiveServer(app) as server:
            yield server.url
    finally:
        store.close()
        kb.close()


def _published_schema() -> dict[str, Any]:
    """The OpenAPI document the app serves; building it opens nothing."""
    with tempfile.TemporaryDirectory(prefix="copilot-openapi-") as tmp:
        app = create_app(make_settings(Path(tmp)), load_knowledge=False)
        document: dict[str, Any] = app.openapi()
        close_security(app)
    return document


schema = schemathesis.openapi.from_dict(_published_schema())


@schema.parametrize()
@hypothesis_settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_generated_requests_never_500_and_match_the_schema(case: Any, live_api: str) -> None:
    case.call_and_validate(base_url=live_api, checks=CHECKS)
