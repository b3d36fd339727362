"""The Insights page in Chromium: figures with their sample sizes, the matplotlib charts shown as
images each with its table, the CSV download, and the follow-ups (overdue ones marked) whose
status changes from the page; follow-up text, which anyone with a key writes, shown as text."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser import PageErrors, Screens
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow

HOSTILE = 'Add <img src=x onerror="window.pwned=1"> pool <b>alerts</b>'


def api(live: LiveServer, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, live.url + path, timeout=60, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


def history(live: LiveServer) -> list[str]:
    ids = []
    for n, (severity, service) in enumerate(
        [("SEV2", "orders-db"), ("SEV3", "orders-db"), ("SEV2", "search-api")]
    ):
        incident = api(
            live,
            "POST",
            "/v1/incidents",
            json={
                "title": f"Orders database pool exhausted #{n}",
                "severity": severity,
                "services": [service],
                "started_at": ago(50 + n),
                "detected_at": ago(49.8 + n),
            },
        )
        api(live, "PATCH", f"/v1/incidents/{incident['id']}", json={"status": "resolved"})
        ids.append(incident["id"])
    return ids


def test_figures_charts_csv_and_follow_ups(
    page: Any, live: LiveServer, screens: Screens, js_errors: PageErrors
) -> None:
    ids = history(live)
    overdue = api(
        live,
        "POST",
        "/v1/follow-ups",
        json={
            "title": HOSTILE,
            "incident_id": ids[0],
            "owner": "Dana",
            "due_on": (date.today() - timedelta(days=3)).isoformat(),
            "priority": "high",
            "external_url": "https://tracker.example.test/OPS-1",
        },
    )
    later = api(
        live,
        "POST",
        "/v1/follow-ups",
        json={
            "title": "Raise the pool size",
            "incident_id": ids[1],
            "due_on": (date.today() + timedelta(days=30)).isoformat(),
        },
    )

    page.goto("/")
    page.click("nav >> text=Insights")
    expect(page.locator("#insights-state")).to_contain_text("3 incidents", timeout=60_000)
    figures = page.locator("#figures tbody tr")
    expect(figures.filter(has_text="Incidents").first.locator("td").last).to_have_text("n = 3")
    expect(figures.filter(has_text="Time to resolve")).to_contain_text("median")

    charts = page.locator("#charts section.chart")
    assert charts.count() >= 4
    first = charts.first.locator("img")
    expect(first).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    assert first.evaluate("i => i.complete && i.naturalWidth") > 100
    # Each chart's numbers are a table, opened from the keyboard.
    summary = charts.first.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(charts.first.locator("details table")).to_be_visible()

    with page.expect_download() as download:
        page.click("#i-csv")
    path = download.value.path()
    assert Path(path).read_text(encoding="utf-8").splitlines()[0] == "table,row,column,value"

    # Follow-ups: overdue first and marked; text as text; the tracker link kept.
    rows = page.locator("#followups tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_class("overdue")
    expect(rows.first.locator(".badge.danger")).to_have_text("overdue")
    expect(rows.first.locator("th")).to_contain_text("<b>alerts</b>")
    assert page.locator("#followups img, #followups b").count() == 0
    assert page.evaluate("window.pwned") is None
    expect(rows.first.get_by_role("link", name="tracker")).to_have_attribute(
        "href", "https://tracker.example.test/OPS-1"
    )
    expect(page.locator("#fu-state")).to_have_text("2 follow-ups, 1 overdue (listed first).")
    screens.save(page, "insights", full_page=True)

    # Status change from the page, keyboard only.
    status = page.locator(f"#fu-{overdue['id']}-status")
    status.focus()
    status.select_option("done")
    expect(page.locator("#fu-state")).to_have_text("2 follow-ups, 0 overdue (listed first).")
    assert api(live, "GET", f"/v1/follow-ups/{overdue['id']}")["status"] == "done"

    page.check("#fu-overdue")
    expect(page.locator("#fu-state")).to_have_text("No follow-ups match.")
    page.uncheck("#fu-overdue")
    page.select_option("#fu-status", "open")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(later["title"])
    assert js_errors.errors == []


def test_readable_at_phone_width(browser: Any, live: LiveServer, js_errors: PageErrors) -> None:
    history(live)
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live.url)
    phone = js_errors.watch(context.new_page())
    phone.goto("/insights")
    expect(phone.locator("#charts section.chart").first).to_be_visible(timeout=60_000)
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    width = phone.locator("#charts img").first.evaluate("i => i.getBoundingClientRect().width")
    assert 200 < width <= 390
    context.close()
    assert js_errors.errors == []
