"""The in-process runner: schedule, claim, compose, submit, record — at most once.

One pass: read a snapshot, ask the pure scheduler what is due, hand the due
:class:`SendJob`\\ s to a :class:`SendQueue` and execute them, one thread per
mailbox, each with its own reused SMTP connection. :meth:`Runner.execute` is the
unit a worker of the scale-out issue runs too: render (a template error skips the
contact and is reported; nothing is claimed), claim in the ledger (committed
before DATA), submit, mark.

Outcomes: 250 → ``sent``; certainly-not-accepted failures (connection, 4xx) are
retried a few times in place, then ``deferred`` (the scheduler retries later with
backoff); a 5xx from our own server → ``failed`` and the mailbox is paused with
the reason (the recipient is not suppressed); a failure inside DATA →
``ambiguous``, reported, never re-sent.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from penguinctl.campaigns import ledger
from penguinctl.campaigns.render import RenderError, render_step
from penguinctl.campaigns.schedule import ContactState, SendJob, Snapshot, schedule
from penguinctl.campaigns.snapshot import load_snapshot
from penguinctl.campaigns.unsubscribe import make_token, tenant_key
from penguinctl.mail.message import HeaderInjection, Outgoing, compose
from penguinctl.mail.smtp import (
    Ambiguous,
    Deferred,
    MailboxAccount,
    Rejected,
    Submission,
    Unsendable,
)

BATCH = 20  # sends claimed / recorded per commit, per mailbox
IN_PLACE_RETRIES = (0.2, 1.0)  # seconds between in-place retries of a deferred send


class SendQueue(Protocol):
    """Where the scheduler puts due jobs (the scale-out issue backs it with Redis)."""

    def put_many(self, jobs: list[SendJob]) -> None: ...


@dataclass
class LocalQueue:
    jobs: list[SendJob] = field(default_factory=list)

    def put_many(self, jobs: list[SendJob]) -> None:
        self.jobs.extend(jobs)

    def drain(self) -> list[SendJob]:
        jobs, self.jobs = self.jobs, []
        return jobs


def message_id(
    job: SendJob | Any, campaign_id: int, contact_id: int, step: int, domain: str
) -> str:
    digest = hashlib.blake2b(f"{campaign_id}/{contact_id}/{step}".encode(), digest_size=6)
    return f"pc.{campaign_id}.{contact_id}.{step}.{digest.hexdigest()}@{domain}"


@dataclass
class RunResult:
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    settled_ambiguous: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "problems": self.problems,
            "settled_ambiguous": self.settled_ambiguous,
        }


class Runner:
    def __init__(
        self,
        store: Any,
        campaign: dict[str, Any],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        fault: Callable[[str], None] | None = None,
        progress: Callable[[str], None] = lambda _m: None,
        retries: tuple[float, ...] = IN_PLACE_RETRIES,
        batch: int = BATCH,
    ):
        self.store = store
        self.campaign = campaign
        self.spec = campaign["model"]
        self.clock = clock
        self.fault = fault
        self.progress = progress
        self.retries = retries
        self.batch = max(1, batch)
        self.queue = LocalQueue()
        self.result = RunResult()
        self._connections: dict[str, Submission] = {}
        self._passed: set[tuple[int, int]] = set()  # (contact, step) not sent in this pass
        self._key = tenant_key(store, self.spec.tenant)

    def run(self, *, once: bool, max_sleep: float = 30.0) -> RunResult:
        self.result.settled_ambiguous = ledger.settle_dead(
            self.store, self.campaign["id"], ledger.local_runner_alive
        )
        try:
            while True:
                snap = load_snapshot(self.store, self._fresh(), self.clock())
                plan = schedule(snap, self.clock())
                # A job that rendered with an error or was refused at claim time stays
                # due in the snapshot: do not retry it before the next wait.
                due = [j for j in plan.due if (j.contact_id, j.step) not in self._passed]
                if due:
                    self.queue.put_many(due)
                    self._execute_all(snap, self.queue.drain())
                    continue
                if once or snap.state == "stopped":
                    return self.result
                self._passed.clear()
                wake = plan.next_wake
                pause = max_sleep if wake is None else (wake - self.clock()).total_seconds()
                time.sleep(min(max(pause, 0.05), max_sleep))
        finally:
            for conn in self._connections.values():
                conn.close()

    def _fresh(self) -> dict[str, Any]:
        from penguinctl.campaigns.snapshot import find_campaign

        latest = find_campaign(self.store, self.campaign["name"])
        self.campaign["state"] = latest["state"]
        return self.campaign

    def _execute_all(self, snap: Snapshot, jobs: list[SendJob]) -> None:
        contacts = {c.id: c for c in snap.contacts}
        groups: dict[str, list[SendJob]] = defaultdict(list)
        for job in jobs:
            groups[job.mailbox].append(job)

        def run_group(group: list[SendJob]) -> None:
            for i in range(0, len(group), self.batch):
                self._execute_chunk(group[i : i + self.batch], contacts)

        with ThreadPoolExecutor(max_workers=max(1, len(groups))) as pool:
            for future in [pool.submit(run_group, g) for g in groups.values()]:
                future.result()

    def execute(self, job: SendJob, contact: ContactState) -> None:
        """Send one job at most once (the unit a scale-out worker runs)."""
        self._execute_chunk([job], {contact.id: contact})

    def _execute_chunk(self, jobs: list[SendJob], contacts: dict[int, ContactState]) -> None:
        """Render, claim all in one commit, send one by one, record all in one commit.

        Claims and outcomes are committed per chunk (``batch``), not per message: a
        crash mid-chunk leaves at most a chunk of ``sending`` rows, all reported as
        ambiguous, and nothing is ever sent without its claim committed first.
        """
        stop_on = list(self.spec.stop_on)
        prepared = [p for p in (self.prepare(j, contacts[j.contact_id]) for j in jobs) if p]
        if not prepared:
            return
        whys = ledger.claim_many(self.store, [(p[0], p[2], p[3]) for p in prepared], stop_on)
        outcomes: list[tuple[SendJob, str, str | None]] = []
        refused: str | None = None
        try:
            for (job, payload, _mid, _variant), why in zip(prepared, whys, strict=True):
                contact = contacts[job.contact_id]
                if why is None and refused is None and len(prepared) > 1:
                    # Suppression and stops are honoured at send time, not only at claim.
                    why = ledger.refusal(self.store, job, stop_on)
                    if why is not None:
                        outcomes.append((job, "released", None))
                elif why is None and refused is not None:
                    # The mailbox was just paused: drop the unsent claims of the chunk.
                    outcomes.append((job, "released", None))
                    why = refused
                if why is not None:
                    self._passed.add((job.contact_id, job.step))
                    self._note("skipped", None)
                    continue
                status, error, paused = self.submit(job, contact, payload)
                outcomes.append((job, status, error))
                if paused:
                    refused = f"mailbox paused: {error}"
        finally:
            ledger.mark_many(self.store, outcomes)

    def prepare(
        self, job: SendJob, contact: ContactState
    ) -> tuple[SendJob, bytes, str, str] | None:
        """(job, message, Message-ID, variant) rendered and composed; None (noted as a
        render error, the send passed over) when the step cannot be rendered."""
        spec = self.spec
        domain = job.mailbox.rpartition("@")[2]
        mid = message_id(job, job.campaign_id, job.contact_id, job.step, domain)
        sender = {"address": job.mailbox, "name": spec.from_name or ""}
        data = {"id": contact.id, "email": contact.email, "fields": contact.fields}
        try:
            rendered = render_step(spec, self.campaign["name"], job.step, data, sender)
            token = make_token(self._key, spec.tenant, contact.id, job.campaign_id)
            url = f"{spec.unsubscribe.base_url}/u/{token}"
            mailto = f"mailto:{spec.unsubscribe.mailto or job.mailbox}?subject=unsubscribe"
            text, html = _footer(rendered.text, rendered.html, url, spec.postal_address)
            refs = [
                message_id(None, job.campaign_id, job.contact_id, k, domain)
                for k in sorted(contact.sends)
                if k < job.step and contact.sends[k].status == "sent"
            ]
            payload = compose(
                Outgoing(
                    job.mailbox,
                    spec.from_name,
                    _rcpt_header(contact.email),
                    rendered.subject,
                    text,
                    html,
                    mid,
                    self.clock(),
                    url,
                    mailto,
                    refs,
                )
            )
        except (RenderError, HeaderInjection) as exc:
            self._passed.add((job.contact_id, job.step))
            self._note("render_error", f"{contact.email} step {job.step + 1}: {exc}")
            return None
        return job, payload, mid, rendered.variant

    def submit(
        self, job: SendJob, contact: ContactState, payload: bytes
    ) -> tuple[str, str | None, bool]:
        """(ledger status, error, whether the mailbox was paused)."""
        rcpt, utf8 = _envelope(contact.email)
        conn = self._connection(job.mailbox)
        for attempt in range(len(self.retries) + 1):
            try:
                conn.send(job.mailbox, rcpt, payload, utf8=utf8)
            except Deferred as exc:
                if attempt < len(self.retries):
                    time.sleep(self.retries[attempt])
                    continue
                self._note("deferred", f"{contact.email}: deferred ({exc})")
                return "deferred", str(exc), False
            except Rejected as exc:
                ledger.pause_mailbox(self.store, job.tenant, job.mailbox, str(exc))
                self._note("failed", f"mailbox {job.mailbox} paused: {exc}")
                return "failed", str(exc), True
            except Unsendable as exc:
                self._note("failed", f"{contact.email} step {job.step + 1}: {exc}")
                return "failed", str(exc), False
            except Ambiguous as exc:
                self._note("ambiguous", f"{contact.email} step {job.step + 1}: {exc}")
                return "ambiguous", str(exc), False
            self.progress(f"sent step {job.step + 1} to {contact.email} from {job.mailbox}")
            self._note("sent", None)
            return "sent", None, False
        raise AssertionError("unreachable")

    def _note(self, outcome: str, problem: str | None) -> str:
        self.result.counts[outcome] += 1
        if problem:
            self.result.problems.append(problem)
            self.progress(problem)
        return outcome

    def _connection(self, mailbox: str) -> Submission:
        conn = self._connections.get(mailbox)
        if conn is None:
            conn = Submission(self.account(mailbox), fault=self.fault)
            self._connections[mailbox] = conn
        return conn

    def account(self, mailbox: str) -> MailboxAccount:
        """How to submit as ``mailbox``: its recorded endpoint and login, its password."""
        rec = self.store.get(f"mailu_mailbox/{mailbox}")
        out = rec.outputs
        password = self.store.get_secret(self.spec.tenant, f"mailu_mailbox/{mailbox}", "password")
        return MailboxAccount(
            mailbox,
            str(out["smtp_host"]),
            int(out["smtp_port"]),
            out.get("username"),
            password,
            str(out.get("smtp_tls") or "auto"),
            out.get("smtp_ca_file"),  # the sandbox endpoint's private CA
        )


def _footer(text: str, html: str | None, url: str, postal: str) -> tuple[str, str | None]:
    import html as html_mod

    text = f"{text.rstrip()}\n\n--\n{postal}\nUnsubscribe: {url}\n"
    if html is not None:
        html = (
            f'{html}\n<p style="font-size:12px;color:#666">{html_mod.escape(postal)}<br>'
            f'<a href="{html_mod.escape(url)}">Unsubscribe</a></p>\n'
        )
    return text, html


def _envelope(email: str) -> tuple[str, bool]:
    """(RCPT address, needs SMTPUTF8): an IDN domain goes as punycode."""
    local, _, domain = email.rpartition("@")
    if not local.isascii():
        return email, True
    return f"{local}@{domain.encode('idna').decode()}", False


def _rcpt_header(email: str) -> str:
    return _envelope(email)[0]
