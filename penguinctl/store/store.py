"""The store: what penguinctl applied, its journal, its generated secrets, its lock.

:func:`open_store` is the only way in. Every write method commits before it
returns — the engine relies on it: an intent is durable *before* the provider
call, a result the moment it is known. Each call uses its own session from a
thread-safe pool, so the worker threads of one apply may write concurrently.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from penguinctl.core.errors import StoreError
from penguinctl.core.resource import Recorded
from penguinctl.store import db, migrate
from penguinctl.store.crypto import SecretBox
from penguinctl.store.lock import WorkspaceLock, whoami
from penguinctl.store.rows import ChangeRow, RunRow, change_row, recorded_from, run_row
from penguinctl.store.secrets import SecretsMixin
from penguinctl.store.tables import (
    CHANGE_ACTIONS,
    CHANGE_STATUSES,
    RESOURCE_STATUSES,
    RUN_STATUSES,
    ChangeTable,
    ResourceTable,
    RunTable,
    TenantTable,
    table,
)
from penguinctl.store.types import utcnow


def open_store(
    url: str,
    *,
    secret_key: SecretBox | None = None,
    auto_migrate: bool = True,
    backup_dir: Path | None = None,
) -> Store:
    """Connect to the store at ``url`` and bring its schema up to date.

    Raises :class:`StoreError` when the database is unreachable, was written by
    a newer penguinctl, or is behind while ``auto_migrate`` is False.
    """
    parsed = db.normalize_url(url)
    shown = db.mask(parsed)
    engine = db.create_engine(parsed)
    try:
        db.check_reachable(engine, shown)
        applied, backup = migrate.ensure_current(
            engine, shown, auto_migrate=auto_migrate, backup_dir=backup_dir
        )
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise StoreError(
            f"cannot prepare the store at {shown}: {db.reason_of(exc, engine)}",
            hint="check that the database user may create tables in this database",
        ) from None
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, shown, secret_key, backup_dir, applied, backup)


class Store(SecretsMixin):
    """Access to one store; create it with :func:`open_store`, end it with :meth:`close`."""

    def __init__(
        self,
        engine: sa.Engine,
        url_display: str,
        secret_box: SecretBox | None,
        backup_dir: Path | None,
        migrated: list[str],
        backup_path: Path | None,
    ):
        self.url_display = url_display
        self.dialect: str = engine.dialect.name
        self.secret_box = secret_box
        self.migrated_at_open = migrated  # revisions open_store applied
        self.backup_path = backup_path  # the SQLite copy made before that
        self._engine = engine
        # Writes go through this view: on SQLite it makes transactions IMMEDIATE.
        self._write = engine.execution_options(**{db.WRITE: True})
        self._backup_dir = backup_dir
        self._lock = WorkspaceLock(engine, self._write)
        self._keys_checked = False

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with Session(self._write) as session:
            yield session
            session.commit()

    def _reading(self) -> Session:
        return Session(self._engine)

    # -- schema ---------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply missing revisions (backing up a SQLite file first); returns their ids."""
        applied, backup = migrate.upgrade(self._engine, backup_dir=self._backup_dir)
        self.backup_path = backup or self.backup_path
        return applied

    def current_revision(self) -> str | None:
        with self._engine.connect() as conn:
            return migrate.current_revision(conn)

    # -- resources ------------------------------------------------------------

    def recorded(
        self, tenant: str | None = None, *, kind: str | None = None
    ) -> dict[str, Recorded]:
        """Recorded resources by key, optionally of one tenant and/or one kind."""
        # Core rows, not ORM objects: a 40,000-resource plan reads them all, and ORM
        # identity-map bookkeeping tripled the time.
        t = table(ResourceTable)
        query = sa.select(t).order_by(t.c.key)
        if tenant is not None:
            query = query.where(t.c.tenant == tenant)
        if kind is not None:  # keys are "kind/name": a range scan on the primary key
            query = query.where(t.c.key >= kind + "/", t.c.key < kind + "0")
        with self._engine.connect() as conn:
            return {
                row.key: Recorded(
                    key=row.key,
                    provider=row.provider,
                    tenant=row.tenant,
                    id=row.vendor_id,
                    attrs=dict(row.attrs or {}),
                    outputs=dict(row.outputs or {}),
                    instance=row.instance,
                    status=row.status,
                )
                for row in conn.execute(query)
            }

    def get(self, key: str) -> Recorded | None:
        with self._reading() as session:
            row = session.get(ResourceTable, key)
            return None if row is None else recorded_from(row)

    def put(self, rec: Recorded, run_id: int | None = None) -> None:
        """Insert or replace the record of ``rec.key``."""
        with self._writing() as session:
            session.execute(self._upsert(table(ResourceTable), self._values(rec, run_id), ["key"]))

    def put_many(self, recs: Iterable[Recorded], run_id: int | None = None) -> int:
        """Insert or replace many records in one transaction (imports, benchmarks)."""
        rows = [self._values(rec, run_id) for rec in recs]
        with self._writing() as session:
            for start in range(0, len(rows), 500):
                for values in rows[start : start + 500]:
                    session.execute(self._upsert(table(ResourceTable), values, ["key"]))
        return len(rows)

    @staticmethod
    def _values(rec: Recorded, run_id: int | None) -> dict[str, Any]:
        _check(rec.status, RESOURCE_STATUSES, "resource status")
        return {
            "key": rec.key,
            "tenant": rec.tenant,
            "kind": rec.kind,
            "provider": rec.provider,
            "instance": rec.instance,
            "vendor_id": rec.id,
            "attrs": rec.attrs,
            "outputs": rec.outputs,
            "status": rec.status,
            "updated_at": utcnow(),
            "run_id": run_id,
        }

    def remove(self, key: str) -> None:
        with self._writing() as session:
            session.execute(sa.delete(ResourceTable).where(col(ResourceTable.key) == key))

    # -- runs and the journal -------------------------------------------------

    def begin_run(self, command: str, *, workspace: str, profile: str | None) -> int:
        run = RunTable(
            command=command[:200],
            started_at=utcnow(),
            user=whoami(),
            workspace=workspace,
            profile=profile,
            status="running",
            summary={},
        )
        with self._writing() as session:
            session.add(run)
            session.flush()
            assert run.id is not None
            return run.id

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        _check(status, RUN_STATUSES, "run status")
        values = {"status": status, "summary": summary, "finished_at": utcnow()}
        self._update(RunTable, run_id, values, "run")

    def intent(
        self,
        run_id: int,
        *,
        tenant: str,
        key: str,
        action: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> int:
        """Journal a change as pending; committed before the caller touches the vendor."""
        _check(action, CHANGE_ACTIONS, "change action")
        change = ChangeTable(
            run_id=run_id,
            tenant=tenant,
            key=key,
            action=action,
            status="pending",
            before=before,
            after=after,
            started_at=utcnow(),
        )
        with self._writing() as session:
            session.add(change)
            session.flush()
            assert change.id is not None
            return change.id

    def result(self, change_id: int, status: str, error: str | None = None) -> None:
        """Record how a journaled change ended; committed immediately."""
        _check(status, CHANGE_STATUSES, "change status")
        values = {"status": status, "error": error, "finished_at": utcnow()}
        self._update(ChangeTable, change_id, values, "change")

    def pending(self) -> list[ChangeRow]:
        """Changes whose outcome is unknown (a crash happened), oldest first."""
        return self._changes(ChangeTable.status == "pending")

    def changes(self, run_id: int) -> list[ChangeRow]:
        return self._changes(ChangeTable.run_id == run_id)

    def runs(self, limit: int = 20) -> list[RunRow]:
        query = select(RunTable).order_by(col(RunTable.id).desc()).limit(limit)
        with self._reading() as session:
            return [run_row(row) for row in session.exec(query)]

    def run(self, run_id: int) -> RunRow | None:
        with self._reading() as session:
            row = session.get(RunTable, run_id)
            return None if row is None else run_row(row)

    # -- tenants --------------------------------------------------------------

    def upsert_tenant(self, name: str, display_name: str | None, data: dict[str, Any]) -> None:
        now = utcnow()
        values = {
            "name": name,
            "display_name": display_name,
            "data": data,
            "created_at": now,
            "updated_at": now,
        }
        with self._writing() as session:
            upsert = self._upsert(table(TenantTable), values, ["name"], keep=("created_at",))
            session.execute(upsert)

    def tenants(self) -> list[dict[str, Any]]:
        query = select(TenantTable).order_by(col(TenantTable.name))
        with self._reading() as session:
            return [row.model_dump() for row in session.exec(query)]

    def delete_tenant(self, name: str) -> None:
        with self._writing() as session:
            session.execute(sa.delete(TenantTable).where(col(TenantTable.name) == name))

    # -- workspace lock -------------------------------------------------------

    @contextmanager
    def lock(self, command: str) -> Iterator[None]:
        """Hold the workspace lock; raises :class:`LockedError` naming the holder."""
        with self._lock.hold(command):
            yield

    def lock_info(self) -> dict[str, Any] | None:
        return self._lock.info()

    def break_lock(self) -> bool:
        return self._lock.break_()

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url_display!r}, pid={os.getpid()})"

    # -- helpers --------------------------------------------------------------

    def _upsert(
        self, table: Any, values: dict[str, Any], keys: list[str], keep: tuple[str, ...] = ()
    ) -> Any:
        """INSERT … ON CONFLICT DO UPDATE, in the dialect's own syntax."""
        from sqlalchemy.dialects import postgresql, sqlite

        insert: Any = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = insert(table).values(values)
        update = {c: stmt.excluded[c] for c in values if c not in keys and c not in keep}
        return stmt.on_conflict_do_update(index_elements=keys, set_=update)

    def _update(self, model: Any, row_id: int, values: dict[str, Any], what: str) -> None:
        with self._writing() as session:
            statement = sa.update(model).where(model.id == row_id).values(values)
            done = cast("sa.CursorResult[Any]", session.execute(statement))
            if done.rowcount != 1:
                raise StoreError(f"there is no {what} {row_id} in the store")

    def _changes(self, where: Any) -> list[ChangeRow]:
        query = select(ChangeTable).where(where).order_by(col(ChangeTable.id))
        with self._reading() as session:
            return [change_row(row) for row in session.exec(query)]


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:  # a programming error, not a user's
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
