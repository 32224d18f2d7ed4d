"""Contacts away on an auto-reply: the scheduler's input, read from ``campaign_events``.

``inbox sync`` records an out-of-office answer as an ``auto_reply`` event whose
detail holds ``pause_until``, the return date found in it (or null). The latest
auto-reply of a contact wins: a newer one without a date (or with an earlier date)
means the person's plans changed, so it replaces an older pause.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.tables import EventTable


def away_until(conn: sa.Connection, tenant: str) -> dict[int, date]:
    """Contact id → the return date of the contact's latest auto-reply, when it gave one."""
    events = db.t(EventTable)
    rows = conn.execute(
        sa.select(events.c.contact_id, events.c.detail)
        .where(
            events.c.tenant == tenant,
            events.c.kind == "auto_reply",
            events.c.contact_id.is_not(None),
        )
        .order_by(events.c.created_at, events.c.id)
    )
    latest: dict[int, Any] = {}
    for contact_id, detail in rows:
        latest[contact_id] = (detail or {}).get("pause_until")
    found: dict[int, date] = {}
    for contact_id, value in latest.items():
        try:
            found[contact_id] = date.fromisoformat(value)
        except (TypeError, ValueError):  # no date given (or not one): not paused
            continue
    return found
