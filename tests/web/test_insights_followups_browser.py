"""The Insights page in Chromium: the knowledge-base figures, and follow-ups added and edited from
the page's form, with what the server refuses shown on the page as it said it."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser import PageErrors
from tests.conftest import LiveServer
from tests.web.test_insights_browser import api, history

pytestmark = pytest.mark.slow

# A step no runbook of the sample knowledge base has (read from the runbooks, not the code).
COURIER = "Phoned the courier company and asked them to hold the afternoon pickups for an hour"


def follow_ups(live: LiveServer) -> list[dict[str, Any]]:
    return list(api(live, "GET", "/v1/follow-ups")["follow_ups"])


def test_knowledge_figures_and_the_follow_up_form(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    ids = history(live)
    api(
        live,
        "POST",
        f"/v1/incidents/{ids[0]}/events",
        json={"kind": "action", "text": COURIER, "author": "sam"},
    )
    script = httpx.get(f"{live.url}/static/insights.js", timeout=30).text
    assert "innerHTML" not in script and "parseFromString" not in script

    page.goto("/insights")
    expect(page.locator("#insights-state")).to_contain_text("3 incidents", timeout=60_000)
    gaps_row = page.locator("#figures tbody tr").filter(has_text="Steps no runbook has")
    expect(gaps_row.locator("td").last).to_have_text("n = 1")
    expect(page.locator("#kb-gaps li")).to_have_count(1)
    expect(page.locator("#kb-gaps li")).to_contain_text(COURIER)
    expect(page.locator("#kb-gaps li a")).to_have_attribute("href", f"/incidents/{ids[0]}")
    expect(page.locator("#kb-cited-n")).to_contain_text("n = 0")

    # Add one, every field filled.
    due = (date.today() + timedelta(days=14)).isoformat()
    page.fill("#fu-title", "Add an alert on held transactions")
    page.fill("#fu-incident", ids[0].lower())
    page.fill("#fu-owner", "Dana")
    page.fill("#fu-team", "Team-Data")
    page.fill("#fu-due", due)
    page.select_option("#fu-priority", "high")
    page.fill("#fu-link", "https://tracker.example.test/OPS-7")
    page.click("#fu-submit")
    state = page.locator("#fu-form-state")
    expect(state).to_contain_text("added")
    rows = page.locator("#followups tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Add an alert on held transactions")
    [made] = follow_ups(live)
    assert made["incident_id"] == ids[0] and made["owner"] == "Dana"
    assert made["team"] == "team-data" and made["due_on"] == due and made["priority"] == "high"
    assert made["external_url"] == "https://tracker.example.test/OPS-7"
    expect(page.locator("#fu-title")).to_have_value("")  # the form is ready for the next one

    # What the server refuses is said on the page, and nothing is created.
    page.fill("#fu-title", "Check the pool")
    page.fill("#fu-link", "javascript:alert(1)")
    page.click("#fu-submit")
    expect(state).to_have_attribute("data-kind", "error")
    expect(state).to_contain_text("external_url")
    page.fill("#fu-link", "")
    page.fill("#fu-incident", "INC-999")
    page.click("#fu-submit")
    expect(state).to_contain_text("incident not found")
    assert len(follow_ups(live)) == 1
    expect(page.locator("#fu-title")).to_have_value("Check the pool")  # kept to correct

    # Edit the one made: the form fills in; change the title, move the incident, clear the owner.
    page.get_by_role("button", name="Edit Add an alert on held transactions").click()
    expect(page.locator("#fu-form-h")).to_have_text(f"Edit {made['id']}")
    expect(page.locator("#fu-title")).to_have_value("Add an alert on held transactions")
    expect(page.locator("#fu-incident")).to_have_value(ids[0])
    expect(page.locator("#fu-due")).to_have_value(due)
    page.fill("#fu-title", "")
    page.click("#fu-submit")
    expect(state).to_have_attribute("data-kind", "error")
    expect(state).to_contain_text("title")
    page.fill("#fu-title", "Alert on idle-in-transaction connections")
    page.fill("#fu-incident", ids[1])
    page.fill("#fu-owner", "")
    page.click("#fu-submit")
    expect(state).to_contain_text("saved")
    expect(rows.first).to_contain_text("Alert on idle-in-transaction connections")
    expect(page.locator("#fu-form-h")).to_have_text("Add a follow-up")
    [edited] = follow_ups(live)
    assert (
        edited["id"] == made["id"] and edited["title"] == "Alert on idle-in-transaction connections"
    )
    assert edited["incident_id"] == ids[1] and edited["owner"] is None
    assert edited["team"] == "team-data" and edited["due_on"] == due
    # The only console errors are the browser's own lines for the three refused requests.
    assert len(js_errors.errors) == 3, js_errors.errors
    assert all(re.search(r"status of (422|404)", e) for e in js_errors.errors), js_errors.errors
