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
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.tables import (
    GLOBAL,
    ContactTable,
    EventTable,
    MailboxPauseTable,
    SendTable,
)
from penguinctl.store.types import utcnow


def runner_id() -> str:
    # Read per call, not at import: a forked worker process has its own pid.
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(store: Any, job: Any, *, message_id: str, variant: str, stop_on: list[str]) -> str | None:
    """Claim ``job``; returns None when claimed, else why it must not be sent."""
    with db.writing(store) as conn:
        return claim_in(conn, store, job, message_id, variant, stop_on)


def claim_many(
    store: Any, items: list[tuple[Any, str, str]], stop_on: list[str]
) -> list[str | None]:
    """Claim several ``(job, message_id, variant)`` in one transaction (one commit)."""
    with db.writing(store) as conn:
        return [claim_in(conn, store, job, mid, variant, stop_on) for job, mid, variant in items]


def refusal(store: Any, job: Any, stop_on: list[str]) -> str | None:
    """Why a claimed job must not be sent after all (read just before sending), or None."""
    with db.reading(store) as conn:
        return _refusal(conn, job, stop_on)


@lru_cache(maxsize=32)
def _refusal_query(stop_on: tuple[str, ...]) -> sa.TextClause:
    # One round trip with a cached statement: this runs before every send.
    # stop_on holds validated event kinds (a Literal in the spec), safe to inline.
    kinds = ", ".join(f"'{kind}'" for kind in stop_on if kind.isalpha()) or "''"
    return sa.text(
        f"""
        SELECT
          (SELECT state FROM campaigns WHERE id = :campaign),
          (SELECT email FROM contacts WHERE id = :contact),
          EXISTS (SELECT 1 FROM suppressions s JOIN contacts c ON c.email = s.email
                  WHERE c.id = :contact AND s.tenant IN (:tenant, '{GLOBAL}')),
          (SELECT kind FROM campaign_events WHERE tenant = :tenant AND contact_id = :contact
             AND kind IN ({kinds}) AND (campaign_id = :campaign OR kind <> 'reply') LIMIT 1),
          (SELECT reason FROM mailbox_pauses WHERE mailbox = :mailbox)
        """
    )


def _refusal(conn: sa.Connection, job: Any, stop_on: list[str]) -> str | None:
    state, email, suppressed, stop, paused = conn.execute(
        _refusal_query(tuple(stop_on)),
        {
            "campaign": job.campaign_id,
            "contact": job.contact_id,
            "tenant": job.tenant,
            "mailbox": job.mailbox,
        },
    ).one()
    return refusal_reason(state, email, suppressed, stop, paused)


def refusal_reason(
    state: str | None, email: str | None, suppressed: bool, stop: str | None, paused: str | None
) -> str | None:
    """The first reason, in the gate's order, why a send is refused (None: it may go).

    The inputs are the gate's five reads: the campaign state, the contact's address
    (None: deleted), suppression, a stop event's kind, the mailbox pause reason. The
    workers' one-statement claim (``penguinctl.workers.claim``) reads the same five."""
    if state != "active":
        return f"campaign {state}"
    if email is None:
        return "contact deleted"
    if suppressed:
        return "suppressed"
    if stop is not None:
        return f"stopped: {stop}"
    if paused is not None:
        return f"mailbox paused: {paused}"
    return None


def claim_in(
    conn: sa.Connection, store: Any, job: Any, message_id: str, variant: str, stop_on: list[str]
) -> str | None:
    """:func:`claim` inside the caller's write transaction ``conn``."""
    sends = db.t(SendTable)
    now = utcnow()
    why = _refusal(conn, job, stop_on)
    if why is not None:
        return why
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
            .returning(sends.c.id)
        )
        return None if done.first() is not None else "already claimed"
    inserted = conn.execute(
        _claim_insert(store),
        {
            "tenant": job.tenant,
            "campaign_id": job.campaign_id,
            "contact_id": job.contact_id,
            "step": job.step,
            "variant": variant,
            "mailbox": job.mailbox,
            "message_id": message_id,
            "attempts": 1,
            **values,
        },
    )
    # RETURNING, not rowcount: psycopg reports -1 for this statement.
    return None if inserted.first() is not None else "already claimed"


_statements: dict[str, Any] = {}


def _claim_insert(store: Any) -> Any:
    # Built once per dialect: SQLAlchemy then reuses its compiled form for every claim.
    key = f"claim-{store.dialect}"
    if key not in _statements:
        table = db.t(SendTable)
        _statements[key] = (
            db.insert(store, table)
            .on_conflict_do_nothing(index_elements=["campaign_id", "contact_id", "step"])
            .returning(table.c.id)
        )
    return _statements[key]


