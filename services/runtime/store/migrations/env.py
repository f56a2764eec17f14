"""Alembic environment: runs on the connection ``schema.migrate`` hands over.

There is no alembic.ini and no offline mode: migrations always run through
``services.runtime.store.migrate``, which holds the cross-process lock and the
transaction around them.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from services.runtime.store.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    msg = "run migrations with services.runtime.store.migrate(), not the alembic command"
    raise RuntimeError(msg)

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
