"""The inbound table: every message ``inbox sync`` has read, classified once.

``inbound_messages`` is the idempotency key of the sync (unique per tenant and
Message-ID, or a digest of the bytes when a message has none) and the audit trail
of what was read, where, what it was taken for and what was done about it. The
effects themselves land in the campaign area's tables (suppressions, events,
mailbox pauses), in the same transaction as this row.
"""

# No ``from __future__ import annotations``: SQLModel reads the annotations.
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from penguinctl.store.types import JSONData, UTCDateTime


class InboundMessageTable(SQLModel, table=True):
    __tablename__ = "inbound_messages"
    __table_args__ = (sa.UniqueConstraint("tenant", "message_key", name="uq_inbound_messages_key"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, index=True))
    mailbox: str = Field(sa_column=sa.Column(sa.String(320), nullable=False, index=True))
    folder: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    message_key: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(20), nullable=False, index=True))
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    recipient: str | None = Field(default=None, sa_column=sa.Column(sa.String(320)))
    campaign_id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, index=True))
    contact_id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    effect: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    detail: dict[str, Any] = Field(default=None, sa_column=sa.Column(JSONData, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
