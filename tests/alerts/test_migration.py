"""Migration 0006: the alert tables match the models, and come and go with the revision."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import copilot.alerts.models  # noqa: F401 - registers the alert tables on Base
from copilot.db import downgrade, make_engine, migrate
from copilot.incidents.models import Base

ALERT_TABLES = {"alerts", "alert_groups", "alert_notifications"}


def _names(diff: object) -> str:
    return repr(diff)


def test_alert_tables_match_the_models_and_downgrade_cleanly(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= ALERT_TABLES
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        mine = [d for d in diff if any(f"'{t}'" in _names(d) for t in ALERT_TABLES)]
        assert mine == []
        downgrade(engine, "0005")
        assert not ALERT_TABLES & set(inspect(engine).get_table_names())
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= ALERT_TABLES
    finally:
        engine.dispose()


def test_0010_adds_the_reopen_and_policy_columns_and_drops_them_cleanly(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        columns = {c["name"] for c in inspect(engine).get_columns("alert_groups")}
        assert {"reopen_number", "policy"} <= columns
        downgrade(engine, "0009")
        columns = {c["name"] for c in inspect(engine).get_columns("alert_groups")}
        assert not {"reopen_number", "policy"} & columns
        assert "alert_groups" in inspect(engine).get_table_names()
        migrate(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diff if "'alert_groups'" in _names(d)] == []
    finally:
        engine.dispose()
