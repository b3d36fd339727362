"""The status page in a real headless Chromium: publishing a public update in the war room
changes the page; the page reads without script, under its CSP, on a phone and a laptop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings
from tests.browser import EXPECT_TIMEOUT_MS, PageErrors, Screens
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture
def live_page(web_settings: Settings) -> Iterator[LiveServer]:
    """The app without the knowledge base (the status page and war room need none)."""
    store = IncidentStore(web_settings.sqlalchemy_url)
    app = create_app(web_settings, incident_store=store, load_knowledge=False)
    with LiveServer(app) as server:
        yield server
    store.close()


def api(live: LiveServer, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, live.url + path, timeout=30, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def open_page(browser: Any, live: LiveServer, errors: PageErrors, **size: int) -> Any:
    context = browser.new_context(
        viewport={"width": size.get("width", 1366), "height": size.get("height", 860)},
        base_url=live.url,
        java_script_enabled=size.get("js", 1) == 1,
        color_scheme="light",
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = errors.watch(context.new_page())
    page.on(
        "response",
        lambda r: errors.errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
    )
    return page


def test_publishing_in_the_war_room_changes_the_public_page(
    browser: Any, live_page: LiveServer, screens: Screens, js_errors: PageErrors
) -> None:
    from playwright.sync_api import expect

    incident = api(
        live_page,
        "POST",
        "/v1/incidents",
        json={
            "title": "Checkout fails: orders-db pool exhausted",
            "severity": "SEV2",
            "services": ["checkout-api", "orders-db"],
            "customer_impact": "Some customers cannot place orders",
            "roles": {"incident_commander": "Dana Okafor"},
        },
    )
    status = open_page(browser, live_page, js_errors, js=0)
    status.goto("/status")
    expect(status.locator("#overall")).to_have_text("All Systems Operational")

    war_room = open_page(browser, live_page, js_errors)
    war_room.goto(f"/incidents/{incident['id']}")
    war_room.select_option("#u-audience", "public")
    war_room.click("#draft-form button")
    expect(war_room.locator("#u-body")).not_to_have_value("")
    war_room.click("#u-publish")
    expect(war_room.locator("#draft-state")).to_contain_text("Published")
    title = war_room.locator("#u-title").input_value()

    # The page, read with JavaScript off: the incident and its published text are there.
    status.reload()
    active = status.locator("#h-active + article")
    expect(active.locator("h3")).to_contain_text(title)
    expect(active.locator(".updates")).to_contain_text("Investigating")
    text = status.locator("main").inner_text()
    for leak in ("Dana", "orders-db", "checkout-api", "SEV2", incident["title"]):
        assert leak not in text

    # A second public update, with components set, moves them and the overall status.
    d = api(
        live_page,
        "POST",
        f"/v1/incidents/{incident['id']}/status-updates",
        json={"audience": "public"},
    )
    api(
        live_page,
        "POST",
        f"/v1/incidents/{incident['id']}/status-updates/{d['id']}/publish",
        json={"components": {"Checkout": "major_outage", "Orders": "partial_outage"}},
    )
    status.reload()
    expect(status.locator("#overall")).to_have_text("Major System Outage")
    checkout = status.locator("li.component", has=status.locator(".name", has_text="Checkout"))
    expect(checkout.locator(".st")).to_have_text("Major outage")
    # The stylesheet loaded under the CSP: the banner is coloured, the bars laid out in a grid.
    banner = status.locator("#overall").evaluate("e => getComputedStyle(e).backgroundColor")
    assert banner not in ("rgba(0, 0, 0, 0)", "transparent")
    display = checkout.locator(".bars").evaluate("e => getComputedStyle(e).display")
    assert display == "grid"
    assert checkout.locator(".bars li").count() == 90
    screens.save(status, "status-page")

    summary = api(live_page, "GET", "/status/api/v2/summary.json")
    assert summary["status"]["indicator"] == "critical"
    assert [i["name"] for i in summary["incidents"]] == [title]

    # On a phone: nothing wider than the screen, text still there.
    phone = open_page(browser, live_page, js_errors, width=390, height=844, js=0)
    phone.goto("/status")
    expect(phone.locator("#overall")).to_have_text("Major System Outage")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    font = phone.locator(".updates .body").first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert font >= 14
    screens.save(phone, "status-page-phone")
    for opened in (status, war_room, phone):
        opened.context.close()
    # No console error: in particular no CSP violation (a blocked style or script reports one).
    assert js_errors.errors == []
