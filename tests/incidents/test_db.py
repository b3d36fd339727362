"""The incident database: migrations, SQLite settings, concurrency, and the database's own rules.

Tests taking `database_url` or `store` run on SQLite and on PostgreSQL (see tests/conftest.py).
"""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, text
from sqlalchemy.exc import DatabaseError

import copilot
from copilot.errors import ConfigError
from copilot.incidents import schemas, service
from copilot.incidents.db import (
    IncidentStore,
    IncidentStoreUnavailable,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    migrate,
)
from copilot.settings import Settings
from tests.incidents.conftest import T0, Clock


@pytest.fixture
def store(database_url: str, clock: Clock) -> Iterator[IncidentStore]:
    with IncidentStore(database_url, clock=clock) as opened:
        yield opened


def test_a_fresh_data_dir_gets_a_migrated_wal_database(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "new" / "nested", _env_file=None)
    with IncidentStore.open(settings) as store:
        assert current_revision(store.engine) == head_revision()
    path = settings.data_dir / "incidents.sqlite"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"incidents", "incident_labels", "incident_roles", "timeline_events"} <= tables


def test_the_database_url_setting_is_used(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'team.db'}"
    settings = Settings(data_dir=tmp_path / "data", database_url=url, _env_file=None)
    with IncidentStore.open(settings) as store:
        service.declare(store=store, request=schemas.IncidentCreate(title="t", severity="SEV4"))
    assert (tmp_path / "elsewhere" / "team.db").exists()
    assert not (tmp_path / "data" / "incidents.sqlite").exists()


def test_a_bad_database_url_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="COPILOT_DATABASE_URL"):
        make_engine("not a url")
    with pytest.raises(ConfigError, match="cannot use the database"):
        make_engine("nosuchdialect://x/y")


def test_a_file_that_is_not_a_database_is_reported_plainly(tmp_path: Path) -> None:
    path = tmp_path / "incidents.sqlite"
    path.write_text("these are my notes, not a database")
    with pytest.raises(IncidentStoreUnavailable) as caught:
        IncidentStore(f"sqlite:///{path}")
    assert str(caught.value) == f"cannot open the database sqlite:///{path}: file is not a database"
    assert caught.value.status_code == 503


def _every_table() -> MetaData:
    """Every table any copilot module declares: each module is imported and every MetaData it
    holds (a Core `metadata` or a declarative Base's) is collected, so a package that adds tables
    without a migration, or a migration without the model, fails here."""
    found: dict[int, MetaData] = {}
    for info in pkgutil.walk_packages(copilot.__path__, "copilot."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            metadata = value if isinstance(value, MetaData) else getattr(value, "metadata", None)
            if isinstance(metadata, MetaData):
                found[id(metadata)] = metadata
    every = MetaData()
    # Copied after every import, so that tables registered late on a shared Base count too.
    for metadata in found.values():
        for table in metadata.tables.values():
            if table.name not in every.tables:
                table.to_metadata(every)
    return every


def test_models_match_the_migrations(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    every = _every_table()
    assert {"incidents", "catalog_entities", "alerts", "follow_ups", "api_keys"} <= set(
        every.tables
    )
    with engine.connect() as conn:
        virtual = _virtual_tables(conn)
        context = MigrationContext.configure(
            conn,
            opts={"include_name": lambda name, kind, _: kind != "table" or name not in virtual},
        )
        diff = compare_metadata(context, every)
    engine.dispose()
    assert diff == []


# The shadow tables SQLite's FTS5 keeps for each virtual table it creates.
_FTS5_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")


def _virtual_tables(conn: Connection) -> set[str]:
    """SQLite virtual tables (the FTS5 keyword index of migration 0009) and their shadow tables:
    SQLAlchemy cannot model them, so their DDL lives in the migration alone."""
    if conn.dialect.name != "sqlite":
        return set()
    names = conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
    ).scalars()
    return {f"{name}{suffix}" for name in names for suffix in ("", *_FTS5_SHADOWS)}


def test_upgrade_keeps_data_written_at_the_first_revision(database_url: str) -> None:
    url = database_url
    engine = make_engine(url)
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incidents (number, title, summary, severity, status, customer_impact,"
                " started_at, detected_at, declared_at, created_at, updated_at) VALUES (7,"
                " 'Old outage', 'from v1', 'SEV2', 'mitigating', 'carts lost', "
                " '2026-03-02 09:00:00', '2026-03-02 09:05:00', '2026-03-02 09:10:00',"
                " '2026-03-02 09:10:00', '2026-03-02 09:10:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO incident_services (incident_number, name) VALUES"
                " (7, 'checkout'), (7, 'payments')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO timeline_events (incident_number, kind, text, author, at,"
                " recorded_at, data) VALUES (7, 'declared', 'Declared SEV2', 'alice',"
                " '2026-03-02 09:10:00', '2026-03-02 09:10:00', '{\"severity\": \"SEV2\"}')"
            )
        )
        if conn.dialect.name == "postgresql":
            # An explicit id does not move a PostgreSQL serial (a data load does this too).
            conn.execute(text("SELECT setval(pg_get_serial_sequence('incidents', 'number'), 7)"))
    engine.dispose()

    with IncidentStore(url, clock=Clock(T0.replace(hour=12))) as store:
        assert current_revision(store.engine) == head_revision()
        incident = service.get_incident(store=store, incident_id="INC-7")
        assert incident.title == "Old outage"
        assert incident.services == ["checkout", "payments"]
        assert incident.tags == []
        assert incident.roles.incident_commander is None
        assert incident.started_at == T0
        events = service.list_events(store=store, incident_id="INC-7")
        assert [(e.kind, e.author) for e in events] == [("declared", "alice")]
        # The upgraded database takes the new features and keeps numbering after the old rows.
        patch = schemas.IncidentPatch(roles=schemas.RolesPatch(incident_commander="bob"))
        assert service.update_incident(store=store, incident_id="INC-7", patch=patch).roles
        new = service.declare(
            store=store, request=schemas.IncidentCreate(title="new", severity="SEV3", tags=["x"])
        )
        assert new.id == "INC-8"


