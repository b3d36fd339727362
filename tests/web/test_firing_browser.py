"""The Firing view in Chromium: alert groups with their alerts, why they were grouped and their
runbooks (and how each was found), declared, attached or dismissed from the page; alert text,
which anyone who can write an alert rule controls, shown as text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from copilot.guardrails import semantic
from copilot.knowledge.store import KnowledgeBase
from tests.browser import PageErrors, Screens
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow

HOSTILE = '<img src=x onerror="window.pwned=1"> pool <b>saturated</b>'


@pytest.fixture(autouse=True, scope="module")
def _screening_fitted(sample_kb: KnowledgeBase) -> None:
    """A candidate's similar past incidents are the first text here long enough for the
    semantic injection check: fit it once (the model is the knowledge base's), not inside the
    first page load or API call of a test."""
    assert sample_kb.embedder is not None
    assert semantic.warm()


def api(live: LiveServer, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, live.url + path, timeout=30, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def _alert(name: str, service: str, minutes_ago: float, **extra: Any) -> dict[str, Any]:
    starts = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    return {
        "status": "firing",
        "labels": {"alertname": name, "service": service, "severity": "critical"},
        "annotations": extra.pop("annotations", {"summary": f"{name} on {service}"}),
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": extra.pop("generator", "http://prometheus.example.test/graph"),
        "fingerprint": f"{name}-{service}".lower(),
    }


def storm(live: LiveServer, service: str) -> None:
    """Two alert names on one service: a candidate under the packaged rules."""
    body = {
        "version": "4",
        "receiver": "copilot",
        "status": "firing",
        "groupKey": f'{{}}:{{service="{service}"}}',
        "truncatedAlerts": 0,
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.test",
        "alerts": [
            _alert(
                "OrdersDbPoolSaturated",
                service,
                6,
                annotations={"summary": HOSTILE},
                generator="javascript:window.pwned=2",
            ),
            _alert("CheckoutLatencyHigh", service, 4),
        ],
    }
    api(live, "POST", "/v1/alerts/alertmanager", json=body)


def test_declare_from_a_candidate_with_the_keyboard(
    page: Any, live: LiveServer, screens: Screens, js_errors: PageErrors
) -> None:
    storm(live, "orders-db")
    page.goto("/")
    page.click("nav >> text=Firing")
    expect(page.locator("#firing-state")).to_have_text("1 alert group, newest activity first.")
    card = page.locator("article.group")
    expect(card).to_have_count(1)
    expect(card.locator("h2")).to_contain_text("on orders-db (2 alerts)")
    expect(card.locator(".reason")).to_contain_text("orders-db")
    expect(card.locator(".badge.gstatus")).to_have_text("candidate")
    expect(card.locator("tbody tr")).to_have_count(2)

    # The runbook by the alert's name, linked to its section, saying how it was found.
    runbook = card.locator(".runbooks li", has_text="OrdersDbPoolSaturated")
    expect(runbook.locator("a")).to_have_attribute(
        "href", re.compile(r"^/runbooks/runbooks/orders-db-connection-pool-exhausted\.md\?lines=")
    )
    expect(runbook.locator(".found-by")).to_have_attribute("data-found-by", "alert_name")
    expect(runbook.locator(".found-by")).to_contain_text("by the alert's name")

    # Under the runbooks, the sample's past postmortem of a checkout pool exhaustion, linked.
    expect(card.locator("h3", has_text="Similar past incidents")).to_be_visible()
    similar = card.locator(".similar-incidents li")
    expect(similar.first).to_be_visible()
    assert similar.count() <= 3
    pgbouncer = similar.filter(has_text="PgBouncer pool exhaustion")
    expect(pgbouncer.locator("a")).to_have_attribute(
        "href",
        re.compile(
            r"^/runbooks/postmortems/2026-02-03-checkout-outage-pgbouncer-pool-exhaustion\.md"
            r"\?lines=\d+-\d+$"
        ),
    )

    # Alert text is data: shown literally, never as markup; a javascript: URL is not a link.
    expect(card.locator(".alert-summary").first).to_contain_text("<b>saturated</b>")
    assert card.locator("img, b").count() == 0
    assert card.locator('a[href^="javascript"]').count() == 0
    assert page.evaluate("window.pwned") is None
    screens.save(page, "firing", full_page=True)

    # Keyboard only: choose the severity, then Declare.
    severity = card.locator("select[name=severity]")
    expect(severity).to_have_value("SEV2")  # critical -> SEV2 in the packaged mapping
    severity.focus()
    page.keyboard.press("Home")  # SEV1
    expect(severity).to_have_value("SEV1")
    page.keyboard.press("Tab")
    expect(card.get_by_role("button", name="Declare incident")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**/incidents/INC-*")
    expect(page.locator("#inc-severity")).to_contain_text("SEV1")
    expect(page.locator("#timeline")).to_contain_text("OrdersDbPoolSaturated")

    groups = api(live, "GET", "/v1/alert-groups")["items"]
    assert groups[0]["status"] == "declared"
    assert groups[0]["incident_id"] == page.url.rsplit("/", 1)[1]
    assert js_errors.errors == []


def test_attach_to_an_open_incident_and_dismiss_with_a_reason(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    incident = api(
        live,
        "POST",
        "/v1/incidents",
        json={"title": "Orders database slow", "severity": "SEV2", "services": ["orders-db"]},
    )
    storm(live, "orders-db")
    storm(live, "search-api")
    page.goto("/firing")
    cards = page.locator("article.group")
    expect(cards).to_have_count(2)

    first = cards.filter(has_text="orders-db")
    expect(first.get_by_label("Open incident")).to_have_value(incident["id"])
    first.get_by_role("button", name="Attach").click()
    # Attached: no longer a candidate, so it leaves the candidates view.
    expect(cards).to_have_count(1)

    other = cards.first
    # A dismissal needs a reason: the browser refuses the empty form, nothing is sent.
    other.get_by_role("button", name="Dismiss").click()
    expect(cards).to_have_count(1)
    other.get_by_label("Reason to dismiss").fill("Known noisy during the reindex")
    other.get_by_role("button", name="Dismiss").click()
    expect(page.locator("#firing-state")).to_have_text(
        "Nothing to act on: no alert group is a candidate."
    )

    by_status = {g["status"]: g for g in api(live, "GET", "/v1/alert-groups")["items"]}
    assert by_status["attached"]["incident_id"] == incident["id"]
    assert by_status["dismissed"]["dismissed_reason"] == "Known noisy during the reindex"

    page.select_option("#g-status", "dismissed")
    page.click("#firing-filter button[type=submit]")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Dismissed: Known noisy during the reindex")
    expect(cards.first.locator("form")).to_have_count(0)
    assert js_errors.errors == []


def test_an_alert_after_its_incident_resolved_proposes_reopening_from_the_page(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    storm(live, "orders-db")
    (group,) = api(live, "GET", "/v1/alert-groups", params={"status": "candidate"})["items"]
    incident = api(live, "POST", f"/v1/alert-groups/{group['id']}/declare", json={})
    api(live, "PATCH", f"/v1/incidents/{incident['id']}", json={"status": "resolved"})
    body = {
        "version": "4",
        "status": "firing",
        "groupKey": '{}:{service="orders-db"}',
        "alerts": [_alert("OrdersDbReplicaLag", "orders-db", 0)],
    }
    api(live, "POST", "/v1/alerts/alertmanager", json=body)

    page.goto("/firing")
    card = page.locator("article.group")
    expect(card).to_have_count(1)
    proposal = card.locator(".reopen-proposal")
    expect(proposal).to_contain_text(f"{incident['id']} is resolved")
    button = proposal.get_by_role("button", name=f"Reopen {incident['id']} and attach")
    button.click()
    expect(page.locator("#firing-state")).to_have_text(
        "Nothing to act on: no alert group is a candidate."
    )
    assert api(live, "GET", f"/v1/incidents/{incident['id']}")["status"] == "mitigating"
    assert js_errors.errors == []


def test_the_incident_page_says_when_every_alert_has_resolved(
    page: Any, live: LiveServer, screens: Screens, js_errors: PageErrors
) -> None:
    storm(live, "orders-db")
    (group,) = api(live, "GET", "/v1/alert-groups", params={"status": "candidate"})["items"]
    incident = api(live, "POST", f"/v1/alert-groups/{group['id']}/declare", json={})
    page.goto(f"/incidents/{incident['id']}")
    linked = page.locator("#inc-alerts")
    expect(linked).to_have_text("Linked alerts: 2 firing, 0 resolved.")

    # Alertmanager's notification once both have resolved (endsAt in the past).
    ended = datetime.now(UTC) - timedelta(minutes=1)
    alerts = [
        {**_alert(name, "orders-db", minutes), "status": "resolved", "endsAt": ended.isoformat()}
        for name, minutes in (("OrdersDbPoolSaturated", 6), ("CheckoutLatencyHigh", 4))
    ]
    body = {
        "version": "4",
        "status": "resolved",
        "groupKey": '{}:{service="orders-db"}',
        "alerts": alerts,
    }
    api(live, "POST", "/v1/alerts/alertmanager", json=body)
    page.reload()
    expect(linked).to_have_text(
        f"Every alert of this incident has resolved (2 of 2, the last at "
        f"{ended:%Y-%m-%d %H:%M} UTC). The incident stays open until someone resolves it: "
        "validate recovery first."
    )
    expect(linked).to_have_class("notice")
    expect(linked).to_have_role("status")
    # Said, not done: the incident is as it was.
    expect(page.locator("#inc-status")).to_have_text("triage")
    assert api(live, "GET", f"/v1/incidents/{incident['id']}")["status"] == "triage"
    screens.save(page, "incident-alerts-resolved")
    assert js_errors.errors == []
