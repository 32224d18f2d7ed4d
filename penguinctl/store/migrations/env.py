"""Alembic environment: runs on the connection penguinctl hands over.

penguinctl builds the Alembic config in code and passes an open connection
(already inside the transaction that holds the migration lock) as
``config.attributes["connection"]``; see :mod:`penguinctl.store.migrate`.
"""

from __future__ import annotations

from alembic import context

from penguinctl.store.migrations import load_metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through penguinctl (penguinctl state migrate), not the alembic command"
    )

context.configure(
    connection=connection,
    target_metadata=load_metadata(),
    render_as_batch=True,  # ALTERs that SQLite cannot do in place become table copies
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
