"""The war-room pages and the document view over HTTP (no browser)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.guardrails.redact import redact
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


def test_static_script_inserts_only_server_sanitised_html(client: TestClient) -> None:
    js = client.get("/static/warroom.js").text
    # One helper turns the server's sanitised `html` fields into nodes; nothing else parses HTML.
    assert js.count("parseFromString") == 1
    assert "outerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js
    assert "copilotRenderMarkdown" not in js  # the old regex renderer is gone


@pytest.mark.parametrize(
    "source", sorted(p.relative_to(SAMPLE_KB).as_posix() for p in SAMPLE_KB.rglob("*.md"))
)
def test_each_section_is_shown_once_with_its_whole_line_range(
    client: TestClient, source: str
) -> None:
    doc = client.get(f"/v1/documents/{source}").json()
    file_lines = (SAMPLE_KB / source).read_text().split("\n")
    spans = [tuple(s["lines"]) for s in doc["sections"]]
    assert spans == sorted(spans)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end < start, (source, spans)  # no two cards share a line
    for s in doc["sections"]:
        start, end = s["lines"]
        cited = [line.strip() for line in file_lines[start - 1 : end] if line.strip()]
        shown = [line.strip() for line in s["text"].split("\n") if line.strip()]
        if cited and cited[0].startswith("#"):
            cited = cited[1:]  # the heading: the card's title
        # The whole section, each word once (ingest cuts a very long line into pieces), as
        # screened: the sample runbooks carry no attack, so only redaction (addresses) applies.
        assert s["removed"] == 0, (s["section"], s["reasons"])
        assert " ".join(shown).split() == redact(" ".join(cited)).text.split(), s["section"]


def test_long_section_merged_into_one_card_with_one_code_block(client: TestClient) -> None:
    sections = client.get(f"/v1/documents/{RUNBOOK}").json()["sections"]
    names = [s["section"] for s in sections]
    assert names.count("Diagnosis") == 1 and names.count("Mitigation") == 1
    for s in sections:
        assert "<pre><code" not in s["html"] or "<pre><code></code></pre>" not in s["html"]
        assert s["html"].count("<pre>") == s["text"].count("```") // 2, s["section"]


def test_related_links_point_to_the_documents_pages(client: TestClient) -> None:
    doc = client.get("/v1/documents/runbooks/api-gateway-5xx-spike.md").json()
    related = next(s for s in doc["sections"] if s["section"] == "Related")
    assert 'href="/runbooks/runbooks/checkout-error-rate-high.md"' in related["html"]
    assert "](" not in related["html"]
    assert client.get("/runbooks/runbooks/checkout-error-rate-high.md").status_code == 200


def test_passages_render_search_results(client: TestClient) -> None:
    hits = client.post("/v1/search", json={"query": "pgbouncer too many clients", "top_k": 4})
    refs = [f"{r['source']}:{r['lines'][0]}-{r['lines'][1]}" for r in hits.json()["results"]]
    r = client.get("/v1/passages", params={"ref": [*refs, "runbooks/nope.md:1-2"]})
    assert r.status_code == 200
    passages = r.json()["passages"]
    assert [f"{p['source']}:{p['lines'][0]}-{p['lines'][1]}" for p in passages] == refs
    assert all("```" not in p["html"] for p in passages)
    bad = client.get("/v1/passages", params={"ref": "no-range"})
    assert bad.status_code == 422 and "ref" in str(bad.json()["detail"])
    assert client.get("/v1/passages", params={"ref": ["a.md:1-2"] * 21}).status_code == 422


def test_timeline_carries_rendered_markdown(client: TestClient) -> None:
    r = client.post("/v1/incidents", json={"title": "Checkout down", "severity": "SEV2"})
    incident_id = r.json()["id"]
    note = "**Affected:** checkout <script>x()</script> [rollback](runbooks/deploy-rollback.md)"
    client.post(f"/v1/incidents/{incident_id}/events", json={"kind": "note", "text": note})
    timeline = client.get(f"/v1/incidents/{incident_id}/timeline").json()
    plain = client.get(f"/v1/incidents/{incident_id}/events").json()
    assert [{k: v for k, v in e.items() if k != "html"} for e in timeline["events"]] == plain[
        "events"
    ]
    html = timeline["events"][-1]["html"]
    assert "<strong>Affected:</strong>" in html
    assert "&lt;script&gt;" in html and "<script" not in html
    assert 'href="/runbooks/runbooks/deploy-rollback.md"' in html
    assert client.get("/v1/incidents/INC-999/timeline").status_code == 404


def test_render_previews_markdown(client: TestClient) -> None:
    r = client.post("/v1/render", json={"markdown": "# Postmortem\n\n[x](javascript:alert(1))"})
    assert r.status_code == 200
    assert r.json()["html"].startswith("<h3>Postmortem</h3>")
    assert "javascript" not in r.json()["html"].split("</h3>")[1].replace("[x](javascript", "")
    assert client.post("/v1/render", json={"markdown": "x", "topk": 1}).status_code == 422
    lines = client.post(
        "/v1/render", json={"inline": ["Run `SHOW POOLS;` **now**", "1. <i>x</i>"]}
    ).json()
    assert lines["html"] == ""
    assert lines["inline"] == [
        "Run <code>SHOW POOLS;</code> <strong>now</strong>",
        "1. &lt;i&gt;x&lt;/i&gt;",
    ]


def test_each_inline_line_resolves_its_links_against_its_own_document(
    client: TestClient,
) -> None:
    # A step's link to another runbook ("roll back ([Deploy rollback](deploy-rollback.md))")
    # resolves against the runbook the step cites, and goes to that runbook's page.
    step = "roll back ([Deploy rollback](deploy-rollback.md))"
    shown = client.post(
        "/v1/render",
        json={
            "inline": ["An answer.", step, step],
            "inline_sources": [None, "runbooks/kubernetes-pod-crashloop.md", "nowhere/else.md"],
        },
    ).json()["inline"]
    assert shown[0] == "An answer."
    assert '<a href="/runbooks/runbooks/deploy-rollback.md"' in shown[1]
    # Resolved elsewhere it names no document of the knowledge base: text, not a dead link.
    assert "<a" not in shown[2] and "Deploy rollback" in shown[2]
    # One source per line, or none.
    mismatched = client.post("/v1/render", json={"inline": ["a", "b"], "inline_sources": ["x"]})
    assert mismatched.status_code == 422
    assert "one source per line" in mismatched.text


def test_missing_incident_page_has_a_not_found_panel(client: TestClient) -> None:
    page = client.get("/incidents/INC-404").text
    assert 'id="not-found"' in page and "No incident INC-404" in page


def test_a_mistyped_page_address_gets_a_page_with_the_links(client: TestClient) -> None:
    html = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    r = client.get("/alerts/<b>secret-token-123", headers=html)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in r.headers
    for link in ('href="/"', 'href="/firing"', 'href="/search"', 'href="/insights"'):
        assert link in r.text
    # The address asked for is not echoed back.
    assert "secret-token-123" not in r.text and "<b>" not in r.text
    # The API, the public status page and clients that do not ask for HTML keep JSON.
    for path, headers in (
        ("/v1/no-such-route", html),
        ("/status/no-such-page", html),
        ("/alerts", {"accept": "application/json"}),
    ):
        miss = client.get(path, headers=headers)
        assert miss.status_code == 404, path
        assert miss.json() == {"detail": "Not Found"}, path
    # Other errors are unchanged: a wrong method is still a 405.
    assert client.post("/firing", headers=html).status_code == 405
