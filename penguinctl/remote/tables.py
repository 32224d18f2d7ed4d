"""Pinned SSH host keys (trust on first use), one row per ``host:port``.

A host's key is recorded the first time penguinctl connects to it; every later
connection must present the same key, or it is refused with both fingerprints
(:class:`penguinctl.remote.errors.HostKeyChanged`). Host keys are infrastructure
facts, not tenant data: the same server may serve several tenants.
"""

# No ``from __future__ import annotations``: SQLModel reads the annotations.
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from penguinctl.store.types import UTCDateTime


def _col(type_: Any, *, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(type_, nullable=nullable))


class RemoteHostKeyTable(SQLModel, table=True):
    """The key a host presented first; ``fingerprint`` is ``SHA256:…`` as ssh-keygen prints it."""

    __tablename__ = "remote_host_keys"
    __table_args__ = (sa.UniqueConstraint("host", "port", name="uq_remote_host_keys_host"),)

    id: int | None = Field(default=None, primary_key=True)
    host: str = _col(sa.String(255))
    port: int = _col(sa.Integer())
    key_type: str = _col(sa.String(100))
    public_key: str = _col(sa.Text())  # base64 of the SSH wire blob
    fingerprint: str = _col(sa.String(100))
    first_seen: datetime = _col(UTCDateTime())
