"""Reading the store for the scheduler: campaigns, their audience, ledger and mailboxes."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.contacts import iter_contacts
from penguinctl.campaigns.schedule import ContactState, MailboxState, SendState, Snapshot
from penguinctl.campaigns.tables import (
    GLOBAL,
    CampaignTable,
    EventTable,
    MailboxPauseTable,
    SendTable,
    SuppressionTable,
)
from penguinctl.core.errors import PenguinError
from penguinctl.store.types import utcnow


def save_campaign(store: Any, name: str, spec: Any) -> int:
    """Record (or refresh) the campaign's spec; its state is kept. Returns its id."""
    table = db.t(CampaignTable)
    now = utcnow()
    data = spec.model_dump(mode="json", by_alias=True)
    stmt = db.insert(store, table).values(
        tenant=spec.tenant, name=name, state="active", spec=data, created_at=now, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant", "name"], set_={"spec": data, "updated_at": now}
    )
    with db.writing(store) as conn:
        conn.execute(stmt)
        found: int = conn.execute(
            sa.select(table.c.id).where(table.c.tenant == spec.tenant, table.c.name == name)
        ).scalar_one()
    return found


def find_campaign(store: Any, name: str) -> dict[str, Any]:
    """The recorded campaign ``name`` (id, tenant, state, spec as a model)."""
    from penguinctl.campaigns.spec import CampaignSpec

    table = db.t(CampaignTable)
    with db.reading(store) as conn:
        rows = conn.execute(sa.select(table).where(table.c.name == name)).all()
    if not rows:
        raise PenguinError(
            f"campaign {name!r} is not in the store",
            hint="`penguinctl campaign plan NAME -f SPECS` records it",
        )
    row = dict(rows[0]._mapping)
    row["model"] = CampaignSpec.model_validate(row["spec"])
    return row


def set_state(store: Any, campaign_id: int, state: str) -> None:
    table = db.t(CampaignTable)
    with db.writing(store) as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.id == campaign_id)
            .values(state=state, updated_at=utcnow())
        )


def audience(store: Any, spec: Any) -> list[dict[str, Any]]:
    """The contacts a campaign targets: its list (or every contact) filtered on fields."""
    where = spec.audience.where
    return [
        c
        for c in iter_contacts(store, spec.tenant, spec.audience.list)
        if all(str(c["fields"].get(k, "")) == v for k, v in where.items())
    ]


def mailbox_accounts(store: Any, tenant: str, senders: list[str]) -> dict[str, dict[str, Any]]:
    """Outputs of the ``mailu_mailbox/<address>`` resources of ``senders``."""
    found: dict[str, dict[str, Any]] = {}
    for address in senders:
        rec = store.get(f"mailu_mailbox/{address}")
        if rec is not None and rec.tenant == tenant:
            found[address] = dict(rec.outputs)
    return found


def load_snapshot(store: Any, campaign: dict[str, Any], now: datetime | None = None) -> Snapshot:
    now = now or utcnow()
    spec = campaign["model"]
    cid = campaign["id"]
    contacts = audience(store, spec)
    sends, events, sup = db.t(SendTable), db.t(EventTable), db.t(SuppressionTable)
    pauses = db.t(MailboxPauseTable)
    by_contact: dict[int, dict[int, SendState]] = defaultdict(dict)
    kinds: dict[int, set[str]] = defaultdict(set)
    recent: dict[str, list[datetime]] = defaultdict(list)
    with db.reading(store) as conn:
        for r in conn.execute(sa.select(sends).where(sends.c.campaign_id == cid)):
            at = r.sent_at or r.claimed_at
            by_contact[r.contact_id][r.step] = SendState(r.status, r.mailbox, at, r.attempts)
        for r in conn.execute(
            sa.select(events.c.contact_id, events.c.kind, events.c.campaign_id).where(
                events.c.tenant == spec.tenant
            )
        ):
            if r.contact_id is not None and (r.kind != "reply" or r.campaign_id == cid):
                kinds[r.contact_id].add(r.kind)
        suppressed = {
            row[0]
            for row in conn.execute(
                sa.select(sup.c.email).where(sup.c.tenant.in_([spec.tenant, GLOBAL]))
            )
        }
        paused = {
            r.mailbox: r.reason
            for r in conn.execute(sa.select(pauses).where(pauses.c.mailbox.in_(spec.senders)))
        }
        # Contacts away on an auto-reply with a return date (inbox sync records them).
        from penguinctl.inbound.pauses import away_until

        away = away_until(conn, spec.tenant)
        since = now - timedelta(hours=48)
        for r in conn.execute(
            sa.select(sends.c.mailbox, sends.c.claimed_at).where(
                sends.c.mailbox.in_(spec.senders), sends.c.claimed_at >= since
            )
        ):
            recent[r.mailbox].append(r.claimed_at)
    accounts = mailbox_accounts(store, spec.tenant, spec.senders)
    mailboxes = {
        address: MailboxState(
            address,
            str(out.get("smtp_host")),
            paused.get(address),
            tuple(recent.get(address, ())),
        )
        for address, out in accounts.items()
    }
    states = tuple(
        ContactState(
            c["id"],
            c["email"],
            c["fields"],
            by_contact.get(c["id"], {}),
            frozenset(kinds.get(c["id"], ())),
            c["email"] in suppressed,
            away.get(c["id"]),
        )
        for c in contacts
    )
    return Snapshot(
        campaign=campaign["name"],
        campaign_id=cid,
        tenant=spec.tenant,
        state=campaign["state"],
        spec=spec,
        contacts=states,
        mailboxes=mailboxes,
    )
