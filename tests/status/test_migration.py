"""Migration 0003: the drafts table comes with the upgrade and goes with the downgrade."""

from __future__ import annotations

from sqlalchemy import inspect

from copilot.incidents.db import (
    IncidentStore,
    current_revision,
    downgrade,
    head_revision,
    migrate,
)
from copilot.settings import Settings


def test_upgrade_and_downgrade(settings: Settings) -> None:
    with IncidentStore(settings.sqlalchemy_url) as store:
        assert current_revision(store.engine) == head_revision()
        columns = {c["name"] for c in inspect(store.engine).get_columns("status_drafts")}
        assert {
            "incident_number",
            "audience",
            "phase",
            "body",
            "published_at",
            "event_id",
        } <= columns
        downgrade(store.engine, "0002")
        assert "status_drafts" not in inspect(store.engine).get_table_names()
        migrate(store.engine)
        assert "status_drafts" in inspect(store.engine).get_table_names()
        assert current_revision(store.engine) == head_revision()
