"""The public status page over HTTP: published public updates move it, nothing else reaches it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.security.keys import KeyStore
from copilot.settings import Settings
from tests.incidents.conftest import Clock
from tests.status.conftest import EVENTS, INCIDENT, draft, move
from tests.statuspage.conftest import publish

API = "/status/api/v2"
JSON_PATHS = (
    "status.json",
    "summary.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)


def everything(client: TestClient) -> dict[str, str]:
    """Every public surface: the page, its stylesheet, each JSON document and the feed."""
    out = {"/status": client.get("/status").text, "/status/": client.get("/status/").text}
    for path in JSON_PATHS:
        r = client.get(f"{API}/{path}")
        assert r.status_code == 200, (path, r.text)
        out[path] = r.text
    out["history.atom"] = client.get("/status/history.atom").text
    return out


def statuses(client: TestClient) -> dict[str, str]:
    comps = client.get(f"{API}/components.json").json()["components"]
    return {c["name"]: c["status"] for c in comps}


def test_a_published_public_update_sets_components_incident_status_and_impact(
    client: TestClient, incident: dict[str, Any]
) -> None:
    before = client.get(f"{API}/summary.json").json()
    assert before["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert before["incidents"] == []
    assert set(statuses(client).values()) == {"operational"}

    publish(
        client,
        incident["id"],
        components={"Checkout": "partial_outage", "payments": "degraded_performance"},
    )
    summary = client.get(f"{API}/summary.json").json()
    by_name = {c["name"]: c for c in summary["components"]}
    assert by_name["Checkout"]["status"] == "partial_outage"
    assert by_name["Payments"]["status"] == "degraded_performance"
    assert by_name["Website"]["status"] == "operational"
    # A group shows its worst component; its members name it.
    group = by_name["Checkout and orders"]
    assert group["group"] is True and group["status"] == "partial_outage"
    assert (
        by_name["Checkout"]["group_id"] == group["id"]
        and by_name["Checkout"]["id"] in (group["components"])
    )
    [inc] = summary["incidents"]
    assert inc["status"] == "investigating"
    assert inc["impact"] == "major"  # from the worst status set: a partial outage
    assert summary["status"]["indicator"] == "major"
    [upd] = inc["incident_updates"]
    assert upd["status"] == "investigating" and upd["display_at"]
    changed = {a["name"]: (a["old_status"], a["new_status"]) for a in upd["affected_components"]}
    assert changed == {
        "Checkout": ("operational", "partial_outage"),
        "Payments": ("operational", "degraded_performance"),
    }
    assert {c["name"] for c in inc["components"]} == {"Checkout", "Payments"}
    status = client.get(f"{API}/status.json").json()
    assert status["status"] == summary["status"] and status["page"]["id"]

    # An explicit impact wins; the HTML says it in words.
    move(client, incident["id"], "mitigating", 40)
    publish(client, incident["id"], components={"Checkout": "major_outage"}, impact="critical")
    summary = client.get(f"{API}/summary.json").json()
    [inc] = summary["incidents"]
    assert inc["impact"] == "critical" and inc["status"] == "identified"
    assert [u["status"] for u in inc["incident_updates"]] == ["identified", "investigating"]
    assert summary["status"] == {"indicator": "critical", "description": "Major System Outage"}
    page = client.get("/status").text
    assert "Major System Outage" in page and "Major outage" in page


def test_a_resolved_update_returns_the_incidents_components_to_operational(
    client: TestClient, incident: dict[str, Any]
) -> None:
    publish(client, incident["id"], components={"Checkout": "major_outage"})
    assert statuses(client)["Checkout"] == "major_outage"
    move(client, incident["id"], "resolved", 50)
    publish(client, incident["id"])
    assert set(statuses(client).values()) == {"operational"}
    assert client.get(f"{API}/incidents/unresolved.json").json()["incidents"] == []
    [inc] = client.get(f"{API}/incidents.json").json()["incidents"]
    assert inc["status"] == "resolved" and inc["resolved_at"] is not None
    assert client.get(f"{API}/status.json").json()["status"]["indicator"] == "none"
    assert "Past incidents" in client.get("/status").text


def test_drafts_internal_and_executive_updates_notes_names_and_labels_never_reach_the_page(
    client: TestClient, incident: dict[str, Any]
) -> None:
    published = publish(client, incident["id"], components={"Checkout": "major_outage"})
    internal = publish(client, incident["id"], "internal")
    executive = publish(client, incident["id"], "executive")
    move(client, incident["id"], "mitigating", 40)
    unpublished = draft(client, incident["id"], "public")
    surfaces = everything(client)

    # What was published is there (the leak test below would pass on an empty page otherwise).
    first_line = published["body"].split("\n")[0]
    assert first_line and all(
        first_line in surfaces[k] for k in ("/status", "summary.json", "history.atom")
    )
    forbidden = [
        "Priya",
        "Raman",
        "Tomasz",
        "Wolny",
        "Dana Okafor",  # people
        "checkout-api",
        "payments-gateway",
        "orders-db",  # service labels
        "prod-eu-1",
        "10.20.3.4",
        "PgBouncer",
        "argocd",
        "JIRA-881",
        "£12k",  # timeline notes and internal impact
        INCIDENT["title"],
        "SEV2",
    ]
    forbidden += [e["text"] for e in EVENTS]
    # Lines only the internal/executive updates and the unpublished draft carry.
    for other in (internal, executive, unpublished):
        own = [
            line
            for line in other["body"].split("\n")
            if len(line) > 20 and line not in published["body"]
        ]
        assert own, other["audience"]
        forbidden += own
    for name, text in surfaces.items():
        for needle in forbidden:
            assert needle not in text, f"{needle!r} reached {name}"


def test_bad_page_fields_are_refused_and_publish_nothing(
    client: TestClient, incident: dict[str, Any]
) -> None:
    d = draft(client, incident["id"], "public")
    url = f"/v1/incidents/{incident['id']}/status-updates/{d['id']}/publish"
    r = client.post(url, json={"components": {"Teleporter": "major_outage"}})
    assert r.status_code == 422 and "Teleporter" in r.json()["detail"]
    assert "Checkout" in r.json()["detail"]  # says what is known
    r = client.post(url, json={"components": {"Checkout": "on_fire"}})
    assert r.status_code == 422
    r = client.post(url, json={"impact": "apocalyptic"})
    assert r.status_code == 422
    assert client.get(f"{API}/incidents.json").json()["incidents"] == []
    again = client.get(f"/v1/incidents/{incident['id']}/status-updates/{d['id']}").json()
    assert again["state"] == "draft"

    internal = draft(client, incident["id"], "internal")
    r = client.post(
        f"/v1/incidents/{incident['id']}/status-updates/{internal['id']}/publish",
        json={"components": {"Checkout": "major_outage"}},
    )
    assert r.status_code == 422 and "never reaches" in r.json()["detail"]
    assert set(statuses(client).values()) == {"operational"}
    # A planted secret in an edited body is blocked at publish, as for any public update.
    r = client.post(
        url,
        json={
            "body": "Checkout is failing. Token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB.",
            "components": {"Checkout": "major_outage"},
        },
    )
    assert r.status_code == 422
    assert set(statuses(client).values()) == {"operational"}
    assert client.get(f"{API}/incidents.json?page=0").status_code == 422


def test_the_page_is_strict_and_needs_no_key_when_keys_exist(
    settings: Settings, store: IncidentStore
) -> None:
    keys = KeyStore(settings.security_path)
    try:
        key = keys.create("responder", ["read", "respond"])[1]
    finally:
        keys.close()
    app = create_app(settings, incident_store=store, load_knowledge=False)
    with TestClient(app) as client:
        page = client.get("/status")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert "<script" not in page.text and " style=" not in page.text
        assert page.headers["cache-control"].startswith("public, max-age=")
        assert '<meta name="viewport"' in page.text and '<html lang="en">' in page.text
        css = client.get("/status/status.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        for path in JSON_PATHS:
            r = client.get(f"{API}/{path}")
            assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
        assert client.get("/status/history.atom").status_code == 200
        # /v1 still needs the key, the maintenance API included; the page takes no writes.
        assert client.get("/v1/incidents").status_code == 401
        assert client.get("/v1/status-page/maintenances").status_code == 401
        headers = {"Authorization": f"Bearer {key}"}
        assert client.get("/v1/status-page/maintenances", headers=headers).status_code == 200
        assert client.post("/status", json={}).status_code == 405
        assert client.post(f"{API}/summary.json", json={}).status_code == 405


def test_markup_in_component_names_is_escaped_everywhere(
    settings: Settings, store: IncidentStore, tmp_path: Any, clock: Clock
) -> None:
    evil = "Cart <script>alert(1)</script> & <b>co</b>"
    components = tmp_path / "components.yaml"
    components.write_text(
        "page:\n  name: 'Larkfield <i>status</i>'\n"
        f"groups:\n  - name: Shopping\n    components:\n      - name: {json.dumps(evil)}\n"
        "        id: cart\n      - name: Checkout\n",
        encoding="utf-8",
    )
    settings = settings.model_copy(update={"status_components": components})
    app = create_app(settings, incident_store=store, load_knowledge=False)
    with TestClient(app) as client:
        r = client.post("/v1/incidents", json=INCIDENT)
        assert r.status_code == 201, r.text
        publish(client, r.json()["id"], components={"cart": "major_outage"})
        surfaces = everything(client)
        html = surfaces["/status"]
        assert "<script>" not in html and "<b>co</b>" not in html and "<i>status" not in html
        assert "Cart &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;" in html
        names = {c["id"]: c["name"] for c in json.loads(surfaces["components.json"])["components"]}
        assert names["cart"] == evil  # JSON carries it as data, exactly
        feed = ET.fromstring(surfaces["history.atom"])
        ns = {"a": "http://www.w3.org/2005/Atom"}
        assert feed.findtext("a:title", namespaces=ns) == "Larkfield <i>status</i>: status history"
        assert "<i>" not in surfaces["history.atom"]


def test_the_feed_is_valid_atom_with_one_entry_per_published_update(
    client: TestClient, incident: dict[str, Any]
) -> None:
    a = publish(client, incident["id"], components={"Checkout": "major_outage"})
    publish(client, incident["id"], "internal")
    move(client, incident["id"], "resolved", 50)
    b = publish(client, incident["id"])
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.fromstring(client.get("/status/history.atom").text)
    entries = feed.findall("a:entry", ns)
    assert len(entries) == 2
    titles = [e.findtext("a:title", namespaces=ns) or "" for e in entries]
    assert titles[0].endswith("Resolved") and titles[1].endswith("Investigating")
    assert b["title"] in titles[0] and a["title"] in titles[1]
    assert all(e.findtext("a:id", namespaces=ns) for e in entries)


@pytest.mark.parametrize("bad", ["../etc", "0", "-1", "99999999999"])
def test_unknown_maintenance_ids_are_404(client: TestClient, bad: str) -> None:
    assert client.get(f"/v1/status-page/maintenances/{bad}").status_code == 404


def test_a_broken_components_file_does_not_stop_publishing_updates_that_set_none(
    settings: Settings, store: IncidentStore, tmp_path: Any
) -> None:
    broken = tmp_path / "components.yaml"
    broken.write_text("groups: [{name: Shopping, components: []}]\n", encoding="utf-8")
    settings = settings.model_copy(update={"status_components": broken})
    app = create_app(settings, incident_store=store, load_knowledge=False)
    with TestClient(app) as client:
        r = client.post("/v1/incidents", json=INCIDENT)
        incident_id = r.json()["id"]
        assert publish(client, incident_id, "internal")["state"] == "published"
        assert publish(client, incident_id)["state"] == "published"
        d = draft(client, incident_id, "public")
        r = client.post(
            f"/v1/incidents/{incident_id}/status-updates/{d['id']}/publish",
            json={"components": {"Checkout": "major_outage"}},
        )
        # The operator's file is wrong, not the request: said plainly, nothing published.
        assert r.status_code == 503 and "components" in r.json()["detail"]
        assert "Traceback" not in r.text
        again = client.get(f"/v1/incidents/{incident_id}/status-updates/{d['id']}").json()
        assert again["state"] == "draft"


def test_a_long_history_is_paged_50_incidents_at_a_time(
    client: TestClient, store: IncidentStore, clock: Clock
) -> None:
    from copilot.status.models import StatusDraft

    numbers = []
    for n in range(51):
        r = client.post("/v1/incidents", json={**INCIDENT, "title": f"Outage {n}"})
        assert r.status_code == 201, r.text
        numbers.append(int(r.json()["id"].removeprefix("INC-")))
    # Published public updates written straight to the table (drafting 51 would take long).
    with store.write() as session:
        for number in numbers:
            session.add(
                StatusDraft(
                    incident_number=number,
                    audience="public",
                    phase="investigating",
                    incident_status="mobilized",
                    title=f"Disruption {number}",
                    body="We are investigating.",
                    provider="template",
                    guardrails={"checks": []},
                    context={"status_page": {"components": {}, "impact": None}},
                    created_at=clock(),
                    published_at=clock(),
                    published_title=f"Disruption {number}",
                    published_body="We are investigating.",
                )
            )
    first = client.get(f"{API}/incidents.json").json()["incidents"]
    second = client.get(f"{API}/incidents.json?page=2").json()["incidents"]
    third = client.get(f"{API}/incidents.json?page=3").json()["incidents"]
    assert len(first) == 50 and len(second) == 1 and third == []
    ids = [i["id"] for i in first + second]
    assert len(set(ids)) == 51
    # Newest first.
    assert ids[0] == f"INC-{numbers[-1]}" and ids[-1] == f"INC-{numbers[0]}"
    # The page lists them all as active, and stays a page.
    assert client.get("/status").text.count('class="incident impact-') == 51


def test_only_reads_of_the_status_page_are_public() -> None:
    from copilot.security.auth import is_public_read

    for path in ("/status", "/status/", "/status/api/v2/summary.json", "/status/history.atom"):
        assert is_public_read("GET", path) and is_public_read("head", path)
        assert not is_public_read("POST", path) and not is_public_read("DELETE", path)
    for path in ("/statusx", "/v1/status-page/maintenances", "/v1/incidents", "/"):
        assert not is_public_read("GET", path)


def test_a_publisher_may_set_the_public_incident_status(
    client: TestClient, incident: dict[str, Any]
) -> None:
    incident_id = incident["id"]
    # Still mobilized inside, but the cause is known to customers: identified.
    publish(client, incident_id, components={"Checkout": "major_outage"}, status="identified")
    [inc] = client.get(f"{API}/incidents/unresolved.json").json()["incidents"]
    assert inc["status"] == "identified"
    assert [u["status"] for u in inc["incident_updates"]] == ["identified"]
    move(client, incident_id, "mitigating", 40)
    publish(client, incident_id, status="monitoring")
    [inc] = client.get(f"{API}/incidents/unresolved.json").json()["incidents"]
    assert inc["status"] == "monitoring" and inc["monitoring_at"] is not None
    # Without one, the status follows the incident's phase again.
    publish(client, incident_id)
    [inc] = client.get(f"{API}/incidents.json").json()["incidents"]
    assert [u["status"] for u in inc["incident_updates"]] == [
        "identified",
        "monitoring",
        "identified",
    ]
    # Resolved for customers: its components are operational again; the incident is untouched.
    publish(client, incident_id, status="resolved")
    assert client.get(f"{API}/incidents/unresolved.json").json()["incidents"] == []
    assert set(statuses(client).values()) == {"operational"}
    [inc] = client.get(f"{API}/incidents.json").json()["incidents"]
    assert inc["status"] == "resolved" and inc["resolved_at"] is not None
    assert client.get(f"/v1/incidents/{incident_id}").json()["status"] == "mitigating"
    assert "Resolved" in client.get("/status/history.atom").text


@pytest.mark.parametrize("bad", ["postmortem", "fixed", "", 3, None])
def test_an_unknown_public_status_is_refused_and_publishes_nothing(
    client: TestClient, incident: dict[str, Any], bad: Any
) -> None:
    d = draft(client, incident["id"], "public")
    url = f"/v1/incidents/{incident['id']}/status-updates/{d['id']}/publish"
    if bad is None:
        # An internal update never reaches the page: it cannot set its status either.
        d = draft(client, incident["id"], "internal")
        url = f"/v1/incidents/{incident['id']}/status-updates/{d['id']}/publish"
        r = client.post(url, json={"status": "resolved"})
        assert r.status_code == 422 and "never reaches" in r.json()["detail"]
    else:
        r = client.post(url, json={"status": bad})
        assert r.status_code == 422, r.text
    assert client.get(f"{API}/incidents.json").json()["incidents"] == []
    assert (
        client.get(f"/v1/incidents/{incident['id']}/status-updates/{d['id']}").json()["state"]
        == "draft"
    )
