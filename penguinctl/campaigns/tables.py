"""The campaign tables: contacts, lists, suppressions, campaigns, the send ledger, events.

The send ledger (``campaign_sends``) is what makes sending at-most-once: its unique
constraint on ``(campaign_id, contact_id, step)`` means a second claim of the same
send fails in the database, whatever process or worker tries it. A row is committed
as ``sending`` *before* SMTP DATA and becomes ``sent`` after; a row left ``sending``
by a dead runner is ``ambiguous`` and never re-sent automatically.

``campaign_events`` is the seam for the inbound issue: bounces, complaints, replies,
auto-replies and unsubscribes land there (one row per event) and the scheduler's
stop conditions and the reports read them.
"""

# No ``from __future__ import annotations``: SQLModel reads the annotations.
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from penguinctl.store.types import JSONData, UTCDateTime

GLOBAL = "*"  # the tenant of global suppressions
SEND_STATUSES = ("sending", "sent", "deferred", "failed", "ambiguous")
CAMPAIGN_STATES = ("active", "paused", "stopped")
EVENT_KINDS = ("reply", "bounce", "complaint", "unsubscribe", "auto_reply")


def _ts(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable))


def _str(length: int, *, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None, sa_column=sa.Column(sa.String(length), nullable=nullable, index=index)
    )


class ContactTable(SQLModel, table=True):
    """A person to mail: the normalised address is unique per tenant."""

    __tablename__ = "contacts"
    __table_args__ = (sa.UniqueConstraint("tenant", "email", name="uq_contacts_email"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = _str(200, index=True)
    email: str = _str(320)
    fields: dict[str, Any] = Field(default=None, sa_column=sa.Column(JSONData, nullable=False))
    legal_basis: str = _str(50)
    source: str = _str(500)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ContactListTable(SQLModel, table=True):
    __tablename__ = "contact_lists"
    __table_args__ = (sa.UniqueConstraint("tenant", "name", name="uq_contact_lists_name"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = _str(200, index=True)
    name: str = _str(200)


class ListMemberTable(SQLModel, table=True):
    __tablename__ = "contact_list_members"

    list_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True
        )
    )
    contact_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
        )
    )
    tenant: str = _str(200, index=True)


class SuppressionTable(SQLModel, table=True):
    """An address never to mail: per tenant, or for every tenant (``tenant = '*'``)."""

    __tablename__ = "suppressions"
    __table_args__ = (sa.UniqueConstraint("tenant", "email", name="uq_suppressions_email"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = _str(200, index=True)
    email: str = _str(320, index=True)
    reason: str = _str(200)
    created_at: datetime = _ts()


class CampaignTable(SQLModel, table=True):
    """A campaign as last planned or run: its spec snapshot and its state."""

    __tablename__ = "campaigns"
    __table_args__ = (sa.UniqueConstraint("tenant", "name", name="uq_campaigns_name"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = _str(200, index=True)
    name: str = _str(200)
    state: str = _str(20)
    spec: dict[str, Any] = Field(default=None, sa_column=sa.Column(JSONData, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class MailboxPauseTable(SQLModel, table=True):
    """A sender mailbox paused (e.g. its server refused a submission with a 5xx)."""

    __tablename__ = "mailbox_pauses"

    mailbox: str = Field(sa_column=sa.Column(sa.String(320), primary_key=True))
    tenant: str = _str(200, index=True)
    reason: str = Field(default=None, sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = _ts()


class SendTable(SQLModel, table=True):
    """The send ledger: one row per (campaign, contact, step), claimed before DATA."""

    __tablename__ = "campaign_sends"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "contact_id", "step", name="uq_campaign_sends_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = _str(200, index=True)
    campaign_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("campaigns.id"), nullable=False, index=True)
    )
    contact_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("contacts.id"), nullable=False, index=True)
    )
    step: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    variant: str = _str(50)
    mailbox: str = _str(320, index=True)
    message_id: str = _str(500)
    status: str = _str(20, index=True)
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    runner: str = _str(200)
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    claimed_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)


class EventTable(SQLModel, table=True):
    """Something that happened to a sent message or a contact (filled by inbound, unsubscribe)."""

    __tablename__ = "campaign_events"

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = _str(200, index=True)
    campaign_id: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, nullable=True, index=True)
    )
    contact_id: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, nullable=True, index=True)
    )
    step: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    kind: str = _str(20, index=True)
    message_id: str | None = _str(500, nullable=True)
    detail: dict[str, Any] = Field(default=None, sa_column=sa.Column(JSONData, nullable=False))
    created_at: datetime = _ts()
