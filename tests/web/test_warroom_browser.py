"""The war-room page in a real headless Chromium against a real server.

The scenario a responder walks through: declare an incident, log what happens, change status,
ask the copilot and open the runbook section it cites, draft and publish a public update,
pre-fill the postmortem, search the runbooks. Each screen is saved as a PNG (see conftest).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from copilot.web.routes import FEATURES, served
from tests.browser import PageErrors, Screens
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow


def api(live: LiveServer, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, live.url + path, timeout=30, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def declare(live: LiveServer, **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Checkout fails: orders database pool exhausted",
        "severity": "SEV2",
        "services": ["checkout-api", "orders-db"],
        "customer_impact": "Some customers cannot place orders",
        "roles": {"incident_commander": "Dana"},
        "author": "Dana",
        "started_at": ago(20),
        "detected_at": ago(12),
        **overrides,
    }
    incident: dict[str, Any] = api(live, "POST", "/v1/incidents", json=body)
    return incident


def needs(live: LiveServer, feature: str) -> None:
    method, path = FEATURES[feature]
    if not served(live.app, method, path):
        pytest.skip(
            f"{method} {path.replace('{}', '{id}', 1).replace('{}', '{draft_id}')} "
            "is not served by this build"
        )


def test_declare_an_incident_from_the_list_with_the_keyboard(
    page: Any, live: LiveServer, screens: Screens, js_errors: PageErrors
) -> None:
    old = declare(live, title="Search results stale after reindex", severity="SEV3")
    api(live, "PATCH", f"/v1/incidents/{old['id']}", json={"status": "resolved"})

    page.goto("/")
    expect(page.locator("#incidents tbody tr")).to_have_count(1)
    expect(page.locator("#list-state")).to_have_text("1 incident, newest first.")

    # Filters are a plain GET form: bookmarkable, and they reach the API as query parameters.
    page.select_option("#f-status", "mitigating")
    page.click("#filters button")
    expect(page).to_have_url(re.compile(r"status=mitigating"))
    expect(page.locator("#list-state")).to_have_text("No incidents matching the filter.")
    page.select_option("#f-status", "resolved")
    page.select_option("#f-severity", "SEV3")
    page.click("#filters button")
    expect(page.locator("#incidents tbody tr")).to_have_count(1)

    page.goto("/")
    page.focus("#d-title")
    page.keyboard.type("Checkout 502s for EU customers")
    page.keyboard.press("Tab")
    page.keyboard.press("Home")  # the most severe level first
    expect(page.locator("#d-severity")).to_have_value("SEV1")
    expect(page.locator("#d-severity-def")).to_contain_text("every 30 min")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#d-severity")).to_have_value("SEV2")
    page.keyboard.press("Tab")
    page.keyboard.type("checkout-api, payments")
    page.keyboard.press("Tab")
    page.keyboard.type("Card payments fail for about a third of EU checkouts")
    page.keyboard.press("Tab")
    page.keyboard.type("Dana")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/incidents/INC-2$"))
    expect(page.locator("#inc-title")).to_have_text("Checkout 502s for EU customers")
    expect(page.locator("#inc-severity")).to_have_text("SEV2 · Major")
    expect(page.locator("#inc-status")).to_have_text("triage")
    expect(page.locator("#inc-services")).to_have_text("Services: checkout-api, payments")
    expect(page.locator("#roles")).to_contain_text("Dana")
    expect(page.locator("#clock-value")).to_contain_text("due in")
    expect(page.locator("#clock-detail")).to_contain_text("every 60 min")

    page.goto("/")
    expect(page.locator("#incidents tbody tr")).to_have_count(2)
    first = page.locator("#incidents tbody tr").first
    expect(first).to_contain_text("INC-2")
    expect(first).to_contain_text("SEV2")
    screens.save(page, "incident-list")
    assert js_errors.errors == []


def test_timeline_notes_status_and_roles(
    page: Any, live: LiveServer, screens: Screens, js_errors: PageErrors
) -> None:
    # The metrics below are exact to the second, so the declaration time is pinned too: left to
    # the server's clock it is "now" when the POST lands, and on a loaded machine that can be
    # over half a second after detected_at was computed here, so "12 min 00 s" reads "12 min 01 s".
    declared = datetime.now(UTC)
    incident = declare(
        live,
        started_at=(declared - timedelta(minutes=20)).isoformat(),
        detected_at=(declared - timedelta(minutes=12)).isoformat(),
        declared_at=declared.isoformat(),
    )
    page.goto(f"/incidents/{incident['id']}")
    expect(page.locator("#inc-title")).to_have_text(incident["title"])
    page.evaluate("localStorage.setItem('copilot.name', 'Sam')")

    # The scribe types and presses Enter; the field is ready for the next line at once.
    page.fill("#e-text", "PgBouncer SHOW POOLS: 80/80 server connections, 400 clients waiting")
    page.press("#e-text", "Enter")
    expect(page.locator("#timeline")).to_contain_text("400 clients waiting")
    expect(page.locator("#e-text")).to_be_focused()
    expect(page.locator("#e-text")).to_have_value("")
    page.select_option("#e-kind", "action")
    page.fill("#e-text", "Rolled back orders-service to the previous release")
    page.press("#e-text", "Enter")
    expect(page.locator("#timeline li.k-action")).to_contain_text("Rolled back orders-service")
    expect(page.locator("#timeline li.k-action")).to_contain_text("— Sam")

    page.select_option("#c-status", "mitigating")
    page.fill("#c-status-reason", "rollback in progress")
    page.click("#status-form button")
    expect(page.locator("#inc-status")).to_have_text("mitigating")
    expect(page.locator("#timeline")).to_contain_text(
        "Status: triage -> mitigating: rollback in progress"
    )

    # Focused, as a user's choice is: the page's periodic refresh puts an unfocused severity
    # picker back to the incident's severity, and select_option does not move the focus.
    page.focus("#c-severity")
    page.select_option("#c-severity", "SEV1")
    page.click("#severity-form button")
    expect(page.locator("#inc-severity")).to_have_text("SEV1 · Critical")
    expect(page.locator("#clock-detail")).to_contain_text("every 30 min")

    page.select_option("#r-role", "scribe")
    page.fill("#r-person", "Sam")
    page.press("#r-person", "Enter")
    expect(page.locator("#roles")).to_contain_text("Sam")
    expect(page.locator("#timeline")).to_contain_text("Sam is scribe")

    kinds = page.locator("#timeline li .kind").all_inner_texts()
    assert [k.lower() for k in kinds[:2]] == ["declared", "role change"]
    assert kinds.index("NOTE") < kinds.index("ACTION") < kinds.index("STATUS CHANGE")
    metrics = page.locator("#metrics")
    expect(metrics).to_contain_text(re.compile(r"Time to detect\s*8 min 00 s"))
    # SEV1 now: its targets apply (declare within 15 min of detection, mitigate within 60).
    expect(metrics).to_contain_text(
        re.compile(r"Target: declare\s*12 min 00 s \(target 15 min 00 s\) · met")
    )
    expect(metrics).to_contain_text(re.compile(r"Target: mitigate\s*target 1 h 00 min · running"))

    # What the server holds is what the page showed.
    events = api(live, "GET", f"/v1/incidents/{incident['id']}/events")["events"]
    assert [e["author"] for e in events if e["kind"] == "action"] == ["Sam"]
    page.evaluate("window.scrollTo(0, 0)")
    screens.save(page, "incident")
    assert js_errors.errors == []


def test_ask_shows_cited_steps_and_opens_the_runbook_section(
    page: Any, live: LiveServer, screens: Screens, js_errors: PageErrors
) -> None:
    incident = declare(live)
    page.goto(f"/incidents/{incident['id']}")
    expect(page.locator("#inc-title")).to_have_text(incident["title"])
    page.fill("#ask-question", "checkout failing, pgbouncer says too many clients")
    page.press("#ask-question", "Control+Enter")

    steps = page.locator("#ask-result .steps > li")
    expect(steps.first).to_be_visible()
    assert steps.count() >= 2
    first_cite = steps.first.locator(".cites a").first
    href = first_cite.get_attribute("href") or ""
    assert href.startswith("/runbooks/runbooks/orders-db-connection-pool-exhausted.md?lines=")
    approval = page.locator("#ask-result .step.approval")
    expect(approval.first).to_contain_text("Requires approval")
    expect(approval.first.locator("pre.command")).to_be_visible()
    page.locator("#ask-h").evaluate("h => h.scrollIntoView({block: 'start'})")
    screens.save(page, "ask")

    cited_section = (first_cite.inner_text().split(" › ")[1]).split(" (lines")[0]
    with page.context.expect_page() as opened:
        first_cite.click()
    doc = opened.value
    doc.set_viewport_size({"width": 1366, "height": 860})
    expect(doc.locator("#doc-title")).to_have_text("Orders DB connection pool exhausted")
    cited = doc.locator(".doc-section.cited")
    expect(cited.first).to_be_visible()
    expect(cited.first.locator("h2")).to_have_text(cited_section)
    expect(cited.first).to_be_focused()
    start, end = (int(n) for n in href.split("lines=")[1].split("-"))
    label = cited.first.locator(".hint").inner_text()
    shown = [int(n) for n in re.findall(r"\d+", label)[:2]]
    assert shown[0] <= end and shown[1] >= start, (label, href)
    screens.save(doc, "runbook-section")
    assert js_errors.errors == []


def ask_on_page(page: Any, incident_id: str, question: str) -> None:
    """Open the incident's page and ask, as a responder does (Ctrl+Enter)."""
    page.goto(f"/incidents/{incident_id}")
    page.fill("#ask-question", question)
    page.press("#ask-question", "Control+Enter")


