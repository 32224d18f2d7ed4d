"""What a classified message does to the store, once, in one transaction.

This is the adapter between the classifier and the campaign area's tables
(``suppressions``, ``campaign_events``, ``mailbox_pauses``, ``campaign_sends``): it
writes them directly, in the same transaction as the ``inbound_messages`` row
that makes the message "read", so a crash never leaves half an effect and a
re-run never doubles one (the row's unique key refuses a second classification).

Effects:

* hard bounce → the recipient suppressed for the tenant, a ``bounce`` event
  (the scheduler's ``bounce`` stop condition and the reports read it);
* soft bounce → a ``soft_bounce`` event; after :data:`SOFT_THRESHOLD` soft bounces
  of one address (transient or mailbox full) it is suppressed like a hard bounce;
  a ``policy`` bounce (refused for who *we* are) never suppresses the recipient,
  but :data:`POLICY_PAUSE` distinct recipients refusing one mailbox within
  :data:`POLICY_WINDOW` pause that mailbox;
* complaint → suppressed, a ``complaint`` event (the campaign's complaint rate);
* reply → a ``reply`` event for the contact and campaign (stops the sequence);
* auto-reply → an ``auto_reply`` event with the return date, if any;
* unsubscribe → suppressed, an ``unsubscribe`` event;
* unclassified → only the audit row.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.tables import (
    ContactTable,
    EventTable,
    MailboxPauseTable,
    SendTable,
    SuppressionTable,
)
from penguinctl.inbound.event import Event
from penguinctl.inbound.tables import InboundMessageTable
from penguinctl.store.types import utcnow

SOFT_THRESHOLD = 3
POLICY_PAUSE = 5
POLICY_WINDOW = timedelta(hours=24)
# The runner's Message-IDs: pc.<campaign>.<contact>.<step>.<digest>@<domain>.
_OURS = re.compile(r"^pc\.(\d+)\.(\d+)\.(\d+)\.[0-9a-f]+@")


def apply(
    store: Any, *, tenant: str, mailbox: str, folder: str, key: str, event: Event
) -> str | None:
    """Record ``event`` read from ``mailbox`` and apply its effect; returns the effect,
    or None when this message (``key``) was already classified."""
    return apply_many(store, [(tenant, mailbox, folder, key, event)])[0]


def apply_many(store: Any, items: list[tuple[str, str, str, str, Event]]) -> list[str | None]:
    """:func:`apply` for several ``(tenant, mailbox, folder, key, event)`` in ONE commit
    (a commit costs milliseconds; a sync reads thousands of messages). Each message
    runs in its own savepoint, so one lost race undoes only that message."""
    inbound = db.t(InboundMessageTable)
    now = utcnow()
    results: list[str | None] = []
    # On SQLite the write transaction holds the database's write lock: the keys
    # read here cannot be taken by a concurrent sync before we commit. PostgreSQL
    # has no such lock, so each message gets a savepoint to undo a lost race.
    guard = store.dialect == "postgresql"
    with db.writing(store) as conn:
        known: set[tuple[str, str]] = set()
        for tenant in {item[0] for item in items}:
            keys = [item[3][:500] for item in items if item[0] == tenant]
            known |= {
                (tenant, k)
                for k in conn.execute(
                    sa.select(inbound.c.message_key).where(
                        inbound.c.tenant == tenant, inbound.c.message_key.in_(keys)
                    )
                ).scalars()
            }
        for tenant, mailbox, folder, key, event in items:
            if (tenant, key[:500]) in known:
                results.append(None)
                continue
            known.add((tenant, key[:500]))  # the same message twice in one batch
            savepoint = conn.begin_nested() if guard else None
            target = _target(conn, tenant, event)
            effect = _effect(conn, store, tenant, mailbox, event, target, now)
            row = conn.execute(
                _statement(store, "inbound"),
                {
                    "tenant": tenant,
                    "mailbox": mailbox,
                    "folder": folder,
                    "message_key": key[:500],
                    "kind": event.kind,
                    "reason": event.reason[:2000],
                    "recipient": event.recipient,
                    "campaign_id": target.get("campaign_id"),
                    "contact_id": target.get("contact_id"),
                    "effect": effect,
                    "detail": event.as_dict(),
                    "created_at": now,
                },
            ).first()
            if row is None:
                # A concurrent sync took it first: undo our effect, keep the batch.
                if savepoint is not None:
                    savepoint.rollback()
                results.append(None)
                continue
            if savepoint is not None:
                savepoint.commit()
            results.append(effect)
    return results


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(store: Any, name: str) -> Any:
    """Statements built once (per dialect) with bound parameters: building one per
    message made SQLAlchemy derive a fresh cache key each time, most of a sync's CPU."""
    dialect = store.dialect if store is not None else ""
    key = (dialect, name)
    found = _STATEMENTS.get(key)
    if found is not None:
        return found
    sends, contacts = db.t(SendTable), db.t(ContactTable)
    inbound = db.t(InboundMessageTable)
    if name == "inbound":
        found = (
            db.insert(store, inbound)
            .on_conflict_do_nothing(index_elements=["tenant", "message_key"])
            .returning(inbound.c.id)
        )
    elif name == "suppress":
        found = db.insert(store, db.t(SuppressionTable)).on_conflict_do_nothing(
            index_elements=["tenant", "email"]
        )
    elif name == "event":
        found = sa.insert(db.t(EventTable))
    elif name == "send_by_mid":
        found = sa.select(
            sends.c.campaign_id, sends.c.contact_id, sends.c.step, sends.c.mailbox
        ).where(sends.c.tenant == sa.bindparam("tenant"), sends.c.message_id == sa.bindparam("mid"))
    elif name == "contact_by_email":
        found = sa.select(contacts.c.id).where(
            contacts.c.tenant == sa.bindparam("tenant"), contacts.c.email == sa.bindparam("email")
        )
    elif name == "last_send":
        found = (
            sa.select(sends.c.campaign_id, sends.c.step, sends.c.mailbox)
            .where(sends.c.contact_id == sa.bindparam("contact"))
            .order_by(sends.c.claimed_at.desc())
            .limit(1)
        )
    else:
        raise KeyError(name)
    _STATEMENTS[key] = found
    return found


