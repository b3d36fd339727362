"""Migration 0005 creates the catalog tables and removes them again, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from copilot.catalog import lookup, service
from copilot.db import Database, downgrade, migrate
from tests.catalog.conftest import SAMPLE

TABLES = {"catalog_files", "catalog_entities", "catalog_relations", "catalog_aliases"}


def test_catalog_tables_come_and_go_with_revision_0005(database_url: str) -> None:
    with Database(database_url) as db:
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        assert service.import_paths(db=db, paths=[SAMPLE]).entities == 62
        downgrade(db.engine, "0004")
        assert not TABLES & set(inspect(db.engine).get_table_names())
        migrate(db.engine)
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        assert lookup.resolve(db, "checkout") is None  # a fresh, empty catalog
        assert service.import_paths(db=db, paths=[SAMPLE]).entities == 62
        assert lookup.resolve(db, "checkout") == "component:default/checkout-api"
