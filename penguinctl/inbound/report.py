"""``inbox events``: what ``inbox sync`` read and did, newest first."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.tables import CampaignTable, EventTable, SendTable
from penguinctl.inbound.tables import InboundMessageTable


def events(
    store: Any, *, tenant: str | None = None, kind: str | None = None, limit: int = 100
) -> dict[str, Any]:
    table = db.t(InboundMessageTable)
    where = []
    if tenant is not None:
        where.append(table.c.tenant == tenant)
    counts_query = sa.select(table.c.kind, sa.func.count()).where(*where).group_by(table.c.kind)
    if kind is not None:
        where.append(table.c.kind == kind)
    query = sa.select(table).where(*where).order_by(table.c.id.desc()).limit(limit)
    with db.reading(store) as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
        counts = {k: n for k, n in conn.execute(counts_query)}
    for row in rows:
        row["created_at"] = row["created_at"].isoformat()
    return {"counts": counts, "events": rows, "complaint_rates": complaint_rates(store, tenant)}


def complaint_rates(store: Any, tenant: str | None = None) -> dict[str, dict[str, Any]]:
    """Per campaign: complaints (ARF reports) over messages sent — the figure mailbox
    providers judge a sender by (keep it well under 0.1%)."""
    campaigns, events, sends = db.t(CampaignTable), db.t(EventTable), db.t(SendTable)
    where = [] if tenant is None else [campaigns.c.tenant == tenant]
    with db.reading(store) as conn:
        names = dict(conn.execute(sa.select(campaigns.c.id, campaigns.c.name).where(*where)).all())
        complaints: dict[int, int] = dict(
            conn.execute(
                sa.select(events.c.campaign_id, sa.func.count())
                .where(events.c.kind == "complaint", events.c.campaign_id.in_(list(names)))
                .group_by(events.c.campaign_id)
            ).all()
        )
        sent: dict[int, int] = dict(
            conn.execute(
                sa.select(sends.c.campaign_id, sa.func.count())
                .where(sends.c.status == "sent", sends.c.campaign_id.in_(list(names)))
                .group_by(sends.c.campaign_id)
            ).all()
        )
    return {
        names[cid]: {
            "complaints": complaints.get(cid, 0),
            "sent": sent.get(cid, 0),
            "rate": complaints.get(cid, 0) / sent[cid] if sent.get(cid) else 0.0,
        }
        for cid in names
        if sent.get(cid) or complaints.get(cid)
    }
