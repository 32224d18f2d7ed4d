"""Campaign status and reports: ledger outcomes and inbound outcomes per step, variant, mailbox.

The outcome columns (bounced, replied, complained, unsubscribed) count events of
``campaign_events`` for contacts this campaign sent to; the inbound issue fills
that table, one-click unsubscribe already does. A/B results compare the reply
rate of each variant with the first one by a two-proportion z-test.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.tables import ContactTable, EventTable, MailboxPauseTable, SendTable

STATUSES = ("sent", "deferred", "failed", "ambiguous", "sending")
OUTCOMES = {
    "bounce": "bounced",
    "reply": "replied",
    "unsubscribe": "unsubscribed",
    "complaint": "complained",
}


def report(store: Any, campaign: dict[str, Any]) -> dict[str, Any]:
    cid = campaign["id"]
    sends, events, contacts = db.t(SendTable), db.t(EventTable), db.t(ContactTable)
    pauses = db.t(MailboxPauseTable)
    with db.reading(store) as conn:
        rows = conn.execute(
            sa.select(
                sends.c.contact_id,
                sends.c.step,
                sends.c.variant,
                sends.c.mailbox,
                sends.c.status,
                sends.c.error,
                sends.c.sent_at,
                contacts.c.email,
            )
            .join(contacts, contacts.c.id == sends.c.contact_id)
            .where(sends.c.campaign_id == cid)
        ).all()
        outcome_rows = conn.execute(
            sa.select(events.c.contact_id, events.c.kind, events.c.created_at).where(
                events.c.tenant == campaign["tenant"],
                sa.or_(events.c.campaign_id == cid, events.c.campaign_id.is_(None)),
            )
        ).all()
        paused = {
            r.mailbox: r.reason
            for r in conn.execute(
                sa.select(pauses).where(pauses.c.mailbox.in_(campaign["model"].senders))
            )
        }
    outcomes: dict[int, set[str]] = defaultdict(set)
    outcomes_per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for event in outcome_rows:
        if event.kind in OUTCOMES and event.contact_id is not None:
            outcomes[event.contact_id].add(OUTCOMES[event.kind])
            outcomes_per_day[event.created_at.date().isoformat()][OUTCOMES[event.kind]] += 1
    last_step: dict[int, tuple[int, str, str]] = {}
    for r in rows:
        if r.status == "sent" and r.step >= last_step.get(r.contact_id, (-1, "", ""))[0]:
            last_step[r.contact_id] = (r.step, r.variant, r.mailbox)

    def empty() -> dict[str, int]:
        return {k: 0 for k in (*STATUSES, *OUTCOMES.values())}

    totals = empty()
    by: dict[str, dict[str, dict[str, int]]] = {"step": {}, "variant": {}, "mailbox": {}}
    per_day: dict[str, int] = defaultdict(int)
    for r in rows:
        keys = {
            "step": str(r.step + 1),
            "variant": f"{r.step + 1}:{r.variant}",
            "mailbox": r.mailbox,
        }
        totals[r.status] += 1
        for axis, key in keys.items():
            by[axis].setdefault(key, empty())[r.status] += 1
        if r.sent_at is not None:
            per_day[r.sent_at.date().isoformat()] += 1
    # An outcome is credited to the last step (and its variant, mailbox) sent to the contact.
    for contact_id, found in outcomes.items():
        if contact_id not in last_step:
            continue
        step, variant, mailbox = last_step[contact_id]
        for outcome in found:
            totals[outcome] += 1
            by["step"][str(step + 1)][outcome] += 1
            by["variant"][f"{step + 1}:{variant}"][outcome] += 1
            by["mailbox"][mailbox][outcome] += 1
    ambiguous = [
        {"contact": r.email, "step": r.step + 1, "mailbox": r.mailbox, "error": r.error}
        for r in rows
        if r.status in ("ambiguous", "sending")
    ]
    return {
        "campaign": campaign["name"],
        "tenant": campaign["tenant"],
        "state": campaign["state"],
        "totals": totals,
        "by_step": by["step"],
        "by_variant": by["variant"],
        "by_mailbox": by["mailbox"],
        "ab": ab_results(by["variant"]),
        "ambiguous": ambiguous,
        "paused_mailboxes": paused,
        "sent_per_day": dict(sorted(per_day.items())),
        "outcomes_per_day": {d: dict(v) for d, v in sorted(outcomes_per_day.items())},
    }


def ab_results(by_variant: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Per step with variants: counts, reply rate, z and two-sided p against the first variant."""
    steps: dict[str, list[tuple[str, dict[str, int]]]] = defaultdict(list)
    for key, counts in sorted(by_variant.items()):
        step, _, variant = key.partition(":")
        if variant != "-":
            steps[step].append((variant, counts))
    out = []
    for step, variants in steps.items():
        base_name, base = variants[0]
        for name, counts in variants:
            sent, replied = counts["sent"], counts["replied"]
            z, p = z_test(base["replied"], base["sent"], replied, sent)
            out.append(
                {
                    "step": int(step),
                    "variant": name,
                    "sent": sent,
                    "replied": replied,
                    "reply_rate": replied / sent if sent else 0.0,
                    "vs": base_name,
                    "z": z,
                    "p_value": p,
                }
            )
    return out


def z_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Two-proportion z-test (pooled); (0, 1) when undefined."""
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (x2 / n2 - x1 / n1) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def csv_rows(data: dict[str, Any]) -> list[list[Any]]:
    columns = [*STATUSES, *OUTCOMES.values()]
    rows: list[list[Any]] = [["axis", "key", *columns]]
    for axis in ("step", "variant", "mailbox"):
        for key, counts in data[f"by_{axis}"].items():
            rows.append([axis, key, *(counts[c] for c in columns)])
    return rows
