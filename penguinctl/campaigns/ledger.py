"""The send ledger: claim before DATA, mark after; ambiguity is kept for a human.

:func:`claim` is the at-most-once gate. In one write transaction it re-checks
everything that may have changed since the schedule was computed — the campaign
state, suppression (tenant and global), stop events, the mailbox pause — and then
inserts the ``(campaign, contact, step)`` row as ``sending`` (or moves a
``deferred`` row back to ``sending``). The unique constraint makes a concurrent
second claim fail, whichever process makes it. Only a claimed job is sent.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.tables import (
    GLOBAL,
    CampaignTable,
    ContactTable,
    EventTable,
    MailboxPauseTable,
    SendTable,
    SuppressionTable,
)
from penguinctl.store.types import utcnow

RUNNER = f"{socket.gethostname()}:{os.getpid()}"


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(store: Any, job: Any, *, message_id: str, variant: str, stop_on: list[str]) -> str | None:
    """Claim ``job``; returns None when claimed, else why it must not be sent."""
    sends, contacts = db.t(SendTable), db.t(ContactTable)
    now = utcnow()
    with db.writing(store) as conn:
        state = conn.execute(
            sa.select(db.t(CampaignTable).c.state).where(
                db.t(CampaignTable).c.id == job.campaign_id
            )
        ).scalar_one_or_none()
        if state != "active":
            return f"campaign {state}"
        email = conn.execute(
            sa.select(contacts.c.email).where(contacts.c.id == job.contact_id)
        ).scalar_one_or_none()
        if email is None:
            return "contact deleted"
        sup = db.t(SuppressionTable)
        if conn.execute(
            sa.select(sup.c.id).where(sup.c.email == email, sup.c.tenant.in_([job.tenant, GLOBAL]))
        ).first():
            return "suppressed"
        ev = db.t(EventTable)
        hit = conn.execute(
            sa.select(ev.c.kind).where(
                ev.c.tenant == job.tenant,
                ev.c.contact_id == job.contact_id,
                ev.c.kind.in_(stop_on),
                sa.or_(ev.c.campaign_id == job.campaign_id, ev.c.kind != "reply"),
            )
        ).first()
        if hit:
            return f"stopped: {hit[0]}"
        pause = db.t(MailboxPauseTable)
        reason = conn.execute(
            sa.select(pause.c.reason).where(pause.c.mailbox == job.mailbox)
        ).scalar_one_or_none()
        if reason is not None:
            return f"mailbox paused: {reason}"
        values = {"status": "sending", "runner": runner_id(), "claimed_at": now, "error": None}
        if job.retry:
            done = conn.execute(
                sa.update(sends)
                .where(
                    sends.c.campaign_id == job.campaign_id,
                    sends.c.contact_id == job.contact_id,
                    sends.c.step == job.step,
                    sends.c.status == "deferred",
                )
                .values(attempts=sends.c.attempts + 1, **values)
            )
            return None if done.rowcount == 1 else "already claimed"
        inserted = conn.execute(
            db.insert(store, sends)
            .values(
                tenant=job.tenant,
                campaign_id=job.campaign_id,
                contact_id=job.contact_id,
                step=job.step,
                variant=variant,
                mailbox=job.mailbox,
                message_id=message_id,
                attempts=1,
                **values,
            )
            .on_conflict_do_nothing(index_elements=["campaign_id", "contact_id", "step"])
        )
        return None if inserted.rowcount == 1 else "already claimed"


def mark(store: Any, job: Any, status: str, error: str | None = None) -> None:
    """Record the outcome of a claimed send (``sent``, ``deferred``, ``failed``, ``ambiguous``)."""
    sends = db.t(SendTable)
    values: dict[str, Any] = {"status": status, "error": error}
    if status == "sent":
        values["sent_at"] = utcnow()
    with db.writing(store) as conn:
        conn.execute(
            sa.update(sends)
            .where(
                sends.c.campaign_id == job.campaign_id,
                sends.c.contact_id == job.contact_id,
                sends.c.step == job.step,
                sends.c.status == "sending",
            )
            .values(values)
        )


def settle_dead(store: Any, campaign_id: int, is_alive: Any) -> int:
    """Turn ``sending`` rows of dead runners into ``ambiguous``; returns how many.

    ``is_alive(runner)`` says whether the runner (``host:pid``) may still be sending;
    a runner on another host is assumed alive (a human settles it).
    """
    sends = db.t(SendTable)
    with db.writing(store) as conn:
        rows = conn.execute(
            sa.select(sends.c.id, sends.c.runner).where(
                sends.c.campaign_id == campaign_id, sends.c.status == "sending"
            )
        ).all()
        dead = [r.id for r in rows if not is_alive(r.runner)]
        if dead:
            conn.execute(
                sa.update(sends)
                .where(sends.c.id.in_(dead), sends.c.status == "sending")
                .values(
                    status="ambiguous",
                    error="the runner died during the send: it may or may not have been "
                    "accepted; check the recipient's mailbox or the server log",
                )
            )
    return len(dead)


def local_runner_alive(runner: str) -> bool:
    host, _, pid = runner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pause_mailbox(store: Any, tenant: str, mailbox: str, reason: str) -> None:
    table = db.t(MailboxPauseTable)
    stmt = db.insert(store, table).values(
        mailbox=mailbox, tenant=tenant, reason=reason, created_at=utcnow()
    )
    with db.writing(store) as conn:
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["mailbox"]))


def resume_mailbox(store: Any, mailbox: str) -> bool:
    table = db.t(MailboxPauseTable)
    with db.writing(store) as conn:
        return conn.execute(sa.delete(table).where(table.c.mailbox == mailbox)).rowcount > 0


def record_event(
    store: Any,
    *,
    tenant: str,
    kind: str,
    contact_id: int | None,
    campaign_id: int | None = None,
    step: int | None = None,
    message_id: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """The inbound hook: a reply, bounce, complaint, auto-reply or unsubscribe happened."""
    with db.writing(store) as conn:
        conn.execute(
            sa.insert(db.t(EventTable)).values(
                tenant=tenant,
                kind=kind,
                contact_id=contact_id,
                campaign_id=campaign_id,
                step=step,
                message_id=message_id,
                detail=detail or {},
                created_at=at or utcnow(),
            )
        )