def _outcome_statements() -> tuple[Any, Any]:
    if "mark" not in _statements:
        sends = db.t(SendTable)
        where = (
            sends.c.campaign_id == sa.bindparam("b_campaign"),
            sends.c.contact_id == sa.bindparam("b_contact"),
            sends.c.step == sa.bindparam("b_step"),
            sends.c.status == "sending",
        )
        _statements["mark"] = (
            sa.update(sends)
            .where(*where)
            .values(
                status=sa.bindparam("b_status"),
                error=sa.bindparam("b_error"),
                sent_at=sa.bindparam("b_sent_at"),
            )
        )
        _statements["release"] = sa.delete(sends).where(*where)
    return _statements["mark"], _statements["release"]


def mark(store: Any, job: Any, status: str, error: str | None = None) -> None:
    """Record the outcome of a claimed send (``sent``, ``deferred``, ``failed``, ``ambiguous``)."""
    mark_many(store, [(job, status, error)])


def mark_many(store: Any, outcomes: list[tuple[Any, str, str | None]]) -> None:
    """Record several outcomes in one transaction; ``released`` drops an unsent claim."""
    if not outcomes:
        return
    with db.writing(store) as conn:
        mark_in(conn, outcomes)


def mark_in(conn: sa.Connection, outcomes: list[tuple[Any, str, str | None]]) -> None:
    """:func:`mark_many` inside the caller's write transaction ``conn``."""
    mark_stmt, release_stmt = _outcome_statements()
    marks, releases = outcome_params(outcomes)
    if marks:
        conn.execute(mark_stmt, marks)
    if releases:
        conn.execute(release_stmt, releases)


def outcome_params(
    outcomes: list[tuple[Any, str, str | None]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(marks, releases): the parameters (``b_campaign``, ``b_contact``, ``b_step`` and
    for a mark ``b_status``, ``b_error``, ``b_sent_at``) of the outcomes' statements."""
    now = utcnow()
    marks, releases = [], []
    for job, status, error in outcomes:
        keys = {"b_campaign": job.campaign_id, "b_contact": job.contact_id, "b_step": job.step}
        if status == "released":  # certainly not sent, and must not be sent now
            releases.append(keys)
        else:
            sent_at = now if status == "sent" else None
            marks.append({**keys, "b_status": status, "b_error": error, "b_sent_at": sent_at})
    return marks, releases


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


def ambiguous_sends(store: Any, campaign_id: int) -> list[dict[str, Any]]:
    """The campaign's ``ambiguous`` sends, oldest claim first, with the contact's address."""
    sends, contacts = db.t(SendTable), db.t(ContactTable)
    query = (
        sa.select(
            sends.c.id,
            contacts.c.email.label("contact"),
            sends.c.step,
            sends.c.mailbox,
            sends.c.message_id,
            sends.c.claimed_at,
            sends.c.error,
        )
        .join(contacts, contacts.c.id == sends.c.contact_id, isouter=True)
        .where(sends.c.campaign_id == campaign_id, sends.c.status == "ambiguous")
        .order_by(sends.c.claimed_at, sends.c.id)
    )
    with db.reading(store) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def settle(
    store: Any, campaign_id: int, *, sent: list[int], not_sent: list[int], note: str
) -> None:
    """Record a human's decision on ambiguous sends, in one transaction.

    ``sent``: the message did go out — the row becomes ``sent`` (at its claim time,
    so the next step's delay counts from then) and is never due again. ``not_sent``:
    it did not — the row is deleted, so the scheduler finds the step due again and
    a new claim goes through the usual gate. Only rows still ``ambiguous`` in this
    campaign are touched: if any id is not, nothing changes (:class:`PenguinError`).
    """
    from penguinctl.core.errors import PenguinError

    both = sorted(set(sent) & set(not_sent))
    if both:
        raise PenguinError(
            f"send(s) {', '.join(map(str, both))} given as both sent and not sent",
            hint="decide each ambiguous send once",
        )
    wanted = set(sent) | set(not_sent)
    sends = db.t(SendTable)
    with db.writing(store) as conn:
        found = {
            row.id
            for row in conn.execute(
                sa.select(sends.c.id).where(
                    sends.c.campaign_id == campaign_id,
                    sends.c.status == "ambiguous",
                    sends.c.id.in_(wanted),
                )
            )
        }
        unknown = sorted(wanted - found)
        if unknown:
            raise PenguinError(
                f"send(s) {', '.join(map(str, unknown))} are not ambiguous sends of this campaign",
                hint="`penguinctl campaign settle NAME` lists the ones to decide",
            )
        if sent:
            conn.execute(
                sa.update(sends)
                .where(sends.c.id.in_(sent), sends.c.status == "ambiguous")
                .values(status="sent", sent_at=sends.c.claimed_at, error=note)
            )
        if not_sent:
            conn.execute(
                sa.delete(sends).where(sends.c.id.in_(not_sent), sends.c.status == "ambiguous")
            )
