"""``inbox sync``: read every sender mailbox, classify each new message once, apply it.

Which mailboxes (:func:`mailboxes`): of the ``mailu_mailbox/*`` resources of the
state, every sender (bounces come back to the envelope sender, replies to From)
and every role address where bounces, complaints and reports arrive — local
part ``postmaster``, ``abuse``, ``bounce(s)``, ``mailer-daemon``, ``dmarc``,
``fbl`` — even when it does not send. A ``sender: false`` mailbox with another
name is a person's or a team's: it is not read. Which folders: ``INBOX``, or the
list given (``inbox sync --folder INBOX --folder Junk``: bounces and replies
often land in Junk); a listed folder a mailbox does not have is noted, not an
error. With their stored passwords; IMAP host and port come from the resource's
outputs (``imap_host``/``imap_port``, else the SMTP host and 993). Servers are
read concurrently (one thread per server; the mailboxes of one server one after
another, so a server is not hammered). In the
sandbox, ``<state>/sandbox/maildirs/<address>/`` is read instead.

A message is keyed by its Message-ID (a digest of its bytes when it has none):
the store row is committed with the effect before the IMAP keyword is set, so a
crash between the two re-reads the message and the store answers "already".
"""

from __future__ import annotations

import hashlib
import ssl
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from penguinctl.inbound import effects
from penguinctl.inbound.classify import classify
from penguinctl.inbound.sources import ImapAccount, ImapSource, InboxError, Item, maildir_items

IMAPS_PORT = 993
# Local parts of the addresses read even when they do not send (RFC 2142 and common use).
ROLES = frozenset({"postmaster", "abuse", "bounce", "bounces", "mailer-daemon", "dmarc", "fbl"})
BATCH = 200  # messages per store transaction (and per keyword STORE)


@dataclass
class SyncResult:
    counts: Counter[str] = field(default_factory=Counter)  # kind -> new messages
    already: int = 0  # read before (no keyword, but known to the store)
    effects: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    mailboxes: int = 0
    missing: list[str] = field(default_factory=list)  # "<address>/<folder>" not there

    @property
    def new(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "mailboxes": self.mailboxes,
            "new": self.new,
            "already": self.already,
            "counts": dict(self.counts),
            "effects": self.effects,
            "errors": self.errors,
            "missing_folders": self.missing,
        }


@dataclass(frozen=True)
class Mailbox:
    tenant: str
    account: ImapAccount
    role: str = "sender"  # or the role (local part) it is read for