def test_a_responder_can_list_every_step_the_cap_left_out(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    incident = declare(live)
    ask_on_page(page, incident["id"], "checkout failing, pgbouncer says too many clients")
    steps = page.locator("#ask-result .steps > li")
    expect(steps.first).to_be_visible()
    capped = steps.count()
    more = page.locator("#ask-result button.more-steps")
    expect(more).to_contain_text("more)")
    wanted = int(re.search(r"Show all (\d+) steps", more.inner_text()).group(1))  # type: ignore[union-attr]
    assert wanted > capped
    more.click()
    expect(page.locator("#ask-result button.more-steps")).to_have_count(0)
    expect(steps.first).to_be_visible()
    assert capped < steps.count() <= wanted
    expect(page.locator("#ask-result .answer-text")).not_to_contain_text("more step(s)")
    assert js_errors.errors == []


def test_a_runbooks_caution_is_shown_apart_from_the_steps_to_take(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    incident = declare(live)
    ask_on_page(page, incident["id"], "baskets are getting emptied, redis-carts evicting keys")
    caution = page.locator("#ask-result .cautions > li.caution")
    expect(caution.first).to_be_visible()
    expect(caution.first).to_contain_text("Never run")
    expect(caution.first.locator("pre.command")).to_have_count(0)
    expect(caution.first.locator(".cites a").first).to_be_visible()
    expect(page.locator("#ask-result .steps > li", has_text="Never run")).to_have_count(0)
    # The similar incident's sentences are markdown too: `redis-carts` is code, not backticks.
    similar = page.locator("#ask-result .similar > li").first
    expect(similar.locator("p code").first).to_be_visible()
    assert "`" not in similar.inner_text()
    assert js_errors.errors == []


def test_a_steps_link_to_another_runbook_opens_that_runbook(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    incident = declare(live)
    ask_on_page(
        page, incident["id"], "checkout pods crashlooping after the deploy, how do i fix it"
    )
    # "**Caused by a deploy:** roll back ([Deploy rollback](deploy-rollback.md))": the link
    # resolves against the runbook the step cites, not against the incident page.
    link = page.locator(
        "#ask-result .steps > li > span a[href='/runbooks/runbooks/deploy-rollback.md']"
    )
    expect(link.first).to_be_visible()
    expect(link.first).to_have_text("Deploy rollback")
    assert js_errors.errors == []


def test_ask_lists_each_step_left_out_with_the_entry_that_did_it(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    incident = declare(live, title="Checkout pods crashlooping", services=["checkout-api"])
    rolled_back = "Rolled back checkout-api to the previous release"
    api(
        live,
        "POST",
        f"/v1/incidents/{incident['id']}/events",
        json={"kind": "action", "text": rolled_back},
    )
    ask_on_page(page, incident["id"], "pods keep restarting after deploy")
    done = page.locator("#ask-result .done-steps > li")
    expect(done.first).to_be_visible()
    expect(done.first).to_contain_text("done: ")
    assert any("roll back" in t.lower() and rolled_back in t for t in done.all_inner_texts()), (
        done.all_inner_texts()
    )
    assert js_errors.errors == []


def test_status_update_draft_edit_copy_and_publish(
    page: Any, live: LiveServer, screens: Screens, js_errors: PageErrors
) -> None:
    needs(live, "status_updates")
    needs(live, "publish")
    incident = declare(live)
    api(
        live,
        "POST",
        f"/v1/incidents/{incident['id']}/events",
        json={"kind": "impact", "text": "About 30% of checkouts fail in Europe"},
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/incidents/{incident['id']}")
    expect(page.locator("#inc-title")).to_have_text(incident["title"])
    expect(page.locator("#clock-value")).to_contain_text("due in")

    page.select_option("#u-audience", "public")
    page.click("#draft-form button")
    body = page.locator("#u-body")
    expect(body).not_to_have_value("")
    expect(body).to_be_focused()
    edited = body.input_value() + "\n\nWe are sorry for the disruption."
    body.fill(edited)

    page.click("#u-copy")
    expect(page.locator("#draft-state")).to_have_text("Copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.endswith("We are sorry for the disruption.")
    assert copied.startswith(page.locator("#u-title").input_value())
    page.locator("#updates-h").evaluate("h => h.scrollIntoView({block: 'start'})")
    screens.save(page, "status-update")

    page.click("#u-publish")
    expect(page.locator("#draft-state")).to_contain_text("Published")
    expect(page.locator("#u-publish")).to_be_disabled()
    update = page.locator("#timeline li.k-status_update")
    expect(update).to_contain_text("We are sorry for the disruption.")
    expect(update).to_contain_text("public")
    expect(page.locator("#summary")).not_to_contain_text("Last status update–")
    published = api(live, "GET", f"/v1/incidents/{incident['id']}/events?kind=status_update")
    assert published["events"][0]["text"].endswith("We are sorry for the disruption.")
    assert js_errors.errors == []


def test_postmortem_preview_and_markdown_download(
    page: Any, live: LiveServer, screens: Screens, js_errors: PageErrors
) -> None:
    needs(live, "postmortem")
    incident = declare(live)
    base = f"/v1/incidents/{incident['id']}"
    api(
        live,
        "POST",
        f"{base}/events",
        json={"kind": "alert", "text": "OrdersDbPoolSaturated fired"},
    )
    api(
        live,
        "POST",
        f"{base}/events",
        json={"kind": "mitigation", "text": "Raised pool size to 120"},
    )
    api(live, "PATCH", base, json={"status": "resolved", "reason": "error rate back to normal"})

    page.goto(f"/incidents/{incident['id']}")
    expect(page.locator("#inc-status")).to_have_text("resolved")
    expect(page.locator("#clock-value")).to_have_text("none due")
    page.click("#pm-fill")
    preview = page.locator("#pm-preview")
    expect(preview).to_be_visible()
    expect(preview.locator("h3, h4").first).to_be_visible()
    expect(preview).to_contain_text("Raised pool size to 120")
    expect(page.locator("#pm-download")).to_be_enabled()
    page.locator("#postmortem-h").evaluate("h => h.scrollIntoView({block: 'start'})")
    screens.save(page, "postmortem")

    with page.expect_download() as download:
        page.click("#pm-download")
    saved = download.value
    assert saved.suggested_filename == f"{incident['id']}-postmortem.md"
    text = open(saved.path(), encoding="utf-8").read()  # noqa: SIM115 - read once
    server = api(live, "POST", f"{base}/postmortem", json={})
    # Same sections as a fresh pre-fill (its clock-dependent lines aside).
    assert [line for line in text.splitlines() if line.startswith("#")] == [
        line for line in server["markdown"].splitlines() if line.startswith("#")
    ]
    assert js_errors.errors == []


def test_runbook_search_page(
    page: Any, live: LiveServer, screens: Screens, js_errors: PageErrors
) -> None:
    page.goto("/search")
    page.select_option("#s-kind", "runbook")
    page.fill("#s-query", "customers say their basket went empty after logging back in")
    page.press("#s-query", "Enter")
    results = page.locator("#results > li")
    expect(results.first).to_be_visible()
    expect(results.first.locator("h2 a")).to_have_attribute(
        "href", re.compile(r"^/runbooks/runbooks/redis-carts-memory-pressure\.md\?lines=\d+-\d+$")
    )
    expect(page).to_have_url(re.compile(r"/search\?q=customers"))
    screens.save(page, "search")

    page.select_option("#s-kind", "postmortem")
    page.click("#search-form button")
    expect(page.locator("#search-state")).to_contain_text("best first")
    for meta in page.locator("#results .hint").all_inner_texts():
        assert meta.startswith("postmortem · postmortems/"), meta

    # A bookmarked search runs on load.
    page.goto("/search?q=pgbouncer%20too%20many%20clients")
    expect(results.first).to_contain_text("connection pool")
    expect(page.locator("#search-notice")).to_be_hidden()

    # Off topic: the closest sections are listed, and the page says none is a close match.
    page.goto("/search?q=how%20do%20I%20make%20coffee")
    expect(page.locator("#search-state")).to_contain_text("none a close match")
    expect(page.locator("#search-notice")).to_be_visible()
    expect(page.locator("#search-notice")).to_contain_text("Nothing in the knowledge base matches")
    expect(results.first).to_be_visible()

    # A typing slip: the page says what else was searched, and finds the runbook meant.
    page.goto("/search?q=kafak%20consumers%20lagging")
    expect(page.locator("#search-notice")).to_contain_text(
        "Also searched \u201ckafak\u201d as \u201ckafka\u201d"
    )
    expect(results.first.locator("h2 a")).to_have_attribute(
        "href", re.compile(r"^/runbooks/runbooks/kafka-consumer-lag-orderstream\.md")
    )
    assert js_errors.errors == []


def test_text_from_the_server_is_shown_as_text_never_run(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    attack = '<img src=x onerror="window.__pwned = 1">'
    incident = declare(live, title=f"Probe {attack}")
    api(
        live,
        "POST",
        f"/v1/incidents/{incident['id']}/events",
        json={"text": "<script>window.__pwned = 2</script>"},
    )
    page.goto(f"/incidents/{incident['id']}")
    expect(page.locator("#inc-title")).to_have_text(f"Probe {attack}")
    expect(page.locator("#timeline")).to_contain_text("<script>window.__pwned = 2</script>")
    page.goto("/")
    expect(page.locator("#incidents tbody")).to_contain_text(attack)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#incidents img").count() == 0
    # Markdown on the timeline is rendered by the server and sanitised: tags stay text.
    api(
        live,
        "POST",
        f"/v1/incidents/{incident['id']}/events",
        json={"text": '**bold** <img src=x onerror="window.__pwned = 3"> [x](javascript:alert(1))'},
    )
    page.goto(f"/incidents/{incident['id']}")
    note = page.locator("#timeline li").last
    expect(note.locator("strong")).to_have_text("bold")
    expect(note).to_contain_text("<img src=x")
    assert note.locator("img, a").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert js_errors.errors == []


PAGES = ["/", "/incidents/INC-1", "/search", "/runbooks/runbooks/vault-sealed.md?lines=1-20"]


def test_every_control_is_labelled_and_the_skip_link_comes_first(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    declare(live)
    for path in PAGES:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea, button')]
                .filter((el) => el.type !== 'hidden')
                .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                                && !(el.tagName === 'BUTTON' && el.textContent.trim()))
                .map((el) => el.outerHTML.slice(0, 80))"""
        )
        assert unlabelled == [], (path, unlabelled)
        assert page.locator("h1").count() == 1, path
        if "/runbooks/" in path:
            # A cited section takes the focus, so the keyboard starts where the reader looks.
            assert page.evaluate("document.activeElement.classList.contains('cited')"), path
            continue
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content", path
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#main", path
        assert page.evaluate("document.activeElement.id") == "main", path
    assert js_errors.errors == []


def test_the_page_sends_the_saved_api_key(
    page: Any, live: LiveServer, web_settings: Any, js_errors: PageErrors
) -> None:
    keys_store = getattr(live.app.state, "keys", None)
    if keys_store is None:
        pytest.skip("API keys are not installed in this build (copilot.security)")
    declare(live, title="Visible only with a key")
    _, key = keys_store.create("war-room", ["read", "respond"])

    page.goto("/")
    # No key yet: the API refuses, and the page says what to do and where.
    expect(page.locator("#alert")).to_contain_text("needs an API key")
    expect(page.locator("#api-key")).to_be_focused()
    expect(page.locator("#incidents tbody tr")).to_have_count(0)
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    expect(page.locator("#incidents tbody tr")).to_have_count(1)
    expect(page.locator("#incidents tbody")).to_contain_text("Visible only with a key")
    assert page.evaluate("localStorage.getItem('copilot.apiKey')") == key
    expect(page.locator("#api-key")).to_have_value("")  # never left on screen

    page.click("#incidents tbody a")
    expect(page.locator("#inc-title")).to_have_text("Visible only with a key")
    page.fill("#e-text", "noted with a key")
    page.press("#e-text", "Enter")
    expect(page.locator("#timeline")).to_contain_text("noted with a key")
    # The only errors were the refused requests before the key was saved.
    assert all("401" in e for e in js_errors.errors), js_errors.errors


def test_a_mistyped_address_shows_a_page_that_leads_back(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    page.goto("/alerts")
    expect(page.get_by_role("heading", name="No page here")).to_be_visible()
    page.get_by_role("link", name="Firing", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/firing$"))
    # Chromium logs the page's own 404 status; nothing else went wrong.
    assert [e for e in js_errors.errors if "status of 404" not in e] == []
