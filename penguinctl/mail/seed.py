"""``penguinctl mail test DOMAIN --seed ADDRESS`` on real infrastructure.

The test message is submitted like a campaign message (:class:`~penguinctl.mail.smtp.
Submission`: port 587, STARTTLS, AUTH with the mailbox's stored credentials), then read
back over IMAP (implicit TLS, read only: ``EXAMINE`` and ``BODY.PEEK[]``, nothing is
flagged, moved or deleted) from a seed mailbox the user names, found by its Message-ID
in INBOX or a spam folder. The verdicts come from what the *receiver* wrote, the
topmost ``Authentication-Results`` header (RFC 8601), plus what the message itself
shows (the DKIM signature's ``d=`` and ``h=``):

========  ===========================================================================
MT001     ``dkim=pass`` in the receiver's Authentication-Results
MT002     DKIM ``d=`` aligned with the From domain (relaxed: same organisational domain)
MT003     the DKIM ``h=`` covers List-Unsubscribe and List-Unsubscribe-Post
MT004     ``spf=pass``
MT005     ``dmarc=pass``
MT006     ``iprev=pass`` (ok=None when the receiver does not report iprev)
MT007     the submission used TLS (STARTTLS or implicit TLS)
========  ===========================================================================
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
import time
from dataclasses import dataclass
from email import message_from_bytes
from email.utils import parseaddr

from penguinctl.core.errors import PenguinError
from penguinctl.dns.dmarc import same_org
from penguinctl.mail.smtp import MailboxAccount, Submission, SubmissionError
from penguinctl.mail.verdicts import UNSUBSCRIBE_HEADERS

FOLDERS = ("INBOX", "Junk", "Spam")


class SeedError(PenguinError):
    code = "mail_test_error"


@dataclass(frozen=True)
class Seed:
    """The seed mailbox to read back from (IMAP over implicit TLS)."""

    address: str
    host: str
    port: int
    username: str
    password: str  # never logged


def seed_test(
    account: MailboxAccount,
    raw: bytes,
    message_id: str,
    seed: Seed,
    *,
    smtp_tls: ssl.SSLContext | None = None,
    imap_tls: ssl.SSLContext | None = None,
    wait: float = 120.0,
    poll: float = 2.0,
) -> list[dict[str, object]]:
    """Submit ``raw`` from ``account`` to ``seed``, read it back, return the verdict rows."""
    submission = Submission(account, tls_context=smtp_tls)
    try:
        submission.send(account.address, seed.address, raw)
        tls = submission.tls_used
    except SubmissionError as exc:
        raise SeedError(
            f"{account.host}:{account.port} did not accept the test message: {exc.message}",
            hint="check the mailbox's stored password (`penguinctl mailbox creds`) and port 587",
        ) from None
    finally:
        submission.close()
    received = fetch_by_message_id(seed, message_id, imap_tls, wait=wait, poll=poll)
    if received is None:
        raise SeedError(
            f"the test message {message_id} did not reach {seed.address} within {wait:.0f} s",
            hint="look at the server's mail queue; retry with a longer --wait",
        )
    return judge_received(received, tls_submitted=tls)


def fetch_by_message_id(
    seed: Seed,
    message_id: str,
    context: ssl.SSLContext | None,
    *,
    wait: float,
    poll: float,
) -> bytes | None:
    """The first message with ``message_id`` in the seed's INBOX or spam folder, or None."""
    try:
        imap = imaplib.IMAP4_SSL(
            seed.host, seed.port, ssl_context=context or ssl.create_default_context(), timeout=30
        )
        imap.login(seed.username, seed.password)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise SeedError(
            f"IMAP {seed.host}:{seed.port} for the seed {seed.address}: {exc}",
            hint="check the seed mailbox's IMAP host, port and password reference",
        ) from None
    deadline = time.monotonic() + wait
    try:
        while True:
            for folder in FOLDERS:
                status, _ = imap.select(f'"{folder}"', readonly=True)  # EXAMINE: read only
                if status != "OK":
                    continue
                status, data = imap.uid("SEARCH", "HEADER", "Message-ID", f'"<{message_id}>"')
                uids = (data[0] or b"").split() if status == "OK" and data else []
                if uids:
                    status, rows = imap.uid("FETCH", uids[0].decode(), "(BODY.PEEK[])")
                    for row in rows or []:
                        if isinstance(row, tuple):
                            return bytes(row[1])
            if time.monotonic() >= deadline:
                return None
            time.sleep(poll)
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            imap.logout()


def _results(header: str) -> dict[str, str]:
    """``method -> result`` of one Authentication-Results value (comments dropped)."""
    text = re.sub(r"\([^)]*\)", "", " ".join(header.split()))
    found: dict[str, str] = {}
    for part in text.split(";")[1:]:  # the first part is the authserv-id
        match = re.match(r"\s*([a-z0-9-]+)\s*=\s*([a-z]+)", part, re.I)
        if match:
            found.setdefault(match.group(1).lower(), match.group(2).lower())
    return found


def judge_received(raw: bytes, *, tls_submitted: bool) -> list[dict[str, object]]:
    """The verdict rows of a message as the seed received it (see the module docstring)."""
    msg = message_from_bytes(raw)
    headers = msg.get_all("Authentication-Results") or []
    results = _results(str(headers[0])) if headers else {}
    server = str(headers[0]).split(";")[0].strip() if headers else "no receiver"
    from_domain = parseaddr(str(msg.get("From", "")))[1].rpartition("@")[2].lower()
    signature = "".join(str(msg.get("DKIM-Signature", "") or "").split())
    tags = dict((k, v) for k, _, v in (p.partition("=") for p in signature.split(";")) if k and v)
    d = tags.get("d", "").lower()
    h = {x.lower() for x in tags.get("h", "").split(":") if x}
    covered = [x for x in UNSUBSCRIBE_HEADERS if x in h]

    def said(method: str) -> tuple[bool, str]:
        result = results.get(method, "none")
        return result == "pass", f"{method}={result} according to {server}"

    rows: list[dict[str, object]] = []

    def add(code: str, name: str, ok: bool | None, detail: str) -> None:
        rows.append({"code": code, "name": name, "ok": ok, "detail": detail})

    add("MT001", "dkim", *said("dkim"))
    add(
        "MT002",
        "dkim-aligned",
        bool(d) and same_org(d, from_domain),
        f"d={d or '-'} vs From {from_domain}",
    )
    add(
        "MT003",
        "one-click-unsubscribe-signed",
        len(covered) == len(UNSUBSCRIBE_HEADERS),
        "h= covers " + (", ".join(covered) or "neither List-Unsubscribe header"),
    )
    add("MT004", "spf", *said("spf"))
    add("MT005", "dmarc", *said("dmarc"))
    if "iprev" in results:
        add("MT006", "ptr-helo", *said("iprev"))
    else:
        add("MT006", "ptr-helo", None, f"not reported by {server}")
    add("MT007", "tls", tls_submitted, "TLS used" if tls_submitted else "sent in clear text")
    return rows