def mailboxes(store: Any, tenant: str | None, folders: Iterable[str] = ("INBOX",)) -> list[Mailbox]:
    """The mailboxes inbox sync reads (of ``tenant``, or all): senders and role
    addresses (see the module's docstring), each with ``folders`` to read."""
    wanted = tuple(dict.fromkeys(folders)) or ("INBOX",)
    found = []
    for key, rec in sorted(store.recorded(tenant).items()):
        if not key.startswith("mailu_mailbox/"):
            continue
        out = rec.outputs
        address = str(out.get("address") or key.split("/", 1)[1])
        local = address.rpartition("@")[0].lower()
        # A record without the flag sends: the Mailbox spec's default is sender: true.
        if local in ROLES:
            role = local
        elif (rec.attrs or {}).get("sender", True) is not False:
            role = "sender"
        else:
            continue
        password = store.get_secret(rec.tenant, key, "password") or ""
        host = str(out.get("imap_host") or out.get("smtp_host") or "")
        account = ImapAccount(
            address,
            host,
            int(out.get("imap_port") or IMAPS_PORT),
            str(out.get("username") or address),
            password,
            wanted,
        )
        found.append(Mailbox(rec.tenant, account, role))
    return found


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Verified TLS: the system's CAs, or ``ca_file`` (a private CA, a test's self-signed cert)."""
    context = (
        ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Sync:
    def __init__(
        self,
        store: Any,
        *,
        today: date | None = None,
        progress: Callable[[str], None] = lambda _m: None,
    ):
        self.store = store
        self.today = today or datetime.now(UTC).date()
        self.progress = progress
        self.result = SyncResult()
        self.domains: dict[str, set[str]] = defaultdict(set)

    def _learn_domains(self, boxes: Iterable[Mailbox]) -> None:
        # Our Message-IDs are on the sending mailbox's domain (see campaigns.runner).
        for box in boxes:
            self.domains[box.tenant].add(box.account.address.rpartition("@")[2].lower())

    def imap(self, boxes: list[Mailbox], context: ssl.SSLContext, parallel: int = 8) -> SyncResult:
        self._learn_domains(boxes)
        self.result.mailboxes += len(boxes)
        by_server: dict[tuple[str, int], list[Mailbox]] = defaultdict(list)
        for box in boxes:
            by_server[(box.account.host, box.account.port)].append(box)

        def one_server(group: list[Mailbox]) -> None:
            for box in group:
                try:
                    self._imap_box(box, context)
                except InboxError as exc:
                    self.result.errors.append(str(exc))
                    self.progress(f"error: {exc}")

        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(by_server)))) as pool:
            for future in [pool.submit(one_server, g) for g in by_server.values()]:
                future.result()
        return self.result

    def _imap_box(self, box: Mailbox, context: ssl.SSLContext) -> None:
        source = ImapSource(box.account, context)
        try:
            for folder in box.account.folders:
                if folder != "INBOX" and not source.exists(folder):
                    self.result.missing.append(f"{box.account.address}/{folder}")
                    continue
                # The keyword only after the batch's commit: a crash between the two
                # re-reads the batch, and the store answers "already".
                self._read(
                    box, folder, source.folder(folder), lambda b: source.mark([i.ref for i in b])
                )
        finally:
            source.close()

    def maildirs(self, root: Path, boxes: list[Mailbox]) -> SyncResult:
        """Read ``root/<address>/`` of each mailbox (the sandbox's mail); a folder other
        than INBOX is the Maildir++ subfolder ``.<folder>/``. The INBOX folders are
        created when missing, so a person sees where mail goes."""
        self._learn_domains(boxes)
        for box in boxes:
            path = root / box.account.address
            for sub in ("new", "cur", "tmp"):
                (path / sub).mkdir(parents=True, exist_ok=True)
            self.result.mailboxes += 1
            for folder in box.account.folders:
                where = path if folder == "INBOX" else path / f".{folder}"
                if not where.is_dir():
                    self.result.missing.append(f"{box.account.address}/{folder}")
                    continue
                self._read(box, folder, maildir_items(where))
        return self.result

    def _read(
        self,
        box: Mailbox,
        folder: str,
        items: Iterable[Item],
        committed: Callable[[list[Item]], None] = lambda _b: None,
    ) -> None:
        """Apply ``items`` in batches of :data:`BATCH`; ``committed(batch)`` after each
        batch's store transaction."""
        batch: list[Item] = []
        for item in items:
            batch.append(item)
            if len(batch) >= BATCH:
                self._batch(box, folder, batch)
                committed(batch)
                batch = []
        self._batch(box, folder, batch)
        committed(batch)

    def _batch(self, box: Mailbox, folder: str, items: list[Item]) -> None:
        """Classify ``items`` and apply them in one store transaction."""
        if not items:
            return
        events = [
            classify(item.raw, our_domains=self.domains[box.tenant], today=self.today)
            for item in items
        ]
        keys = [
            e.message_id or "sha256:" + hashlib.sha256(i.raw).hexdigest()
            for e, i in zip(events, items, strict=True)
        ]
        rows = [
            (box.tenant, box.account.address, folder, k, e)
            for k, e in zip(keys, events, strict=True)
        ]
        for event, effect in zip(events, effects.apply_many(self.store, rows), strict=True):
            if effect is None:
                self.result.already += 1
                continue
            self.result.counts[event.kind] += 1
            if effect != "none":
                self.result.effects.append(
                    {"mailbox": box.account.address, "kind": event.kind, "effect": effect}
                )
                self.progress(f"{box.account.address}: {event.kind}: {effect}")
