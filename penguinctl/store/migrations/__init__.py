"""Alembic migrations of the store: one linear history shared by every area.

The Alembic configuration is built in code (:func:`penguinctl.store.migrate.alembic_config`);
there is no ``alembic.ini``. Migrations run from :func:`penguinctl.store.open_store`
(automatically, after backing up a SQLite file) or ``penguinctl state migrate``.

How an area adds its tables
---------------------------

1. Declare the tables with SQLModel in ``penguinctl/<area>/tables.py`` (that exact
   module name: :func:`load_metadata` discovers it). Every row that holds tenant
   data carries ``tenant: str`` with ``index=True``. Use the column types of
   :mod:`penguinctl.store.types` (``UTCDateTime``, ``JSONData``, ``EncryptedText``).
2. Generate the revision against a scratch database at head::

       python -m penguinctl.store.migrations new "campaigns send ledger"

   This writes ``versions/NNNN_campaigns_send_ledger.py`` with the next number as
   revision id and the current head as ``down_revision``. Read and tidy it: a
   migration spells its types out and never imports the models (it must keep
   building the schema *of its time*). Use ``op.batch_alter_table`` to alter an
   existing table (SQLite cannot ALTER most things in place).
3. Run ``pytest tests/store``: it checks that there is exactly one head (two areas
   adding ``0002`` in parallel: renumber one and point its ``down_revision`` at the
   other) and that the migrated schema matches the models.

Revision ids are four-digit numbers in order of creation; never edit a revision
that has been released, add a new one.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path
from typing import Any

LOCATION = Path(__file__).resolve().parent
VERSIONS = LOCATION / "versions"


def load_metadata() -> Any:
    """Import every ``penguinctl.<area>.tables`` module and return the shared metadata."""
    from sqlmodel import SQLModel

    import penguinctl

    for info in pkgutil.iter_modules(penguinctl.__path__):
        name = f"penguinctl.{info.name}.tables"
        if info.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    return SQLModel.metadata