def _target(conn: sa.Connection, tenant: str, event: Event) -> dict[str, Any]:
    """The send (campaign, contact, step, mailbox) the event is about, when we find it:
    by our Message-ID in the ledger first, else the contact by address."""
    if event.original_message_id:
        row = conn.execute(
            _statement(None, "send_by_mid"), {"tenant": tenant, "mid": event.original_message_id}
        ).first()
        if row is not None:
            return dict(row._mapping)
        found = _OURS.match(event.original_message_id)
        if found:
            campaign, contact, step = (int(g) for g in found.groups())
            return {"campaign_id": campaign, "contact_id": contact, "step": step}
    if event.recipient:
        contact_id = conn.execute(
            _statement(None, "contact_by_email"),
            {"tenant": tenant, "email": event.recipient.lower()},
        ).scalar_one_or_none()
        if contact_id is not None:
            last = conn.execute(_statement(None, "last_send"), {"contact": contact_id}).first()
            return {"contact_id": contact_id, **(dict(last._mapping) if last else {})}
    return {}


def _effect(
    conn: sa.Connection,
    store: Any,
    tenant: str,
    mailbox: str,
    event: Event,
    target: dict[str, Any],
    now: Any,
) -> str:
    kind = event.kind
    if kind == "unclassified":
        return "none"
    # The sending mailbox: the ledger's when we matched the send, else the one read.
    detail = {**event.as_dict(), "mailbox": target.get("mailbox") or mailbox}
    event_kind = {"hard_bounce": "bounce"}.get(kind, kind)
    _event(conn, tenant, event_kind, target, event, detail, now)
    who = event.recipient
    if kind in ("hard_bounce", "complaint", "unsubscribe") and who:
        _suppress(conn, store, tenant, who, f"{kind}: {event.reason}"[:200], now)
        return f"suppressed {who}"
    if kind == "soft_bounce" and who:
        if event.bounce_class == "policy":
            return _policy(conn, store, tenant, detail["mailbox"], now)
        soft = conn.execute(
            sa.select(sa.func.count())
            .select_from(db.t(EventTable))
            .where(
                db.t(EventTable).c.tenant == tenant,
                db.t(EventTable).c.kind == "soft_bounce",
                db.t(EventTable).c.message_id == who,
            )
        ).scalar_one()
        if soft >= SOFT_THRESHOLD:
            _suppress(conn, store, tenant, who, f"{soft} soft bounces", now)
            _event(conn, tenant, "bounce", target, event, {**detail, "soft": soft}, now)
            return f"suppressed {who} after {soft} soft bounces"
        return f"soft bounce {soft}/{SOFT_THRESHOLD}"
    if kind == "reply":
        return "sequence stopped" if target.get("contact_id") else "reply from an unknown sender"
    if kind == "auto_reply":
        return f"paused until {event.pause_until}" if event.pause_until else "recorded"
    return "recorded"


def _event(
    conn: sa.Connection,
    tenant: str,
    kind: str,
    target: dict[str, Any],
    event: Event,
    detail: dict[str, Any],
    now: Any,
) -> None:
    # ``message_id`` of a soft bounce holds the bounced address, so the threshold
    # counts per address even for contacts we could not match.
    conn.execute(
        _statement(None, "event"),
        {
            "tenant": tenant,
            "kind": kind,
            "contact_id": target.get("contact_id"),
            "campaign_id": target.get("campaign_id"),
            "step": target.get("step"),
            "message_id": event.recipient if kind == "soft_bounce" else event.original_message_id,
            "detail": detail,
            "created_at": now,
        },
    )


def _suppress(
    conn: sa.Connection, store: Any, tenant: str, email: str, reason: str, now: Any
) -> None:
    conn.execute(
        _statement(store, "suppress"),
        {"tenant": tenant, "email": email.lower(), "reason": reason, "created_at": now},
    )


def _policy(conn: sa.Connection, store: Any, tenant: str, mailbox: str, now: Any) -> str:
    """Pause ``mailbox`` when enough distinct recipients refused it for policy lately."""
    events = db.t(EventTable)
    rows = conn.execute(
        sa.select(events.c.message_id, events.c.detail).where(
            events.c.tenant == tenant,
            events.c.kind == "soft_bounce",
            events.c.created_at >= now - POLICY_WINDOW,
        )
    ).all()
    refused = {
        r.message_id
        for r in rows
        if (r.detail or {}).get("bounce_class") == "policy"
        and (r.detail or {}).get("mailbox") == mailbox
    }
    if len(refused) >= POLICY_PAUSE:
        reason = f"{len(refused)} recipients refused it for policy within 24h"
        conn.execute(
            db.insert(store, db.t(MailboxPauseTable))
            .values(mailbox=mailbox, tenant=tenant, reason=reason, created_at=now)
            .on_conflict_do_nothing(index_elements=["mailbox"])
        )
        return f"mailbox {mailbox} paused: {reason}"
    return f"policy block {len(refused)}/{POLICY_PAUSE}"
