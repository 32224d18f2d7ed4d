"""The generic tables (SQLModel), owned by the store.

Every row that holds tenant data carries an indexed ``tenant`` column so that
PostgreSQL row-level security can be added without reshaping tables.

These classes describe the *current* schema; the migrations in
``penguinctl/store/migrations/versions/`` create it and are the source of truth
for the database. ``tests/store/test_store_migrations.py`` fails when the two
disagree. Other areas define their tables in ``penguinctl/<area>/tables.py``
the same way (see :mod:`penguinctl.store.migrations`).
"""

# No ``from __future__ import annotations``: SQLModel reads the annotations at
# class creation time.
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from penguinctl.store.types import JSONData, UTCDateTime

RUN_STATUSES = ("running", "ok", "failed", "interrupted")
RESOURCE_STATUSES = ("ok", "pending", "tainted")
CHANGE_ACTIONS = ("create", "update", "replace", "delete", "import", "forget")
CHANGE_STATUSES = ("pending", "applied", "failed", "settled", "skipped")


def _ts(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable))


def _json(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(JSONData, nullable=nullable))


def table(model: type[SQLModel]) -> sa.Table:
    """The Core table of a model (for INSERT … ON CONFLICT and bulk statements)."""
    found: sa.Table = getattr(model, "__table__")  # noqa: B009 - not declared for type checkers
    return found


class RunTable(SQLModel, table=True):
    """One CLI invocation that may write (apply, import, state commands)."""

    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    command: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)
    user: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    workspace: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    profile: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    summary: dict[str, Any] = _json()


class ResourceTable(SQLModel, table=True):
    """What was applied: one row per resource key."""

    __tablename__ = "resources"

    key: str = Field(sa_column=sa.Column(sa.String(500), primary_key=True))
    tenant: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, index=True))
    kind: str = Field(sa_column=sa.Column(sa.String(100), nullable=False, index=True))
    provider: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    instance: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    vendor_id: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    attrs: dict[str, Any] = _json()
    outputs: dict[str, Any] = _json()
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    updated_at: datetime = _ts()
    run_id: int | None = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("runs.id", ondelete="SET NULL"))
    )


class ChangeTable(SQLModel, table=True):
    """The journal: an intent written before each provider call, then its result."""

    __tablename__ = "changes"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("runs.id"), nullable=False, index=True)
    )
    tenant: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, index=True))
    key: str = Field(sa_column=sa.Column(sa.String(500), nullable=False, index=True))
    action: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False, index=True))
    before: dict[str, Any] | None = _json(nullable=True)
    after: dict[str, Any] | None = _json(nullable=True)
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)


class SecretTable(SQLModel, table=True):
    """Secrets penguinctl generated, encrypted; ``owner`` is a resource key."""

    __tablename__ = "secrets"
    __table_args__ = (sa.UniqueConstraint("tenant", "owner", "name", name="uq_secrets_owner"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, index=True))
    owner: str = Field(sa_column=sa.Column(sa.String(500), nullable=False, index=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    ciphertext: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    key_id: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    created_at: datetime = _ts()


class TenantTable(SQLModel, table=True):
    __tablename__ = "tenants"

    name: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    display_name: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(500), nullable=True)
    )
    data: dict[str, Any] = _json()
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class WorkspaceLockTable(SQLModel, table=True):
    """At most one row (id = 1): who holds the workspace lock, for how long."""

    __tablename__ = "workspace_lock"
    __table_args__ = (sa.CheckConstraint("id = 1", name="ck_workspace_lock_single"),)

    id: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    owner: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    pid: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    host: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    command: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    acquired_at: datetime = _ts()
    # Lets the holder release only its own row, even after a break and re-take.
    token: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))


class MetaTable(SQLModel, table=True):
    """Key/value facts about the store itself (which penguinctl last migrated it)."""

    __tablename__ = "meta"

    key: str = Field(sa_column=sa.Column(sa.String(100), primary_key=True))
    value: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
