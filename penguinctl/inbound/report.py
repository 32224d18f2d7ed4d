"""``inbox events``: what ``inbox sync`` read and did, newest first."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from penguinctl.campaigns import db
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
        row.pop("detail", None) if not row["detail"] else None
    return {"counts": counts, "events": rows}
