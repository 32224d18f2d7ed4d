"""What a DNS check finds (:class:`Finding`) about what a domain should be (:class:`Target`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from penguinctl.dns.query import TIMEOUT, Answer


@dataclass(frozen=True)
class Finding:
    code: str
    status: str  # ok | warn | error
    domain: str
    subject: str
    message: str
    rule: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Target:
    """What a domain should look like, from the store."""

    domain: str
    zone: str
    mail_host: str
    ips: tuple[str, ...]
    selector: str | None = None
    dkim_txt: str | None = None
    spf_policy: str = "-all"
    managed: frozenset[str] = field(default_factory=frozenset)  # zones penguinctl manages


def unanswered(answer: Answer) -> bool:
    return answer.status in (TIMEOUT, "error")


def why_unanswered(answer: Answer) -> str:
    if answer.status == TIMEOUT:
        return f"timeout: {answer.error} (not reported as missing)"
    return f"lookup failed: {answer.error}"


def tag(txt: str, name: str) -> str | None:
    """The value of tag ``name`` in a ``k=v; k=v`` record, whitespace removed."""
    for part in txt.split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip() == name:
            return "".join(value.split())
    return None


def summary(findings: Sequence[Finding]) -> dict[str, Any]:
    counts = {"ok": 0, "warn": 0, "error": 0}
    for f in findings:
        counts[f.status] = counts.get(f.status, 0) + 1
    return counts
