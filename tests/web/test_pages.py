"""The war-room pages and the document view over HTTP (no browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.knowledge.store import KnowledgeBase
from copilot.settings import Settings
from copilot.web.routes import FEATURES, parse_lines, served
from tests.conftest import SAMPLE_KB

RUNBOOK = "runbooks/orders-db-connection-pool-exhausted.md"


@pytest.fixture
def client(sample_kb: KnowledgeBase, settings: Settings) -> Iterator[TestClient]:
    store = IncidentStore(settings.sqlalchemy_url)
    app = create_app(settings, kb=sample_kb, incident_store=store)
    with TestClient(app) as test_client:
        yield test_client
    store.close()


@pytest.mark.parametrize(
    "path",
    ["/", "/?status=resolved&severity=p1", "/incidents/inc-7", "/search?q=dns", "/runbooks/x.md"],
)
def test_pages_are_html_with_a_strict_policy_and_no_inline_script(
    client: TestClient, path: str
) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert r.headers["x-content-type-options"] == "nosniff"
    scripts = re.findall(r"<script[^>]*>", r.text)
    assert scripts and all('src="/static/' in tag for tag in scripts), scripts
    assert "<script>" not in r.text and " on" + "click=" not in r.text


def test_pages_carry_no_incident_data(client: TestClient) -> None:
    """The HTML is a shell: data comes from /v1, where the API key is checked."""
    r = client.post("/v1/incidents", json={"title": "Secret merger outage", "severity": "SEV1"})
    assert r.status_code == 201
    for path in ("/", f"/incidents/{r.json()['id']}", "/search?q=merger"):
        assert "Secret merger" not in client.get(path).text


def test_filters_are_preselected_and_unknown_values_ignored(client: TestClient) -> None:
    page = client.get("/?status=resolved&severity=p1").text
    assert '<option value="resolved" selected>' in page
    assert '<option value="SEV1" selected>' in page
    page = client.get("/?status=bogus&severity=nope").text
    assert " selected>" not in page.split('id="declare-form"')[0]


def test_incident_page_canonicalises_the_id_and_refuses_garbage(client: TestClient) -> None:
    assert 'data-incident="INC-7"' in client.get("/incidents/inc-7").text
    r = client.get("/incidents/not-an-id")
    assert r.status_code == 404
    assert "INC-42" in r.json()["detail"]


def test_panels_follow_what_this_build_serves(client: TestClient) -> None:
    page = client.get("/incidents/INC-1").text
    drafts = served(client.app, *FEATURES["status_updates"])  # type: ignore[arg-type]
    postmortem = served(client.app, *FEATURES["postmortem"])  # type: ignore[arg-type]
    assert ('id="draft-form"' in page) is drafts
    assert ("is not served" in page.split('id="postmortem-h"')[1]) is not postmortem
    assert ('id="pm-fill"' in page) is postmortem


def test_served_reads_the_api_routes(client: TestClient) -> None:
    app = client.app
    assert served(app, "POST", "/v1/incidents/{}/events")  # type: ignore[arg-type]
    assert served(app, "GET", "/v1/incidents/{}")  # type: ignore[arg-type]
    assert not served(app, "DELETE", "/v1/incidents/{}")  # type: ignore[arg-type]
    assert not served(app, "POST", "/v1/nothing/{}")  # type: ignore[arg-type]


def test_static_script_and_style(client: TestClient) -> None:
    js = client.get("/static/warroom.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "innerHTML" not in js.text  # everything is written as text
    assert client.get("/static/warroom.css").status_code == 200
    assert client.get("/static/../routes.py").status_code == 404


def test_document_sections_come_from_the_knowledge_base(client: TestClient) -> None:
    r = client.get(f"/v1/documents/{RUNBOOK}")
    assert r.status_code == 200
    doc = r.json()
    assert doc["title"] == "Orders DB connection pool exhausted"
    assert doc["kind"] == "runbook"
    sections = [s["section"] for s in doc["sections"]]
    assert "Diagnosis" in sections and "Meaning" in sections
    lines = (SAMPLE_KB / RUNBOOK).read_text().split("\n")
    for s in doc["sections"]:
        start, end = s["lines"]
        assert 1 <= start <= end <= len(lines)
        # Each section's first words are on the lines it claims.
        first = s["text"].split()[0].strip("`*#")
        assert first in "\n".join(lines[start - 1 : end]), (s["section"], first)


def test_document_lines_filter_keeps_overlapping_sections(client: TestClient) -> None:
    whole = client.get(f"/v1/documents/{RUNBOOK}").json()["sections"]
    target = next(s for s in whole if s["section"] == "Diagnosis")
    start = target["lines"][0]
    r = client.get(f"/v1/documents/{RUNBOOK}", params={"lines": f"{start}-{start}"})
    assert r.status_code == 200
    got = r.json()["sections"]
    assert target in got
    assert all(s["lines"][0] <= start <= s["lines"][1] for s in got)
    assert (
        client.get(f"/v1/documents/{RUNBOOK}", params={"lines": "90000-90001"}).status_code == 404
    )


@pytest.mark.parametrize("lines", ["abc", "9-3", "0-4", "1-2-3", "-5"])
def test_document_bad_line_ranges_are_422(client: TestClient, lines: str) -> None:
    r = client.get(f"/v1/documents/{RUNBOOK}", params={"lines": lines})
    assert r.status_code == 422
    assert "lines" in str(r.json()["detail"])


@pytest.mark.parametrize(
    "source",
    [
        "runbooks/no-such-runbook.md",
        "../../../../etc/passwd",
        "%2e%2e/%2e%2e/etc/hostname",
        "/etc/hostname",
        "pyproject.toml",
    ],
)
def test_document_view_never_reads_files_from_disk(client: TestClient, source: str) -> None:
    r = client.get(f"/v1/documents/{source}")
    assert r.status_code == 404, r.text
    assert "root:" not in r.text


def test_document_source_is_bounded(client: TestClient) -> None:
    assert client.get("/v1/documents/" + "a" * 600).status_code == 422
    assert client.get("/runbooks/" + "a" * 600).status_code == 422


def test_parse_lines() -> None:
    assert parse_lines(None) is None
    assert parse_lines(" ") is None
    assert parse_lines("12") == (12, 12)
    assert parse_lines("12-30") == (12, 30)
    assert parse_lines(" 3 - 4 ") == (3, 4)


def test_document_view_needs_a_key_once_keys_exist(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    keys = getattr(client.app.state, "keys", None)  # type: ignore[attr-defined]
    if keys is None:
        pytest.skip("API keys are not installed in this build (copilot.security)")
    _, key = keys.create("reader", ["read"])
    assert client.get(f"/v1/documents/{RUNBOOK}").status_code == 401
    ok = client.get(f"/v1/documents/{RUNBOOK}", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200
    # The pages stay open: they hold no data.
    assert client.get("/").status_code == 200
    assert client.get("/static/warroom.js").status_code == 200
