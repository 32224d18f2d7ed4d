"""The sandbox receiver: where mail submitted to a sandbox MailU "arrives".

It judges each message as a receiving MTA would judge it arriving from the sending
server's sandbox address with the mail host as HELO — SPF, DKIM, DMARC, PTR = HELO,
TLS — against the sandbox DNS server (:func:`penguinctl.mail.verdicts.evaluate`),
prepends an ``Authentication-Results`` header (RFC 8601) and an
``X-Penguin-Verdicts`` header (the verdicts as base64 JSON, which ``mail test``
reads back), and stores one copy per recipient in a Maildir:

- ``<state_dir>/maildirs/<address>/new/`` for one of our own mailboxes (a MailU
  user of the sandbox): exactly where ``inbox sync`` reads in the sandbox, so a
  reply to a campaign message reaches the sender's inbox;
- ``<state_dir>/receiver/<recipient domain>/new/`` for everyone else (the outside
  world: the campaign's contacts, ``mail test``'s seed address).

Files are written into ``tmp/`` and renamed into ``new/`` (the Maildir protocol), so
a reader never sees half a message.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from penguinctl.mail.verdicts import DnsLookup, Verdict, evaluate

AUTHSERV_ID = "receiver.sandbox.invalid"
VERDICTS_HEADER = "X-Penguin-Verdicts"
OWN_DIR = "maildirs"
OTHERS_DIR = "receiver"

_counter = 0
_counter_lock = threading.Lock()


def maildir_for(state_dir: Path, recipient: str, own: Iterable[str]) -> Path:
    """The Maildir a copy for ``recipient`` lands in (see the module docstring)."""
    address = recipient.lower()
    if address in {a.lower() for a in own}:
        return Path(state_dir) / OWN_DIR / address
    domain = address.rpartition("@")[2] or "unknown"
    return Path(state_dir) / OTHERS_DIR / domain


def authentication_results(verdicts: list[Verdict], mail_from: str, helo: str) -> str:
    """The ``Authentication-Results`` header value for ``verdicts`` (RFC 8601 methods)."""
    by = {v.name: v for v in verdicts}

    def word(name: str, yes: str = "pass", no: str = "fail") -> str:
        return yes if by[name].ok else no

    parts = [
        AUTHSERV_ID,
        f"spf={word('spf')} smtp.mailfrom={mail_from} smtp.helo={helo}",
        f"dkim={word('dkim')} ({by['dkim'].detail})",
        f"dmarc={word('dmarc')} ({by['dmarc'].detail})",
        f"iprev={word('ptr-helo')} ({by['ptr-helo'].detail})",
    ]
    return ";\r\n\t".join(parts)


def decode_verdicts(raw: bytes) -> list[dict[str, object]] | None:
    """The verdicts the receiver stored in ``raw`` (None when it has none)."""
    from email import message_from_bytes

    value = message_from_bytes(raw).get(VERDICTS_HEADER)
    if not value:
        return None
    data = json.loads(base64.b64decode("".join(str(value).split())))
    return list(data) if isinstance(data, list) else None


class Receiver:
    """Judges and stores messages; ``own`` returns our own mailbox addresses at call time."""

    def __init__(
        self, state_dir: Path, dns_address: tuple[str, int], own: Callable[[], Iterable[str]]
    ) -> None:
        self.state_dir = Path(state_dir)
        self._dns = DnsLookup(dns_address)
        self._own = own

    def deliver(
        self,
        raw: bytes,
        *,
        peer_ip: str,
        helo: str,
        mail_from: str,
        recipients: list[str],
        tls: bool,
    ) -> list[Path]:
        """Judge ``raw`` and store one copy per recipient; the files written."""
        verdicts = evaluate(
            raw, peer_ip=peer_ip, helo=helo, mail_from=mail_from, tls=tls, dns=self._dns
        )
        encoded = base64.b64encode(json.dumps([v.to_dict() for v in verdicts]).encode()).decode()
        folded = "\r\n\t".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
        when = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        results = authentication_results(verdicts, mail_from, helo)
        header = (
            f"Received: from {helo} ([{peer_ip}]) by {AUTHSERV_ID} with "
            f"{'ESMTPS' if tls else 'ESMTP'}; {when}\r\n"
            f"Authentication-Results: {results}\r\n"
            f"{VERDICTS_HEADER}: {folded}\r\n"
        ).encode()
        own = list(self._own())
        written = []
        for rcpt in recipients:
            written.append(_store(maildir_for(self.state_dir, rcpt, own), header + raw))
        return written


def _store(maildir: Path, data: bytes) -> Path:
    global _counter
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    with _counter_lock:
        _counter += 1
        n = _counter
    name = f"{time.time_ns()}.P{os.getpid()}Q{n}.{socket.gethostname()}"
    tmp = maildir / "tmp" / name
    tmp.write_bytes(data)
    final = maildir / "new" / name
    os.replace(tmp, final)
    return final
