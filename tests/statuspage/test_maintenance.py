"""Maintenance windows start and end by themselves, on SQLite and PostgreSQL, by an injected clock.

Reads apply the moves a window is due at once; `tick` records them (at the times they were due)
as the window's updates, once however many replicas tick; a window someone moved on is theirs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from copilot.db import downgrade, make_engine, migrate
from copilot.incidents.db import IncidentStore
from copilot.status.config import StatusConfig
from copilot.statuspage import config as page_config
from copilot.statuspage import maintenance, render, service
from copilot.statuspage import schemas as s
from tests.incidents.conftest import T0, Clock

CATALOG = StatusConfig.load().catalog
PAGE = page_config.load()
START, END = T0 + timedelta(hours=2), T0 + timedelta(hours=3)  # 11:00 to 12:00; clock at 10:00


@pytest.fixture
def db_store(database_url: str, clock: Clock) -> Iterator[IncidentStore]:
    with IncidentStore(database_url, clock=clock) as opened:
        yield opened


def create(store: IncidentStore, **extra: Any) -> s.MaintenanceOut:
    fields: dict[str, Any] = {
        "name": "Payment provider upgrade",
        "body": "Card payments may be slower for a few minutes.",
        "scheduled_for": START,
        "scheduled_until": END,
        "components": ["Payments"],
    }
    request = s.MaintenanceCreate(**{**fields, **extra})
    return maintenance.create_maintenance(
        store=store, config=PAGE, catalog=CATALOG, request=request
    )


def patch(store: IncidentStore, made: s.MaintenanceOut, **fields: Any) -> s.MaintenanceOut:
    return maintenance.update_maintenance(
        store=store,
        config=PAGE,
        catalog=CATALOG,
        maintenance_id=made.id,
        request=s.MaintenanceUpdateRequest(**fields),
    )


def get(store: IncidentStore, made: s.MaintenanceOut) -> s.MaintenanceOut:
    return maintenance.get_maintenance(store=store, maintenance_id=made.id)


def page(store: IncidentStore) -> dict[str, Any]:
    """What the public page says of Payments and the window (its history too)."""
    state = service.build_state(store=store, config=PAGE)
    payments = state.components["payments"]
    [window] = render.maintenances(state).scheduled_maintenances
    return {
        "payments": payments.status,
        "indicator": state.indicator,
        "days": [(d.status, d.uptime, d.down_seconds) for d in payments.days],
        "uptime": payments.uptime,
        "window": (window.status, window.started_at, window.resolved_at),
        "upcoming": len(render.maintenances(state, "upcoming").scheduled_maintenances),
        "active": len(render.maintenances(state, "active").scheduled_maintenances),
    }


def test_a_window_starts_and_ends_by_itself_and_the_tick_records_when(
    db_store: IncidentStore, clock: Clock
) -> None:
    made = create(db_store)
    assert made.scheduled_auto_in_progress and made.scheduled_auto_completed
    assert maintenance.tick(store=db_store) == []
    assert page(db_store)["payments"] == "operational" and page(db_store)["upcoming"] == 1

    # 11:05: started at 11:00, before any tick ran; the page and the API both say so.
    clock.set(125)
    before = page(db_store)
    assert before["payments"] == "under_maintenance" and before["indicator"] == "maintenance"
    assert before["window"] == ("in_progress", START, None) and before["active"] == 1
    assert before["days"][-1][0] == "under_maintenance" and before["uptime"] == 1.0
    shown = get(db_store, made)
    assert (shown.status, shown.started_at) == ("in_progress", START)
    assert [u.status for u in shown.updates] == ["scheduled"]  # not recorded yet

    [change] = maintenance.tick(store=db_store)
    assert (change.from_status, change.to_status, change.automatic, change.at) == (
        "scheduled",
        "in_progress",
        True,
        START,
    )
    recorded = get(db_store, made)
    newest = recorded.updates[0]
    assert (newest.status, newest.created_at) == ("in_progress", START)
    # Recording changes nothing the page shows: history is the same either way.
    assert page(db_store) == before
    assert maintenance.tick(store=db_store) == []  # idempotent

    # 12:20: ended at 12:00; maintenance is not downtime.
    clock.set(200)
    ended = page(db_store)
    assert ended["payments"] == "operational" and ended["indicator"] == "none"
    assert ended["window"] == ("completed", START, END) and ended["active"] == 0
    assert ended["days"][-1][0] == "under_maintenance" and ended["uptime"] == 1.0
    [change] = maintenance.tick(store=db_store)
    assert (change.to_status, change.at) == ("completed", END)
    assert page(db_store) == ended
    assert maintenance.tick(store=db_store) == []
    done = get(db_store, made)
    assert [u.status for u in done.updates] == ["completed", "in_progress", "scheduled"]
    assert (done.started_at, done.completed_at) == (START, END)


def test_a_window_someone_moved_on_is_theirs(db_store: IncidentStore, clock: Clock) -> None:
    early = create(db_store, name="Early start")
    verifying = create(db_store, name="Checked by hand")
    finished = create(db_store, name="Finished early")
    clock.set(100)  # 10:40, before the scheduled start
    patch(db_store, early, status="in_progress")
    clock.set(130)
    # An automatic start got there first: asking for in_progress again adds no message.
    again = patch(db_store, verifying, status="in_progress")
    assert [u.status for u in again.updates] == ["in_progress", "scheduled"]
    assert again.started_at == START
    patch(db_store, verifying, status="verifying", body="Checking card payments.")
    patch(db_store, finished, status="completed")
    clock.set(200)  # 12:20, past the scheduled end
    changes = maintenance.tick(store=db_store)
    # Started by hand, it still ends by itself; verifying and completed ones are left alone.
    assert [(c.maintenance_id, c.to_status) for c in changes] == [(early.id, "completed")]
    assert get(db_store, early).started_at == T0 + timedelta(minutes=100)
    assert get(db_store, early).completed_at == END
    assert get(db_store, verifying).status == "verifying"
    assert get(db_store, finished).completed_at == T0 + timedelta(minutes=130)
    state = service.build_state(store=db_store, config=PAGE)
    assert state.components["payments"].status == "under_maintenance"  # still verifying


def test_automatic_moves_can_be_turned_off_and_back_on(
    db_store: IncidentStore, clock: Clock
) -> None:
    made = create(db_store, scheduled_auto_in_progress=False, scheduled_auto_completed=False)
    clock.set(200)  # past both ends: nothing moves by itself
    assert maintenance.tick(store=db_store) == []
    assert get(db_store, made).status == "scheduled"
    assert page(db_store)["payments"] == "operational"
    started = patch(db_store, made, status="in_progress")
    assert started.started_at == T0 + timedelta(minutes=200)
    clock.set(210)
    assert maintenance.tick(store=db_store) == [] and get(db_store, made).status == "in_progress"
    # Turned back on after its end: it ends now, never back when the end was scheduled.
    clock.set(215)
    ended = patch(db_store, made, scheduled_auto_completed=True)
    assert ended.status == "completed" and ended.completed_at == T0 + timedelta(minutes=215)
    assert not ended.scheduled_auto_in_progress
    assert [u.status for u in ended.updates] == ["completed", "in_progress", "scheduled"]


def test_windows_left_to_start_by_hand_do_not_hold_up_the_tick(
    db_store: IncidentStore, clock: Clock
) -> None:
    # Ended long ago without anyone starting them: never due, never looked at again.
    for n in range(3):
        create(db_store, name=f"Never started {n}", scheduled_auto_in_progress=False)
    due = create(
        db_store,
        name="Due",
        scheduled_for=START + timedelta(hours=1),
        scheduled_until=END + timedelta(hours=1),
    )
    clock.set(300)
    changes = maintenance.tick(store=db_store, limit=2)
    assert [(c.maintenance_id, c.to_status) for c in changes] == [
        (due.id, "in_progress"),
        (due.id, "completed"),
    ]


def test_a_start_moved_into_the_past_starts_now(db_store: IncidentStore, clock: Clock) -> None:
    made = create(db_store)
    clock.set(90)  # 10:30
    moved = patch(db_store, made, scheduled_for=T0 + timedelta(minutes=30))
    assert moved.status == "in_progress" and moved.started_at == T0 + timedelta(minutes=90)
    # A window scheduled wholly in the past is over as soon as it is made.
    old = create(
        db_store,
        name="Backfilled",
        scheduled_for=T0 - timedelta(hours=3),
        scheduled_until=T0 - timedelta(hours=2),
    )
    now = T0 + timedelta(minutes=90)
    assert (old.status, old.started_at, old.completed_at) == ("completed", now, now)
    assert [u.status for u in old.updates] == ["completed", "in_progress", "scheduled"]
    assert maintenance.tick(store=db_store) == []


def test_replicas_ticking_together_record_each_move_once(database_url: str, clock: Clock) -> None:
    with IncidentStore(database_url, clock=clock) as first:
        made = [create(first, name=f"Window {n}") for n in range(3)]
    clock.set(200)
    stores = [IncidentStore(database_url, clock=clock) for _ in range(3)]
    barrier = threading.Barrier(len(stores))
    found: list[list[maintenance.Change]] = []
    errors: list[BaseException] = []

    def run(store: IncidentStore) -> None:
        try:
            barrier.wait(10)
            found.append(maintenance.tick(store=store))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(st,)) for st in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        moves = sorted((c.maintenance_id, c.to_status) for changes in found for c in changes)
        assert moves == sorted(
            (m.id, status) for m in made for status in ("in_progress", "completed")
        )
        for m in made:
            assert [u.status for u in get(stores[0], m).updates] == [
                "completed",
                "in_progress",
                "scheduled",
            ]
    finally:
        for st in stores:
            st.close()


def test_the_flags_over_http(client: TestClient, clock: Clock) -> None:
    base = "/v1/status-page/maintenances"
    body = {
        "name": "Search index rebuild",
        "body": "Product search may show older prices for up to an hour.",
        "scheduled_for": "2026-03-02T11:00:00Z",
        "scheduled_until": "2026-03-02T12:00:00Z",
        "components": ["Product search"],
    }
    assert (
        client.post(base, json={**body, "scheduled_auto_completed": "perhaps"}).status_code == 422
    )
    made = client.post(base, json={**body, "scheduled_auto_completed": False}).json()
    assert made["scheduled_auto_in_progress"] is True and made["scheduled_auto_completed"] is False
    clock.set(130)
    shown = client.get(f"{base}/{made['id']}").json()
    assert shown["status"] == "in_progress" and shown["started_at"] == "2026-03-02T11:00:00Z"
    [listed] = client.get(base).json()["maintenances"]
    assert listed["status"] == "in_progress"
    summary = client.get("/status/api/v2/summary.json").json()
    comps = {c["name"]: c["status"] for c in summary["components"]}
    assert comps["Product search"] == "under_maintenance"
    clock.set(300)
    still = client.get("/status/api/v2/scheduled-maintenances/active.json").json()
    assert [m["status"] for m in still["scheduled_maintenances"]] == ["in_progress"]
    r = client.patch(f"{base}/{made['id']}", json={"scheduled_auto_in_progress": None})
    assert r.status_code == 200  # null leaves it as it is
    assert (
        client.patch(f"{base}/{made['id']}", json={"scheduled_auto_completed": 1.5}).status_code
        == 422
    )
    r = client.patch(f"{base}/{made['id']}", json={"scheduled_auto_completed": True})
    assert r.status_code == 200 and r.json()["status"] == "completed"


def test_migration_0011_adds_and_drops_the_flags(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0010")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO status_page_maintenances (name, status, components, scheduled_for, "
                "scheduled_until, created_at, updated_at) VALUES ('Old', 'scheduled', '[]', "
                "'2026-03-02 11:00:00', '2026-03-02 12:00:00', '2026-03-02 09:00:00', "
                "'2026-03-02 09:00:00')"
            )
        migrate(engine, "0011")
        columns = {c["name"] for c in inspect(engine).get_columns("status_page_maintenances")}
        assert {"scheduled_auto_in_progress", "scheduled_auto_completed"} <= columns
        with engine.connect() as conn:
            flags = conn.exec_driver_sql(
                "SELECT scheduled_auto_in_progress, scheduled_auto_completed "
                "FROM status_page_maintenances"
            ).one()
        assert tuple(bool(f) for f in flags) == (True, True)  # windows already scheduled too
        downgrade(engine, "0010")
        columns = {c["name"] for c in inspect(engine).get_columns("status_page_maintenances")}
        assert not {"scheduled_auto_in_progress", "scheduled_auto_completed"} & columns
    finally:
        engine.dispose()
