"""Maintenance windows and component history on SQLite and PostgreSQL; the 0007 migration."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from copilot.api.app import create_app
from copilot.db import downgrade, make_engine, migrate
from copilot.errors import Conflict, GuardrailViolation, InvalidInput
from copilot.incidents.db import IncidentStore
from copilot.settings import Settings
from copilot.status.config import StatusConfig
from copilot.statuspage import config as page_config
from copilot.statuspage import schemas as s
from copilot.statuspage import service
from tests.incidents.conftest import T0, Clock
from tests.status.conftest import INCIDENT, move
from tests.statuspage.conftest import publish

CATALOG = StatusConfig.load().catalog
PAGE = page_config.load()


@pytest.fixture
def db_store(database_url: str, clock: Clock) -> Iterator[IncidentStore]:
    with IncidentStore(database_url, clock=clock) as opened:
        yield opened


def window(**extra: Any) -> s.MaintenanceCreate:
    fields: dict[str, Any] = {
        "name": "Payment provider upgrade",
        "body": "Card payments may be slower for a few minutes.",
        "scheduled_for": T0 + timedelta(hours=2),
        "scheduled_until": T0 + timedelta(hours=3),
        "components": ["Payments", "checkout"],
    }
    return s.MaintenanceCreate(**{**fields, **extra})


def test_a_maintenance_window_moves_on_and_marks_its_components(
    db_store: IncidentStore, clock: Clock
) -> None:
    # Moved by hand only (test_maintenance.py has the automatic moves).
    manual = window(scheduled_auto_in_progress=False, scheduled_auto_completed=False)
    made = service.create_maintenance(store=db_store, config=PAGE, catalog=CATALOG, request=manual)
    assert made.status == "scheduled" and made.components == ["payments", "checkout"]
    state = service.build_state(store=db_store, config=PAGE)
    assert state.components["payments"].status == "operational"
    assert [w.row.id for w in state.maintenances] == [made.id]

    clock.set(125)
    started = service.update_maintenance(
        store=db_store,
        config=PAGE,
        catalog=CATALOG,
        maintenance_id=made.id,
        request=s.MaintenanceUpdateRequest(status="in_progress"),
    )
    assert started.started_at == T0 + timedelta(minutes=125)
    assert [u.status for u in started.updates] == ["in_progress", "scheduled"]
    state = service.build_state(store=db_store, config=PAGE)
    assert state.components["payments"].status == "under_maintenance"
    assert state.components["website"].status == "operational"
    assert state.indicator == "maintenance" and state.description == "Service Under Maintenance"

    clock.set(170)
    done = service.update_maintenance(
        store=db_store,
        config=PAGE,
        catalog=CATALOG,
        maintenance_id=str(made.id),
        request=s.MaintenanceUpdateRequest(status="completed", body="All done."),
    )
    assert done.completed_at == T0 + timedelta(minutes=170) and done.updates[0].body == "All done."
    state = service.build_state(store=db_store, config=PAGE)
    assert state.components["payments"].status == "operational" and state.indicator == "none"
    # Maintenance is not downtime.
    assert state.components["payments"].uptime == 1.0
    with pytest.raises(Conflict, match="completed"):
        service.update_maintenance(
            store=db_store,
            config=PAGE,
            catalog=CATALOG,
            maintenance_id=made.id,
            request=s.MaintenanceUpdateRequest(status="verifying"),
        )
    listed = service.list_maintenances(store=db_store)
    assert [m.id for m in listed.maintenances] == [made.id]


def test_bad_maintenance_input_is_refused_and_writes_nothing(db_store: IncidentStore) -> None:
    with pytest.raises(InvalidInput, match="after"):
        service.create_maintenance(
            store=db_store,
            config=PAGE,
            catalog=CATALOG,
            request=window(scheduled_until=T0 + timedelta(hours=1)),
        )
    with pytest.raises(InvalidInput, match="Teleporter"):
        service.create_maintenance(
            store=db_store, config=PAGE, catalog=CATALOG, request=window(components=["Teleporter"])
        )
    with pytest.raises(InvalidInput, match="time zone"):
        service.create_maintenance(
            store=db_store,
            config=PAGE,
            catalog=CATALOG,
            request=window(scheduled_for=datetime(2026, 3, 2, 11), scheduled_until=T0),
        )
    # The text is public: an internal name is blocked like in a public update.
    with pytest.raises(GuardrailViolation, match="orders-db"):
        service.create_maintenance(
            store=db_store,
            config=PAGE,
            catalog=CATALOG,
            request=window(body="We are failing over orders-db to the standby."),
        )
    assert service.list_maintenances(store=db_store).maintenances == []


def test_uptime_is_the_share_of_time_outside_partial_and_major_outage(
    client: TestClient, incident: dict[str, Any], clock: Clock, store: IncidentStore
) -> None:
    # 10:00 major outage of Checkout, degraded Payments; resolved at 16:00 the same day.
    publish(
        client,
        incident["id"],
        components={"Checkout": "major_outage", "Payments": "degraded_performance"},
    )
    clock.set(7 * 60)  # 16:00
    move(client, incident["id"], "resolved", 7 * 60)
    publish(client, incident["id"])
    clock.set(9 * 60)  # 18:00: two hours after recovery
    state = service.build_state(store=store, config=PAGE)
    now = clock()
    checkout = state.components["checkout"]
    today = checkout.days[-1]
    assert len(checkout.days) == service.HISTORY_DAYS
    assert today.date == datetime(2026, 3, 2, tzinfo=UTC) and today.status == "major_outage"
    down = 6 * 3600
    elapsed_today = (now - today.date).total_seconds()
    assert today.down_seconds == down
    assert today.uptime == pytest.approx(1 - down / elapsed_today)
    window_seconds = (now - checkout.days[0].date).total_seconds()
    assert checkout.uptime == pytest.approx(1 - down / window_seconds)
    assert all(d.status == "operational" and d.uptime == 1 for d in checkout.days[:-1])
    # Degraded performance is shown but is not downtime.
    payments = state.components["payments"]
    assert payments.days[-1].status == "degraded_performance" and payments.uptime == 1.0
    assert state.components["website"].uptime == 1.0
    assert state.components["checkout-and-orders"].status == "operational"


def test_the_maintenance_api_over_http(client: TestClient, clock: Clock) -> None:
    base = "/v1/status-page/maintenances"
    body = {
        "name": "Search index rebuild",
        "body": "Product search may show older prices for up to an hour.",
        "scheduled_for": "2026-03-02T12:00:00Z",
        "scheduled_until": "2026-03-02T13:00:00Z",
        "components": ["Product search"],
    }
    r = client.post(base, json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    upcoming = client.get("/status/api/v2/scheduled-maintenances/upcoming.json").json()
    [m] = upcoming["scheduled_maintenances"]
    assert m["id"] == f"MNT-{made['id']}" and m["status"] == "scheduled"
    assert m["impact"] == "maintenance" and m["scheduled_for"] == "2026-03-02T12:00:00Z"
    assert m["components"][0]["name"] == "Product search"
    assert "Search index rebuild" in client.get("/status").text

    assert client.patch(f"{base}/{made['id']}", json={"status": "in_progress"}).status_code == 200
    active = client.get("/status/api/v2/scheduled-maintenances/active.json").json()
    assert [x["status"] for x in active["scheduled_maintenances"]] == ["in_progress"]
    summary = client.get("/status/api/v2/summary.json").json()
    assert summary["status"]["indicator"] == "maintenance"
    comps = {c["name"]: c["status"] for c in summary["components"]}
    assert comps["Product search"] == "under_maintenance"

    assert client.patch(f"{base}/{made['id']}", json={"status": "scheduled"}).status_code == 409
    assert client.patch(f"{base}/{made['id']}", json={"status": "paused"}).status_code == 422
    assert client.patch(f"{base}/{made['id']}", json={}).status_code == 422
    assert client.post(base, json={**body, "components": []}).status_code == 422
    assert client.post(base, json={**body, "extra": 1}).status_code == 422
    assert client.get(f"{base}/{made['id']}").json()["status"] == "in_progress"


def test_migration_0007_creates_and_drops_the_page_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0007")
        tables = set(inspect(engine).get_table_names())
        assert {"status_page_maintenances", "status_page_maintenance_updates"} <= tables
        downgrade(engine, "0006")
        tables = set(inspect(engine).get_table_names())
        assert not {"status_page_maintenances", "status_page_maintenance_updates"} & tables
        assert "status_drafts" in tables
    finally:
        engine.dispose()


def test_the_page_reads_in_a_bounded_number_of_queries(
    settings: Settings, store: IncidentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import event

    from copilot.statuspage import notify

    # The maintenance tick's own reads are not the page's: no tick while queries are counted.
    monkeypatch.setattr(notify, "TICK_S", 3600.0)
    seen: list[str] = []
    app = create_app(settings, incident_store=store, load_knowledge=False)
    with TestClient(app) as client:
        r = client.post("/v1/incidents", json=INCIDENT)
        incident_id = r.json()["id"]
        for minutes in (40, 45):
            move(client, incident_id, "mitigating" if minutes == 40 else "monitoring", minutes)
            publish(client, incident_id, components={"Checkout": "partial_outage"})
        engine = store.engine

        def record(*args: Any) -> None:
            if str(args[2]).lstrip().upper().startswith("SELECT"):
                seen.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", record)
        try:
            first = client.get("/status")
            built = list(seen)
            again = client.get("/status")
            summary = client.get("/status/api/v2/summary.json")
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert first.status_code == again.status_code == summary.status_code == 200
        assert again.text == first.text
    # The version of the sources (2 aggregates), then published updates and maintenance
    # windows (their updates only when there are windows); nothing else.
    assert len(built) <= 4, built
    # While nothing changed, a request reads only the version.
    assert len(seen) - len(built) == 4, seen[len(built) :]  # two requests


def test_the_cache_answers_with_the_last_page_while_a_new_one_is_built() -> None:
    import threading

    cache = service.PageCache()
    assert cache.get("v1", "html", lambda: "page 1") == "page 1"
    assert cache.get("v1", "html", lambda: "never built") == "page 1"
    started, release = threading.Event(), threading.Event()
    built: list[str] = []

    def slow() -> str:
        started.set()
        release.wait(10)
        return "page 2"

    builder = threading.Thread(target=lambda: built.append(cache.get("v2", "html", slow)))
    builder.start()
    assert started.wait(10)
    # Meanwhile the previous page answers; nothing else is built.
    assert cache.get("v2", "html", lambda: "a second build") == "page 1"
    release.set()
    builder.join(10)
    assert built == ["page 2"]
    assert cache.get("v2", "html", lambda: "never built") == "page 2"
    # With no previous page of that kind, a request waits for the build instead.
    assert cache.get("v3", "json", lambda: "json 3") == "json 3"
