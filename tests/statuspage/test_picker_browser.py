"""The war room's status page picker in Chromium: a public update chooses the components it
affects, their status, the incident's impact and its public status; the public page and its JSON
follow. Component
names (the operator's file, or the catalog's public names) are shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings
from tests.browser import PageErrors, Screens
from tests.conftest import LiveServer
from tests.statuspage.test_browser import api, open_page

pytestmark = pytest.mark.slow

EVIL = 'Cart <img src=x onerror="window.pwned=1">'
COMPONENTS = f"""\
page:
  name: Example status
groups:
  - name: Shopping
    components:
      - name: Checkout
      - name: '{EVIL}'
        id: cart
components:
  - name: Delivery slots
"""


@pytest.fixture
def live_page(web_settings: Settings, tmp_path: Path) -> Iterator[LiveServer]:
    components = tmp_path / "components.yaml"
    components.write_text(COMPONENTS, encoding="utf-8")
    settings = web_settings.model_copy(update={"status_components": components})
    store = IncidentStore(settings.sqlalchemy_url)
    app = create_app(settings, incident_store=store, load_knowledge=False)
    with LiveServer(app) as server:
        yield server
    store.close()


def test_a_public_update_sets_components_and_impact(
    browser: Any, live_page: LiveServer, screens: Screens, js_errors: PageErrors
) -> None:
    incident = api(
        live_page,
        "POST",
        "/v1/incidents",
        json={
            "title": "Checkout fails",
            "severity": "SEV2",
            "services": ["checkout-api"],
            "customer_impact": "Some customers cannot pay",
        },
    )
    page = open_page(browser, live_page, js_errors)
    page.goto(f"/incidents/{incident['id']}")

    # An internal update never reaches the page: no picker.
    page.select_option("#u-audience", "internal")
    page.click("#draft-form button")
    expect(page.locator("#u-body")).not_to_have_value("")
    expect(page.locator("#u-page")).to_be_hidden()

    page.select_option("#u-audience", "public")
    page.click("#draft-form button")
    picker = page.locator("#u-page")
    expect(picker).to_be_visible()
    expect(page.locator("#u-phase")).to_have_text("Follows the incident (investigating)")
    selects = page.locator("#u-components select")
    expect(selects).to_have_count(3)
    group = page.locator("#u-components fieldset.comp-group")
    expect(group.locator("legend")).to_have_text("Shopping")
    # The component name is text: the label reads it literally, no element is made of it.
    expect(page.get_by_label(EVIL, exact=False)).to_have_count(1)
    assert page.locator("#u-components img").count() == 0
    assert page.evaluate("window.pwned") is None

    # Keyboard: every select is labelled and reachable.
    checkout = page.get_by_label("Checkout (now operational)")
    checkout.focus()
    checkout.select_option("major_outage")
    page.select_option("#u-comp-delivery-slots", "degraded_performance")
    page.get_by_label("Impact", exact=True).select_option("critical")
    # The cause is known to customers before the incident is mitigating inside.
    page.get_by_label("Incident status on the page").select_option("identified")
    screens.save(page, "status-picker")
    page.click("#u-publish")
    expect(page.locator("#draft-state")).to_contain_text("set 2 status page component(s)")

    summary = api(live_page, "GET", "/status/api/v2/summary.json")
    statuses = {c["id"]: c["status"] for c in summary["components"]}
    assert statuses["checkout"] == "major_outage"
    assert statuses["delivery-slots"] == "degraded_performance"
    assert statuses["cart"] == "operational"  # left unchanged
    (shown,) = summary["incidents"]
    assert shown["impact"] == "critical"
    assert shown["status"] == "identified"
    assert api(live_page, "GET", f"/v1/incidents/{incident['id']}")["status"] != "mitigating"

    # The next public draft shows the statuses the page now has.
    page.click("#draft-form button")
    expect(page.get_by_label("Checkout (now major outage)")).to_have_value("")
    assert js_errors.errors == []
