"""The worker's ledger claim on PostgreSQL: one statement, one round trip, one commit.

A worker claims every message on its own, committed before DATA (that is what
keeps a ``kill -9`` down to one ambiguous send per thread). Through SQLAlchemy a
claim is five statements (begin, mark the previous send, the refusal read, the
insert, commit) and most of a worker's CPU; here it is ONE statement, run in
autocommit mode (a statement is then its own transaction, committed before the
reply comes back), that also records the previous send's outcome.

The statement applies exactly the refusal rules of
:func:`penguinctl.campaigns.ledger.refusal` (campaign active, contact present, not
suppressed for the tenant or globally, no stop event, mailbox not paused), worded
by the same :func:`~penguinctl.campaigns.ledger.refusal_reason`, before it inserts
the ``sending`` row; ``tests/workers/test_workers_claim.py`` checks both give the
same answer in every case. A retried (deferred) send is rare and goes through the
ledger's own claim.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from penguinctl.campaigns.ledger import outcome_params, refusal_reason, runner_id
from penguinctl.campaigns.tables import GLOBAL

CHECKS_AND_INSERT = """
chk AS (
  SELECT
    (SELECT state FROM campaigns WHERE id = %(campaign)s) AS state,
    (SELECT email FROM contacts WHERE id = %(contact)s) AS email,
    EXISTS (SELECT 1 FROM suppressions s JOIN contacts c ON c.email = s.email
            WHERE c.id = %(contact)s AND s.tenant IN (%(tenant)s, %(global)s)) AS suppressed,
    (SELECT kind FROM campaign_events WHERE tenant = %(tenant)s AND contact_id = %(contact)s
       AND kind = ANY(%(stops)s) AND (campaign_id = %(campaign)s OR kind <> 'reply')
       LIMIT 1) AS stop,
    (SELECT reason FROM mailbox_pauses WHERE mailbox = %(mailbox)s) AS paused
), ins AS (
  INSERT INTO campaign_sends (tenant, campaign_id, contact_id, step, variant, mailbox,
                              message_id, status, attempts, runner, error, claimed_at)
  SELECT %(tenant)s, %(campaign)s, %(contact)s, %(step)s, %(variant)s, %(mailbox)s,
         %(message_id)s, 'sending', 1, %(runner)s, NULL, %(now)s
  FROM chk
  WHERE chk.state = 'active' AND chk.email IS NOT NULL AND NOT chk.suppressed
        AND chk.stop IS NULL AND chk.paused IS NULL
  ON CONFLICT (campaign_id, contact_id, step) DO NOTHING
  RETURNING id
)
SELECT chk.state, chk.email, chk.suppressed, chk.stop, chk.paused, (SELECT id FROM ins)
FROM chk
"""

CLAIM = "WITH " + CHECKS_AND_INSERT

# The outcome statements take the parameters of ledger.outcome_params (``b_*``: no
# name clashes with the claim's, so a mark and a claim share one parameter dict).
MARK = """
UPDATE campaign_sends SET status = %(b_status)s, error = %(b_error)s, sent_at = %(b_sent_at)s
WHERE campaign_id = %(b_campaign)s AND contact_id = %(b_contact)s AND step = %(b_step)s
  AND status = 'sending'
"""

RELEASE = """
DELETE FROM campaign_sends
WHERE campaign_id = %(b_campaign)s AND contact_id = %(b_contact)s AND step = %(b_step)s
  AND status = 'sending'
"""

# The previous send's outcome in the same statement: data-modifying CTEs run once,
# all in the statement's own (autocommit) transaction.
MARK_AND_CLAIM = "WITH mark AS (" + MARK + "  RETURNING id\n), " + CHECKS_AND_INSERT


def mark_and_claim(
    raw: Any,
    done: list[tuple[Any, str, str | None]],
    job: Any | None,
    *,
    message_id: str = "",
    variant: str = "",
    stop_on: list[str] | tuple[str, ...] = (),
) -> str | None:
    """Record ``done`` and (unless ``job`` is None) claim ``job``, committed together on
    the psycopg connection ``raw`` (in autocommit mode: see :func:`autocommit`).
    None when claimed, else why it must not be sent."""
    marks, releases = outcome_params(done)
    if job is not None and len(marks) <= 1 and not releases:
        # The common case: one statement, one round trip, one commit.
        params = _claim_params(job, message_id, variant, stop_on)
        sql = CLAIM
        if marks:
            sql = MARK_AND_CLAIM
            params |= marks[0]
        with raw.cursor() as cur:
            cur.execute(sql, params)
            return _why(cur.fetchone())
    why: str | None = None
    with raw.transaction(), raw.cursor() as cur:
        if marks:
            cur.executemany(MARK, marks)
        if releases:
            cur.executemany(RELEASE, releases)
        if job is not None:
            cur.execute(CLAIM, _claim_params(job, message_id, variant, stop_on))
            why = _why(cur.fetchone())
    return why


@contextmanager
def autocommit(raw: Any) -> Iterator[Any]:
    """``raw`` in autocommit mode (each statement its own committed transaction) for
    the block, then back as the pool lent it."""
    raw.rollback()  # nothing left open by the pool's checkout
    raw.autocommit = True
    try:
        yield raw
    finally:
        raw.autocommit = False


def _claim_params(job: Any, message_id: str, variant: str, stop_on: Any) -> dict[str, Any]:
    return {
        "campaign": job.campaign_id,
        "contact": job.contact_id,
        "step": job.step,
        "tenant": job.tenant,
        "global": GLOBAL,
        "stops": list(stop_on),
        "mailbox": job.mailbox,
        "variant": variant,
        "message_id": message_id,
        "runner": runner_id(),
        "now": datetime.now(UTC),
    }


def _why(row: Any) -> str | None:
    *reads, claimed = row
    why = refusal_reason(*reads)
    if why is not None:
        return why
    return None if claimed is not None else "already claimed"