def test_downgrade_to_the_first_revision_and_back(database_url: str) -> None:
    url = database_url
    with IncidentStore(url, clock=Clock(T0)) as store:
        service.declare(
            store=store,
            request=schemas.IncidentCreate(title="t", severity="SEV3", services=["search"]),
        )
        downgrade(store.engine, "0001")
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT incident_number, name FROM incident_services"))
            assert rows.all() == [(1, "search")]
        migrate(store.engine)
        assert service.get_incident(store=store, incident_id="INC-1").services == ["search"]


def test_the_timeline_is_append_only_in_the_database(store: IncidentStore) -> None:
    service.declare(store=store, request=schemas.IncidentCreate(title="t", severity="SEV3"))
    with store.engine.connect() as conn:
        for statement in ("UPDATE timeline_events SET text = 'x'", "DELETE FROM timeline_events"):
            with pytest.raises(DatabaseError, match="append-only"):
                conn.execute(text(statement))
            conn.rollback()
    assert service.list_events(store=store, incident_id="INC-1")[0].text.startswith("Declared")


def test_the_database_allows_one_open_commander(store: IncidentStore) -> None:
    service.declare(
        store=store,
        request=schemas.IncidentCreate(
            title="t", severity="SEV3", roles=schemas.RolesPatch(incident_commander="alice")
        ),
    )
    with store.engine.connect() as conn, pytest.raises(DatabaseError, match=r"(?i)unique"):
        conn.execute(
            text(
                "INSERT INTO incident_roles (incident_number, role, person, assigned_at)"
                " VALUES (1, 'incident_commander', 'mallory', '2026-03-02 09:30:00')"
            )
        )


def _run_threads(count: int, work: object) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        try:
            work(index)  # type: ignore[operator]
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_concurrent_appends_lose_nothing(database_url: str) -> None:
    url = database_url
    clock = Clock(T0)
    # Two stores (two engines, two connection pools), as a server and a CLI would be.
    stores = [IncidentStore(url, clock=clock), IncidentStore(url, clock=clock)]
    service.declare(store=stores[0], request=schemas.IncidentCreate(title="t", severity="SEV1"))
    per_thread = 25

    def work(index: int) -> None:
        store = stores[index % 2]
        for n in range(per_thread):
            event = schemas.EventCreate(kind="note", text=f"thread {index} note {n}")
            service.add_event(store=store, incident_id="INC-1", event=event)
            if n % 5 == 0:  # readers interleave with the writers
                service.get_incident(store=store, incident_id="INC-1")

    errors = _run_threads(8, work)
    assert errors == []
    notes = service.list_events(store=stores[1], incident_id="INC-1", kind="note")
    assert len(notes) == 8 * per_thread
    assert {e.text for e in notes} == {
        f"thread {i} note {n}" for i in range(8) for n in range(per_thread)
    }
    assert len({e.id for e in notes}) == len(notes)
    for store in stores:
        store.close()


def test_concurrent_declarations_get_distinct_ids(database_url: str) -> None:
    url = database_url
    stores = [IncidentStore(url, clock=Clock(T0)) for _ in range(2)]
    ids: list[str] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        for n in range(5):
            request = schemas.IncidentCreate(title=f"{index}-{n}", severity="SEV4")
            incident = service.declare(store=stores[index % 2], request=request)
            with lock:
                ids.append(incident.id)

    assert _run_threads(6, work) == []
    assert sorted(ids, key=lambda i: int(i[4:])) == [f"INC-{n}" for n in range(1, 31)]
    for store in stores:
        store.close()


def test_concurrent_transitions_apply_once(database_url: str) -> None:
    url = database_url
    stores = [IncidentStore(url, clock=Clock(T0)) for _ in range(2)]
    service.declare(store=stores[0], request=schemas.IncidentCreate(title="t", severity="SEV2"))
    outcomes: list[str] = []

    def work(index: int) -> None:
        patch = schemas.IncidentPatch(status="resolved")
        try:
            service.update_incident(store=stores[index % 2], incident_id="INC-1", patch=patch)
            outcomes.append("ok")
        except Exception as exc:  # a Conflict would be fine too; nothing else is
            outcomes.append(type(exc).__name__)

    assert _run_threads(6, work) == []
    assert set(outcomes) == {"ok"}  # the later ones find it resolved already: a no-op
    changes = service.list_events(store=stores[0], incident_id="INC-1", kind="status_change")
    assert len(changes) == 1
    for store in stores:
        store.close()
