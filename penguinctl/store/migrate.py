"""Schema revisions: read, compare with the code, upgrade (with a SQLite backup first).

The Alembic configuration is built here, in code; the migration scripts live in
:mod:`penguinctl.store.migrations`. An upgrade runs inside one transaction that
first takes a migration lock (``BEGIN IMMEDIATE`` on SQLite, a transaction-level
advisory lock on PostgreSQL), then re-reads the revision: two processes opening
an old store at once migrate it exactly once.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

import penguinctl
from penguinctl.core.errors import StoreError
from penguinctl.store import db
from penguinctl.store.migrations import LOCATION
from penguinctl.store.tables import MetaTable, table

log = logging.getLogger("penguinctl.store")

LOCK_CLASS = 0x50656E67  # "Peng": the first key of every penguinctl advisory lock
MIGRATION_LOCK = 2
_OWN_TABLES = ("runs", "resources", "changes")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(LOCATION))
    return cfg


@functools.cache
def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    heads = script().get_heads()
    if len(heads) != 1:  # a development mistake: two areas added the same step
        raise StoreError(f"the migrations have {len(heads)} heads: {', '.join(sorted(heads))}")
    return heads[0]


def current_revision(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def todo(current: str | None) -> list[str]:
    """Revisions to apply after ``current``, oldest first; refuses an unknown revision."""
    scripts = script()
    try:
        if current is not None:
            scripts.get_revision(current)
        revs = list(scripts.iterate_revisions(head(), current or "base"))
    except CommandError:
        raise StoreError(
            f"the store was written by a newer penguinctl (revision {current}); upgrade penguinctl",
            hint=f"this penguinctl {penguinctl.__version__} knows revisions up to {head()}",
        ) from None
    return [r.revision for r in reversed(revs)]


def ensure_current(
    engine: sa.Engine, shown_url: str, *, auto_migrate: bool, backup_dir: Path | None
) -> tuple[list[str], Path | None]:
    """Bring the schema to head (or refuse); returns (applied revisions, backup file)."""
    with engine.connect() as conn:
        current = current_revision(conn)
        if current is None:
            _refuse_foreign(conn, shown_url)
    missing = todo(current)
    if not missing:
        return [], None
    if not auto_migrate:
        raise StoreError(
            f"the store at {shown_url} is at schema revision {current or '(empty)'}, "
            f"this penguinctl needs {missing[-1]}",
            hint="run `penguinctl state migrate` (a SQLite file is backed up first)",
        )
    return upgrade(engine, backup_dir=backup_dir)


def upgrade(engine: sa.Engine, *, backup_dir: Path | None) -> tuple[list[str], Path | None]:
    """Apply every missing revision under the migration lock."""
    backup: Path | None = None
    with engine.connect().execution_options(**{db.WRITE: True}) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:a, :b)"),
                {"a": LOCK_CLASS, "b": MIGRATION_LOCK},
            )
        current = current_revision(conn)  # again: another process may have migrated
        missing = todo(current)
        if not missing:
            return [], None
        path = db.sqlite_path(engine.url)
        if current is not None and path is not None:
            backup = _backup_sqlite(path, backup_dir)
        log.info("migrating the store from %s to %s", current or "(empty)", missing[-1])
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        meta = table(MetaTable)
        facts = {"penguinctl_version": penguinctl.__version__, "schema_revision": missing[-1]}
        conn.execute(sa.delete(meta).where(meta.c.key.in_(facts)))
        conn.execute(sa.insert(meta), [{"key": k, "value": v} for k, v in facts.items()])
    return missing, backup


def _refuse_foreign(conn: sa.Connection, shown_url: str) -> None:
    """Tables of ours without a revision: not a penguinctl store (or a damaged one)."""
    present = set(sa.inspect(conn).get_table_names()) & set(_OWN_TABLES)
    if present:
        raise StoreError(
            f"the database at {shown_url} has tables ({', '.join(sorted(present))}) "
            "but no penguinctl schema revision",
            hint="point PENGUIN_DATABASE_URL at an empty database or at a penguinctl store",
        )


def _backup_sqlite(path: Path, backup_dir: Path | None) -> Path:
    """Copy the database with SQLite's backup API (consistent even with a WAL)."""
    folder = backup_dir or path.parent
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{path.name}.bak-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{path.name}.bak-{stamp}-{n}"
    src = sqlite3.connect(path)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    log.warning("backed up the store to %s before migrating it", target)
    return target
