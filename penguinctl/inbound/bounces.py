"""Delivery failures: RFC 3464 reports, and the free-text bounces MTAs still send.

Two readers feed one decision (:func:`decide`): :func:`from_dsn` reads the
``message/delivery-status`` part of a ``multipart/report`` (per-recipient
``Action``, ``Status``, ``Final-Recipient``, ``Diagnostic-Code``); :func:`from_text`
reads a bounce that has no such part (qmail, old Exim/Sendmail, some provider
notices) from its body, using the SMTP reply and enhanced status codes it quotes
and the phrases MTAs print. The status code wins over phrases when both exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from penguinctl.inbound import parts

ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_REPLY = re.compile(r"(?<![\d.])([245]\d\d)(?:[ :-]|$)", re.M)

# Phrases MTAs print, in order of precedence; matched case-insensitively in the
# diagnostic text. They place a bounce when no status code does (or refine 5.0.0).
_PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "mailbox_full",
        re.compile(
            r"quota|mailbox (is )?full|over ?quota|insufficient (system )?storage|"
            r"mailbox size limit|full mailbox"
        ),
    ),
    (
        "policy",
        re.compile(
            r"spam|blocked|block ?list|blacklist|listed|reputation|policy|dmarc|"
            r"not accepted for policy|rejected for policy|unsolicited|5\.7\.\d"
        ),
    ),
    (
        "dns",
        re.compile(
            r"host not found|domain not found|no mx|name service error|"
            r"unrouteable|nxdomain|domain (name )?(does not|doesn't) exist|"
            r"unresolvable|no such domain"
        ),
    ),
    (
        "bad_mailbox",
        re.compile(
            r"user unknown|unknown user|no such user|does not exist|doesn't exist|"
            r"mailbox unavailable|recipient address rejected|address rejected|"
            r"invalid recipient|not found|no mailbox|mailbox not found|unknown recipient|"
            r"no longer (active|valid)|account (is )?disabled|address couldn'?t be found|"
            r"deactivated|disabled|resolver\.adr\.recipientnotfound|invalid mailbox"
        ),
    ),
    (
        "transient",
        re.compile(
            r"try again later|temporar|deferred|delayed|will (continue to )?retry|"
            r"connection timed out|greylist"
        ),
    ),
)


@dataclass(frozen=True)
class Failure:
    """One failed recipient, as read from a report or a text bounce."""

    recipient: str | None
    status: str | None  # enhanced status code
    diagnostic: str
    delayed: bool = False  # Action: delayed (a warning, not a failure yet)


def classify_status(status: str | None, diagnostic: str, delayed: bool = False) -> tuple[str, str]:
    """(kind, bounce class) for a status code and diagnostic text."""
    text = diagnostic.lower()
    phrase = next((name for name, rx in _PHRASES if rx.search(text)), None)
    if delayed:
        return "soft_bounce", "transient"
    if status is None:
        reply = SMTP_REPLY.search(diagnostic)
        if reply:
            status = f"{reply.group(1)[0]}.0.0"
    klass, subject, detail = (status or "5.0.0").split(".")
    code = f"{subject}.{detail}"
    if code == "2.2" or (phrase == "mailbox_full" and code in ("0.0", "2.0", "2.2")):
        return "soft_bounce", "mailbox_full"
    if klass == "4":
        # "451 4.7.1 Greylisted, try again later" is a delay, whatever else it says.
        if _PHRASES[-1][1].search(text) or phrase in (None, "bad_mailbox"):
            return "soft_bounce", "transient"
        return "soft_bounce", phrase
    if klass == "2":
        return "soft_bounce", "transient"
    if subject == "7" or code in ("3.2",) or (phrase == "policy" and code in ("0.0", "5.0")):
        # Refused for who WE are (reputation, content, DMARC), not for who the
        # recipient is: never suppress the address for it. The effects count these
        # per sending mailbox and pause it when they pile up.
        return "soft_bounce", "policy"
    if code in ("1.2", "4.4", "1.8") or (phrase == "dns" and code == "0.0"):
        return "hard_bounce", "dns"
    if code in ("1.1", "1.0", "1.6", "1.3", "2.1") or subject == "1":
        return "hard_bounce", "bad_mailbox"
    if phrase == "transient" and code == "0.0" and status is None:
        return "soft_bounce", "transient"
    if phrase == "policy":
        return "soft_bounce", "policy"
    if phrase is not None and phrase != "transient":
        return "hard_bounce", phrase
    return "hard_bounce", "other"


def from_dsn(report: Message) -> list[Failure]:
    """Failures listed in a ``multipart/report; report-type=delivery-status``."""
    status_part = parts.first(report, "message/delivery-status")
    if status_part is None:
        return []
    failures = []
    for block in parts.dsn_blocks(status_part):
        action = (block.get("Action") or "").strip().lower()
        if action in ("delivered", "relayed", "expanded"):
            continue
        recipient = parts.address_field(
            block.get("Final-Recipient") or block.get("Original-Recipient")
        )
        if recipient is None:
            continue
        found = ENHANCED.search(block.get("Status") or "")
        status = ".".join(found.groups()) if found else None
        diagnostic = " ".join((block.get("Diagnostic-Code") or "").split())
        if diagnostic.lower().startswith("smtp;"):
            diagnostic = diagnostic[5:].strip()
        failures.append(Failure(recipient, status, diagnostic, delayed=action == "delayed"))
    return failures


# "<user@example.org>:" (qmail), "  user@example.org" after a failure header (Exim),
# "Your message to user@example.org couldn't be delivered" (Exchange Online),
# "wasn't delivered to user@example.org" (Gmail), "to <user@example.org> was undeliverable".
_RECIPIENT = (
    re.compile(r"^<([^<>\s@]+@[^<>\s@]+)>:\s*$", re.M),
    re.compile(
        r"(?:message|mail) to\s+<?([^<>\s@]+@[^<>\s@]+?)>?\s+(?:couldn't|could not|was)", re.I
    ),
    re.compile(r"(?:delivered|deliver) to\s+<?([^<>\s@]+@[^<>\s@]+?)>?(?:\s+because|[\s.:])", re.I),
    re.compile(
        r"following (?:address|recipients?)[^\n]*\n+\s*<?([^<>\s@]+@[^<>\s@]+?)>?\s*$", re.I | re.M
    ),
    re.compile(r"^\s*<?([^<>\s@]+@[^<>\s@]+?)>?\s*$", re.M),
)


def from_text(msg: Message, body: str) -> list[Failure]:
    """The failure a non-standard bounce describes (one recipient, the first found)."""
    recipient = None
    header = msg.get("X-Failed-Recipients")
    if header:
        recipient = header.split(",")[0].strip()
    # The first part of the body, before a quoted copy of our message.
    head = re.split(
        r"^-{3,}.*(original message|returned message|headers)|^Original message headers",
        body,
        maxsplit=1,
        flags=re.M | re.I,
    )[0]
    for pattern in _RECIPIENT if recipient is None else ():
        found = pattern.search(head)
        if found:
            recipient = found.group(1).strip(".<>")
            break
    found = ENHANCED.search(head)
    status = ".".join(found.groups()) if found else None
    diag_line = next(
        (
            line.strip()
            for line in head.splitlines()
            if ENHANCED.search(line) or SMTP_REPLY.search(line)
        ),
        " ".join(head.split())[:500],
    )
    # Phrases are searched in the whole explanation, the code in its own line.
    return [Failure(recipient, status, diag_line + " " + " ".join(head.split())[:1000])]


def decide(failures: list[Failure]) -> tuple[str, str, Failure] | None:
    """(kind, class, failure) of a report: the hardest failure it lists wins."""
    ranked = []
    for failure in failures:
        kind, klass = classify_status(failure.status, failure.diagnostic, failure.delayed)
        ranked.append((0 if kind == "hard_bounce" else 1, kind, klass, failure))
    if not ranked:
        return None
    ranked.sort(key=lambda r: r[0])
    _, kind, klass, failure = ranked[0]
    return kind, klass, failure
