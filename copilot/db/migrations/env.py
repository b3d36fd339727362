"""Alembic environment: run on a connection handed over by `copilot.db.schema`.

There is no alembic.ini: the configuration is built in code from the package path, so the
migrations ship inside the wheel and run wherever the package is installed. Revisions write
their DDL by hand (no autogenerate), so no model metadata is needed here; tests compare each
package's models with the migrated schema.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run the migrations through copilot.db.migrate(), which supplies a connection; "
        "there is no alembic.ini"
    )

context.configure(
    connection=connection,
    target_metadata=None,
    # SQLite cannot ALTER most things in place; batch mode copies the table when it must.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
