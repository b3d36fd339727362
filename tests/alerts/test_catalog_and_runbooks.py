"""Alerts whose services the catalog links join one group; runbooks found four ways."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from copilot.alerts import intake, service
from copilot.alerts import models as am
from copilot.alerts.rules import RuleSet
from copilot.alerts.runbooks import RunbookFinder
from copilot.alerts.schemas import AlertmanagerPayload
from copilot.catalog import service as catalog_service
from copilot.incidents.db import IncidentStore
from copilot.knowledge.store import KnowledgeBase
from tests.alerts.conftest import alert, payload

CATALOG = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout-api
spec:
  type: service
  lifecycle: production
  owner: payments
  dependsOn: [resource:default/orders-db]
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: orders-db
spec:
  type: database
  owner: payments
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: courier-app
spec:
  type: service
  lifecycle: production
  owner: logistics
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: payments
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: logistics
spec:
  type: team
  children: []
"""


def send(store: IncidentStore, rules: RuleSet, *alerts: dict[str, object]) -> None:
    notification = intake.normalise(
        AlertmanagerPayload.model_validate(payload(*alerts)), source="alertmanager"
    )
    service.apply(
        store=store, rules=rules, notification=notification, catalog=service.catalog_for(store)
    )


def test_services_linked_in_the_catalog_join_one_group(
    store: IncidentStore, rules: RuleSet, tmp_path: Path
) -> None:
    (tmp_path / "catalog-info.yaml").write_text(CATALOG, encoding="utf-8")
    report = catalog_service.import_paths(db=store.db, paths=[tmp_path / "catalog-info.yaml"])
    assert report.clean, (report.failed, report.problems, report.unresolved)
    send(store, rules, alert("OrdersDbPoolSaturated", service="orders-db", starts=0))
    send(store, rules, alert("HighErrorRate", service="checkout-api", starts=2))
    send(store, rules, alert("CourierRoutePlanJobFailed", service="courier-app", starts=3))
    with store.read() as session:
        rows = {r.alertname: r for r in session.scalars(select(am.Alert))}
    assert rows["HighErrorRate"].group_id == rows["OrdersDbPoolSaturated"].group_id
    assert rows["HighErrorRate"].group_reason == (
        "checkout-api is linked to orders-db in the service catalog (within 10 min)"
    )
    assert rows["CourierRoutePlanJobFailed"].group_id != rows["OrdersDbPoolSaturated"].group_id


def test_without_a_catalog_unlinked_services_stay_apart(
    store: IncidentStore, rules: RuleSet
) -> None:
    send(store, rules, alert("OrdersDbPoolSaturated", service="orders-db", starts=0))
    send(store, rules, alert("HighErrorRate", service="checkout-api", starts=2))
    with store.read() as session:
        groups = set(session.scalars(select(am.Alert.group_id)))
    assert len(groups) == 2


def test_runbooks_by_alert_name_url_and_search(sample_kb: KnowledgeBase) -> None:
    finder = RunbookFinder(sample_kb)
    by_name = finder.find("OrdersDbPoolSaturated", {})
    assert by_name is not None and by_name.found_by == "alert_name"
    assert by_name.chunk.source == "runbooks/orders-db-connection-pool-exhausted.md"
    by_url = finder.find(
        "SomethingCustom",
        {"runbook_url": "https://wiki.example.test/runbooks/redis-carts-memory-pressure"},
    )
    assert by_url is not None and by_url.found_by == "runbook_url"
    assert by_url.chunk.source == "runbooks/redis-carts-memory-pressure.md"
    searched = finder.find(
        "CertWarning",
        {"summary": "The TLS certificate for the storefront expires in 3 days"},
    )
    assert searched is not None and searched.found_by == "search"
    assert searched.chunk.source == "runbooks/tls-certificate-expiring.md"
    assert 0 < searched.score <= 1
    assert finder.find("Unrelated", {"summary": "zebra quokka narwhal"}) is None
