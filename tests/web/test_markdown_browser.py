"""The war-room page shows markdown rendered (never raw), and its smaller fixes, in Chromium.

Published updates, search passages and runbook sections come as HTML the server rendered and
sanitised; links between runbooks are clickable; a missing incident says so; the key pop-over
agrees with the API; copilot entries fold away; times can be set; /docs works air-gapped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser import PageErrors
from tests.conftest import LiveServer
from tests.web.test_warroom_browser import ago, api, declare, needs

pytestmark = pytest.mark.slow


def test_published_update_shows_bold_not_asterisks(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    needs(live, "status_updates")
    needs(live, "publish")
    incident = declare(live)
    base = f"/v1/incidents/{incident['id']}"
    draft = api(live, "POST", f"{base}/status-updates", json={"audience": "executive"})
    assert "**Affected:**" in draft["body"]
    api(live, "POST", f"{base}/status-updates/{draft['id']}/publish", json={})

    page.goto(f"/incidents/{incident['id']}")
    update = page.locator("#timeline li.k-status_update")
    expect(update.locator("strong", has_text="Affected:")).to_be_visible()
    assert "**" not in update.inner_text()
    assert js_errors.errors == []


def test_runbook_page_merges_sections_and_links_to_other_runbooks(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    page.goto("/runbooks/runbooks/api-gateway-5xx-spike.md")
    # The title is the source until the document arrives; its sections come with it.
    expect(page.locator(".doc-section > h2").first).to_be_visible()
    headings = page.locator(".doc-section > h2").all_inner_texts()
    assert headings.count("Diagnosis") == 1 and headings.count("Meaning") == 1, headings
    for block in page.locator(".doc-section pre").all_inner_texts():
        assert block.strip(), "an empty code block"
    assert "```" not in page.locator("#doc-sections").inner_text()

    related = page.locator(".doc-section", has=page.locator("h2", has_text="Related"))
    link = related.locator("a", has_text="Checkout error rate high")
    expect(link).to_have_attribute("href", "/runbooks/runbooks/checkout-error-rate-high.md")
    link.click()
    expect(page).to_have_url(re.compile(r"/runbooks/runbooks/checkout-error-rate-high\.md$"))
    expect(page.locator("#doc-title")).to_have_text(
        re.compile("checkout error rate", re.IGNORECASE)
    )
    assert js_errors.errors == []


def test_search_results_show_rendered_passages(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    page.goto("/search?q=pgbouncer%20too%20many%20clients%20show%20pools")
    results = page.locator("#results > li")
    expect(results.first).to_be_visible()
    expect(page.locator("#results .snippet.rendered").first).to_be_visible()
    text = page.locator("#results").inner_text()
    assert "```" not in text and "**" not in text
    assert page.locator("#results .snippet code").count() > 0
    assert js_errors.errors == []


def test_ask_answer_steps_show_code_not_backticks(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    page.goto("/search")
    page.fill("#ask-question", "checkout failing, pgbouncer says too many clients")
    page.press("#ask-question", "Control+Enter")
    steps = page.locator("#ask-result .steps > li > span")
    expect(steps.first).to_be_visible(timeout=90_000)  # an answer on a busy 2-core machine
    expect(page.locator("#ask-result .steps > li > span code").first).to_be_visible()
    for text in steps.all_inner_texts():
        assert "`" not in text and "**" not in text, text
    assert js_errors.errors == []


def test_missing_incident_says_not_found_and_offers_no_forms(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    page.goto("/incidents/INC-404")
    expect(page.locator("#not-found")).to_be_visible()
    expect(page.locator("#not-found")).to_contain_text("No incident INC-404")
    for form in ("#event-form", "#status-form", "#role-form", "#ask-form", "#times-form"):
        expect(page.locator(form)).to_be_hidden()
    expect(page.locator("#alert")).to_be_hidden()
    # The 404s the page met are its own requests, not script errors.
    assert all("404" in e for e in js_errors.errors), js_errors.errors


def test_key_popover_agrees_with_what_the_api_answers(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    page.goto("/")
    expect(page.locator("#list-state")).to_contain_text("No incidents")
    page.click("#settings summary")
    expect(page.locator("#key-state")).to_have_text(
        "No key needed: this server's API answered without one."
    )

    keys_store = getattr(live.app.state, "keys", None)
    if keys_store is None:
        pytest.skip("API keys are not installed in this build (copilot.security)")
    _, key = keys_store.create("war-room", ["read", "respond"])
    page.reload()
    expect(page.locator("#alert")).to_contain_text("needs an API key")
    expect(page.locator("#key-state")).to_have_text(
        "This server needs an API key: none is saved in this browser."
    )
    page.fill("#api-key", key)
    page.press("#api-key", "Enter")
    expect(page.locator("#key-state")).to_have_text(
        "A key is saved in this browser and the server accepts it."
    )
    assert all("401" in e for e in js_errors.errors), js_errors.errors


def test_copilot_entries_fold_away(page: Any, live: LiveServer, js_errors: PageErrors) -> None:
    incident = declare(live)
    base = f"/v1/incidents/{incident['id']}"
    asked = httpx.post(
        f"{live.url}/v1/ask",
        json={"question": "pool exhausted", "incident_id": incident["id"]},
        timeout=180,
    )
    assert asked.status_code == 200, asked.text
    api(live, "POST", f"{base}/events", json={"kind": "note", "text": "a human note"})
    copilot = [e for e in api(live, "GET", f"{base}/events")["events"] if e["data"].get("audit")]
    if not copilot:
        pytest.skip("this build does not record copilot answers on the timeline")

    page.goto(f"/incidents/{incident['id']}")
    expect(page.locator("#timeline")).to_contain_text("a human note")
    expect(page.locator("#timeline li.copilot").first).to_be_hidden()
    toggle = page.locator("#show-copilot")
    expect(page.locator("label[for=show-copilot]")).to_contain_text(f"({len(copilot)} asks")
    toggle.check()
    expect(page.locator("#timeline li.copilot").first).to_be_visible()
    page.reload()  # the choice is remembered
    expect(page.locator("#timeline li.copilot").first).to_be_visible()
    assert js_errors.errors == []


def _minute(minutes_ago: int) -> str:
    """A time as <input type=datetime-local> holds it (UTC on this page), to the minute."""
    moment = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago)
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_times_can_be_set_from_the_page(page: Any, live: LiveServer, js_errors: PageErrors) -> None:
    incident = declare(live, started_at=None, detected_at=None, declared_at=ago(60))
    page.goto(f"/incidents/{incident['id']}")
    expect(page.locator("#inc-title")).to_have_text(incident["title"])
    expect(page.locator("#metrics")).to_contain_text(re.compile(r"Time to detect\s*–"))
    page.fill("#t-started", _minute(90))
    page.fill("#t-detected", _minute(70))
    page.fill("#t-reason", "from the dashboards")
    page.click("#times-form button")
    expect(page.locator("#times-state")).to_have_text("Times saved.")
    expect(page.locator("#summary")).to_contain_text(_minute(90).replace("T", " "))
    expect(page.locator("#timeline")).to_contain_text("from the dashboards")
    expect(page.locator("#metrics")).to_contain_text(re.compile(r"Time to detect\s*20 min 00 s"))
    server = api(live, "GET", f"/v1/incidents/{incident['id']}")
    assert server["started_at"].startswith(_minute(90))

    # A status change can be dated: that is how mitigated and resolved are set after the fact.
    page.select_option("#c-status", "mitigating")
    page.fill("#c-status-at", _minute(30))
    page.click("#status-form button")
    expect(page.locator("#inc-status")).to_have_text("mitigating")
    page.select_option("#c-status", "resolved")
    page.fill("#c-status-at", _minute(10))
    page.click("#status-form button")
    expect(page.locator("#inc-status")).to_have_text("resolved")
    expect(page.locator("#change-state")).to_contain_text("Status is now resolved (at ")
    resolved = api(live, "GET", f"/v1/incidents/{incident['id']}")["resolved_at"]
    assert resolved.startswith(_minute(10))
    expect(page.locator("#metrics")).to_contain_text(re.compile(r"Time to resolve\s*1 h 0\d min"))
    assert js_errors.errors == []


def test_api_docs_load_from_this_server_only(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Responder Copilot")
    expect(page.locator(".opblock").first).to_be_visible()
    assert hosts == {urlsplit(live.url).netloc}, hosts
    assert js_errors.errors == []
