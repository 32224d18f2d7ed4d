"""Operations behind ``campaign plan|run|pause|resume|stop`` (no printing here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from penguinctl.core.errors import Issue, PenguinError, ValidationFailed


def load_spec(sources: list[str], name: str) -> tuple[Any, Any]:
    """(document, spec) of ``kind: Campaign`` named ``name`` in ``sources``."""
    from penguinctl.spec.loader import load

    specs = load(sources)
    doc = specs.of("Campaign").get(name)
    if doc is None:
        known = ", ".join(sorted(specs.of("Campaign"))) or "none"
        raise PenguinError(
            f"no Campaign named {name!r} in {', '.join(sources)}", hint=f"campaigns found: {known}"
        )
    return doc, doc.spec


def check_sandbox_url(spec: Any, sandbox: bool, where: str | None) -> None:
    if not sandbox and not spec.unsubscribe.base_url.startswith("https://"):
        raise PenguinError(
            "the unsubscribe base URL must use https outside the sandbox",
            hint="set spec.unsubscribe.baseUrl to an https:// URL",
            location=where,
        )


def record(store: Any, sources: list[str], name: str, sandbox: bool) -> dict[str, Any]:
    """Load the spec, record it in the store, return the campaign row."""
    from penguinctl.campaigns.snapshot import find_campaign, save_campaign

    doc, spec = load_spec(sources, name)
    check_sandbox_url(spec, sandbox, doc.location("spec.unsubscribe.baseUrl"))
    save_campaign(store, name, spec)
    campaign = find_campaign(store, name)
    campaign["source"] = doc
    return campaign


@dataclass
class CampaignPlan:
    name: str
    next_sends: list[dict[str, Any]] = field(default_factory=list)
    waiting: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    preview: dict[str, Any] | None = None
    contacts: int = 0
    missing_mailboxes: list[str] = field(default_factory=list)


def plan(store: Any, campaign: dict[str, Any], *, contact: str | None = None) -> CampaignPlan:
    """Who gets what next; every rendering error of every step for every contact."""
    from collections import Counter

    from penguinctl.campaigns.render import RenderError, render_step
    from penguinctl.campaigns.schedule import schedule
    from penguinctl.campaigns.snapshot import load_snapshot

    now = datetime.now(UTC)
    snap = load_snapshot(store, campaign, now)
    spec = snap.spec
    result = CampaignPlan(campaign["name"], contacts=len(snap.contacts))
    result.missing_mailboxes = [s for s in spec.senders if s not in snap.mailboxes]
    sched = schedule(snap, now)
    emails = {c.id: c.email for c in snap.contacts}
    for job in sched.due:
        result.next_sends.append(
            {
                "contact": emails[job.contact_id],
                "step": job.step + 1,
                "mailbox": job.mailbox,
                "when": "now",
            }
        )
    for wait in sched.waiting:
        if wait.step is not None and wait.not_before is not None:
            result.next_sends.append(
                {
                    "contact": emails[wait.contact_id],
                    "step": wait.step + 1,
                    "mailbox": "",
                    "when": wait.not_before.isoformat(timespec="minutes"),
                }
            )
    result.waiting = dict(Counter(w.reason for w in sched.waiting))
    for state in snap.contacts:
        data = {"id": state.id, "email": state.email, "fields": state.fields}
        sender = {"address": spec.senders[0], "name": spec.from_name or ""}
        for index in range(len(spec.steps)):
            try:
                rendered = render_step(spec, snap.campaign, index, data, sender)
            except RenderError as exc:
                result.errors.append(f"{state.email}: step {index + 1}: {exc}")
                continue
            if contact is not None and state.email == contact.lower() and result.preview is None:
                result.preview = {"contact": state.email, "steps": []}
            if result.preview is not None and state.email == result.preview["contact"]:
                result.preview["steps"].append(
                    {
                        "step": index + 1,
                        "variant": rendered.variant,
                        "subject": rendered.subject,
                        "text": rendered.text,
                        "html": rendered.html,
                    }
                )
    if (
        contact is not None
        and result.preview is None
        and not any(e.startswith(contact.lower() + ":") for e in result.errors)
    ):
        raise PenguinError(f"{contact} is not in the campaign's audience")
    return result


def raise_render_errors(result: CampaignPlan) -> None:
    if result.errors:
        raise ValidationFailed([Issue(f"template: {e}") for e in result.errors])


def set_state(store: Any, name: str, state: str) -> dict[str, Any]:
    from penguinctl.campaigns.snapshot import find_campaign
    from penguinctl.campaigns.snapshot import set_state as write

    campaign = find_campaign(store, name)
    if campaign["state"] == "stopped" and state != "stopped":
        raise PenguinError(f"campaign {name} is stopped", hint="a stopped campaign stays stopped")
    write(store, campaign["id"], state)
    return campaign


@dataclass
class Settlement:
    """What ``campaign settle`` found and did; ``run_id`` is the audit run (None: listing only)."""

    pending: list[dict[str, Any]]
    sent: list[dict[str, Any]] = field(default_factory=list)
    not_sent: list[dict[str, Any]] = field(default_factory=list)
    run_id: int | None = None


def settle(
    store: Any,
    name: str,
    *,
    sent: list[int],
    not_sent: list[int],
    all_sent: bool,
    workspace: str,
    profile: str | None,
) -> Settlement:
    """List the campaign's ambiguous sends and record the operator's decisions.

    Sends left ``sending`` by a dead local runner become ``ambiguous`` first (as the
    next run would), so an interrupted run can be settled without running again.
    Each decision is journaled in an audit run (``penguinctl history``) before the
    ledger changes: who decided what, about which message.
    """
    from penguinctl.campaigns import ledger
    from penguinctl.campaigns.snapshot import find_campaign

    sent, not_sent = list(dict.fromkeys(sent)), list(dict.fromkeys(not_sent))
    campaign = find_campaign(store, name)
    ledger.settle_dead(store, campaign["id"], ledger.local_runner_alive)
    pending = ledger.ambiguous_sends(store, campaign["id"])
    if all_sent:
        if not_sent:
            raise PenguinError(
                "--all-sent and --not-sent together", hint="give --not-sent IDs and --sent IDs"
            )
        sent = [row["id"] for row in pending]
    result = Settlement(pending)
    if not sent and not not_sent:
        return result
    by_id = {row["id"]: row for row in pending}
    # Refused before the audit run opens; ledger.settle checks again in its transaction.
    unknown = sorted({*sent, *not_sent} - set(by_id))
    if unknown:
        known = ", ".join(str(i) for i in by_id) or "none"
        raise PenguinError(
            f"send(s) {', '.join(map(str, unknown))} are not ambiguous sends of campaign {name}",
            hint=f"ambiguous sends now: {known}",
        )
    both = sorted(set(sent) & set(not_sent))
    if both:
        raise PenguinError(
            f"send(s) {', '.join(map(str, both))} given as both sent and not sent",
            hint="decide each ambiguous send once",
        )
    run_id = store.begin_run(f"campaign settle {name}", workspace=workspace, profile=profile)
    result.run_id = run_id
    changes: list[int] = []
    try:
        for ids, decision in ((sent, "sent"), (not_sent, "not sent")):
            for send_id in ids:
                before = _audit(by_id[send_id])  # every id is pending (checked above)
                changes.append(
                    store.intent(
                        run_id,
                        tenant=campaign["tenant"],
                        key=f"campaign_send/{name}/{send_id}",
                        action="update" if decision == "sent" else "delete",
                        before=before,
                        after={**before, "status": "sent"} if decision == "sent" else None,
                    )
                )
        note = f"settled as sent by the operator (run {run_id})"
        ledger.settle(store, campaign["id"], sent=sent, not_sent=not_sent, note=note)
    except Exception as exc:
        for change in changes:
            store.result(change, "failed", str(exc))
        store.finish_run(run_id, "failed", {"campaign": name, "error": str(exc)})
        raise
    for change in changes:
        store.result(change, "applied")
    result.sent = [by_id[i] for i in sent]
    result.not_sent = [by_id[i] for i in not_sent]
    decided = {*sent, *not_sent}
    result.pending = [row for row in pending if row["id"] not in decided]
    store.finish_run(
        run_id,
        "ok",
        {
            "campaign": name,
            "applied": len(sent) + len(not_sent),
            "sent": sent,
            "not_sent": not_sent,
        },
    )
    return result


def _audit(row: dict[str, Any]) -> dict[str, Any]:
    """What the journal keeps of an ambiguous send (no message content)."""
    return {
        "id": row["id"],
        "status": "ambiguous",
        "contact": row["contact"],
        "step": row["step"] + 1,
        "mailbox": row["mailbox"],
        "message_id": row["message_id"],
    }
