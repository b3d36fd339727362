"""Alembic migrations of the incident store, applied on start (see `copilot.incidents.db`)."""
