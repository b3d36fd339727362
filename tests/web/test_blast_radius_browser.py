"""The incident page's blast radius in Chromium: owners with their contacts, affected dependents
(user-facing ones marked with their public names), upstream dependencies, and the Graphviz
picture, fetched with the API key and shown as an image the page's CSP allows; catalog text
(titles, links), which whoever edits catalog-info.yaml controls, shown as text."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from copilot.catalog import service as catalog
from tests.browser import PageErrors, Screens
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EVIL_TITLE = '<img src=x onerror="window.pwned=1">Widget <b>board</b>'
EXTRA = f"""\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: widget-board
  title: '{EVIL_TITLE}'
spec:
  type: service
  lifecycle: experimental
  owner: team-widgets
  dependsOn: [resource:orders-db]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-widgets
  title: Widgets team
  links:
    - url: "javascript:window.pwned=3"
      title: bad link
    - url: https://wiki.example.test/widgets
spec:
  type: team
  profile:
    email: widgets@example.test
  children: []
"""


def api(live: LiveServer, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, live.url + path, timeout=30, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


@pytest.fixture
def with_catalog(live: LiveServer, tmp_path: Path) -> None:
    extra = tmp_path / "extra" / "catalog-info.yaml"
    extra.parent.mkdir()
    extra.write_text(EXTRA, encoding="utf-8")
    report = catalog.import_paths(
        db=live.app.state.incidents.db, paths=[REPO / "runbooks" / "catalog", extra.parent]
    )
    assert not report.failed, report.failed


def declare(live: LiveServer, services: list[str]) -> str:
    body = {"title": "Orders database pool exhausted", "severity": "SEV2", "services": services}
    incident_id: str = api(live, "POST", "/v1/incidents", json=body)["id"]
    return incident_id


@pytest.mark.usefixtures("with_catalog")
def test_owners_dependents_upstream_and_the_graph(
    page: Any, live: LiveServer, screens: Screens, js_errors: PageErrors
) -> None:
    incident_id = declare(live, ["orders-db", "no-such-service"])
    page.goto(f"/incidents/{incident_id}")
    section = page.locator("#blast")
    # The first screening of catalog text in a fresh server loads its model: give it time.
    expect(page.locator("#blast-state")).to_contain_text("affected dependent", timeout=60_000)

    owners = page.locator("#blast-owners > li")
    expect(owners.filter(has_text="Data platform team")).to_have_count(1)
    mail = owners.filter(has_text="Data platform team").locator('a[href^="mailto:"]')
    expect(mail).to_have_attribute("href", "mailto:data-platform@larkfield.example")

    dependents = page.locator("#blast-dependents tbody tr")
    orders = dependents.filter(has_text="Orders service")
    expect(orders.locator(".badge.public")).to_have_text("user-facing: Orders")
    expect(orders.locator(".path")).to_contain_text("orders-db")
    expect(page.locator("#blast-upstream")).to_be_visible()
    expect(page.locator("#blast-unmapped")).to_have_text("Not in the catalog: no-such-service.")

    # Catalog text is data: the hostile title reads as text; a javascript: link is no link.
    widget = dependents.filter(has_text="widget-board")
    expect(widget.locator("th")).to_contain_text("<b>board</b>")
    assert section.locator("b, th img").count() == 0
    assert section.locator('a[href^="javascript"]').count() == 0
    expect(owners.filter(has_text="Widgets team")).to_contain_text("javascript:window.pwned=3")

    # The picture: fetched with the key like any /v1 read, shown as a data: image.
    svg = page.locator("#blast-svg")
    if shutil.which("dot"):
        expect(page.locator("#blast-figure")).to_be_visible()
        expect(svg).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
        expect(svg).to_have_attribute("alt", re.compile(r"Blast radius graph"))
        assert page.evaluate("document.querySelector('#blast-svg').naturalWidth") > 100
    else:
        expect(page.locator("#blast-svg-state")).to_contain_text("Graphviz")
    assert page.evaluate("window.pwned") is None
    section.scroll_into_view_if_needed()
    screens.save(page, "blast-radius")
    assert js_errors.errors == []


_WIDTHS = """(() => {
  const img = document.querySelector('#blast-svg');
  return {shown: img.clientWidth, card: img.parentElement.clientWidth, natural: img.naturalWidth};
})()"""


@pytest.mark.skipif(shutil.which("dot") is None, reason="the graph needs Graphviz's dot")
@pytest.mark.usefixtures("with_catalog")
def test_a_wide_graph_fits_the_card_and_can_be_read_at_actual_size(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    # On a laptop-width window the payments graph is wider than its card: the failing service,
    # drawn on the right, used to be scrolled out of sight.
    page.set_viewport_size({"width": 900, "height": 900})
    incident_id = declare(live, ["payments-gateway"])
    page.goto(f"/incidents/{incident_id}")
    expect(page.locator("#blast-figure")).to_be_visible(timeout=60_000)
    size = page.locator("#blast-size")
    expect(size).to_be_visible()
    widths = page.evaluate(_WIDTHS)
    assert widths["natural"] > widths["card"] >= widths["shown"] > 0, widths
    size.click()
    expect(size).to_have_text("Fit to width")
    expect(size).to_have_attribute("aria-pressed", "true")
    assert page.evaluate(_WIDTHS)["shown"] == widths["natural"]
    size.click()
    expect(size).to_have_text("Actual size")
    assert page.evaluate(_WIDTHS)["shown"] <= widths["card"]
    assert js_errors.errors == []


@pytest.mark.usefixtures("with_catalog")
def test_services_the_catalog_does_not_know(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    incident_id = declare(live, ["mainframe"])
    page.goto(f"/incidents/{incident_id}")
    expect(page.locator("#blast-state")).to_have_text(
        "The service catalog knows none of this incident's services (mainframe).", timeout=60_000
    )
    expect(page.locator("#blast-body")).to_be_hidden()
    assert js_errors.errors == []


def test_without_a_catalog_or_services(page: Any, live: LiveServer, js_errors: PageErrors) -> None:
    incident_id = declare(live, [])
    page.goto(f"/incidents/{incident_id}")
    expect(page.locator("#blast-state")).to_contain_text("names no service yet")
    assert js_errors.errors == []


@pytest.mark.usefixtures("with_catalog")
def test_a_service_the_catalog_lacks_is_declared_and_the_page_warns(
    page: Any, live: LiveServer, js_errors: PageErrors
) -> None:
    incident_id = declare(live, ["ordrs-db"])
    page.goto(f"/incidents/{incident_id}")
    expect(page.locator("#inc-services")).to_have_text("Services: ordrs-db")
    warning = page.locator("#inc-warnings")
    expect(warning).to_be_visible(timeout=30_000)
    expect(warning).to_contain_text("ordrs-db is not in the service catalog")
    expect(warning).to_contain_text("did you mean orders-db")
    # Correcting the name clears it.
    api(live, "PATCH", f"/v1/incidents/{incident_id}", json={"services": ["orders-db"]})
    page.reload()
    expect(page.locator("#inc-services")).to_have_text("Services: orders-db")
    expect(warning).to_be_hidden()
    assert js_errors.errors == []
