"""Campaign data access on top of the store's engine: small helpers shared by the area.

Each write runs in its own committed transaction (on SQLite, ``BEGIN IMMEDIATE`` via
the store's write engine), so a claim in the send ledger is durable before the
SMTP conversation that depends on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from penguinctl.campaigns.tables import GLOBAL, SuppressionTable
from penguinctl.store.types import utcnow


def engines(store: Any) -> tuple[sa.Engine, sa.Engine]:
    """(read engine, write engine) of a :class:`~penguinctl.store.Store`."""
    # The store keeps both private; the campaign area needs Core access for bulk
    # statements (a million contacts) that the Store API does not offer.
    return store._engine, store._write


@contextmanager
def writing(store: Any) -> Iterator[sa.Connection]:
    with engines(store)[1].begin() as conn:
        yield conn


@contextmanager
def reading(store: Any) -> Iterator[sa.Connection]:
    with engines(store)[0].connect() as conn:
        yield conn


def insert(store: Any, table: sa.Table) -> Any:
    """The dialect's INSERT (with ``on_conflict_do_*``)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql.insert if store.dialect == "postgresql" else sqlite.insert)(table)


def t(model: Any) -> sa.Table:
    found: sa.Table = model.__table__
    return found


def suppress(store: Any, tenant: str, emails: list[str], reason: str) -> int:
    """Suppress ``emails`` for ``tenant`` (``*`` = every tenant); returns how many were new."""
    if not emails:
        return 0
    now = utcnow()
    table = t(SuppressionTable)
    stmt = (
        insert(store, table)
        .on_conflict_do_nothing(index_elements=["tenant", "email"])
        .returning(table.c.id)
    )
    added = 0
    with writing(store) as conn:
        for e in dict.fromkeys(emails):  # RETURNING per row: rowcount is -1 on psycopg
            row = {"tenant": tenant, "email": e, "reason": reason, "created_at": now}
            added += conn.execute(stmt, row).first() is not None
    return added


def unsuppress(store: Any, tenant: str, emails: list[str]) -> int:
    table = t(SuppressionTable)
    with writing(store) as conn:
        done = conn.execute(
            sa.delete(table).where(table.c.tenant == tenant, table.c.email.in_(emails))
        )
    return done.rowcount


def suppressed(conn: sa.Connection, tenant: str, emails: list[str] | None = None) -> set[str]:
    """Addresses suppressed for ``tenant`` or globally (all of them, or among ``emails``)."""
    table = t(SuppressionTable)
    query = sa.select(table.c.email).where(table.c.tenant.in_([tenant, GLOBAL]))
    if emails is not None:
        query = query.where(table.c.email.in_(emails))
    return {row[0] for row in conn.execute(query)}


def suppressions(store: Any, tenant: str | None) -> list[dict[str, Any]]:
    table = t(SuppressionTable)
    query = sa.select(table).order_by(table.c.tenant, table.c.email)
    if tenant is not None:
        query = query.where(table.c.tenant.in_([tenant, GLOBAL]))
    with reading(store) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
