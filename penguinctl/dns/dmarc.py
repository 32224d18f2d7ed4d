"""DMARC (RFC 7489, with DMARCbis's view of ``pct``): record syntax and report addresses.

Pure: :func:`parse` returns the tags and the problems of one record; the external
report authorisation name (§7.1) is :func:`report_auth_name`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from penguinctl.dns.spf import Problem

POLICIES = frozenset({"none", "quarantine", "reject"})
KNOWN_TAGS = frozenset(
    {"v", "p", "sp", "np", "rua", "ruf", "adkim", "aspf", "pct", "fo", "rf", "ri"}
)
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")
_SIZE = re.compile(r"^\d+[kmgt]?$", re.IGNORECASE)


@dataclass
class Dmarc:
    tags: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.status == "error" for p in self.problems)

    def report_domains(self, tag: str = "rua") -> list[str]:
        out = []
        for uri in split_uris(self.tags.get(tag, "")):
            domain = mailto_domain(uri)
            if domain:
                out.append(domain)
        return out


def split_uris(value: str) -> list[str]:
    return [u.strip() for u in value.split(",") if u.strip()]


def mailto_domain(uri: str) -> str | None:
    """The domain of a ``mailto:`` report URI (size suffix ``!10m`` allowed), else None."""
    if not uri.lower().startswith("mailto:"):
        return None
    address = uri[7:].split("!", 1)[0]
    match = _ADDRESS.match(address)
    return match.group(1).lower() if match else None


def uri_problem(uri: str) -> str | None:
    if not uri.lower().startswith("mailto:"):
        return f"{uri!r} is not a mailto: URI"
    address, _, size = uri[7:].partition("!")
    if not _ADDRESS.match(address):
        return f"{uri!r}: {address!r} is not a valid mail address"
    if size and not _SIZE.match(size):
        return f"{uri!r}: bad size limit {size!r}"
    return None


def parse(record: str) -> Dmarc:
    result = Dmarc()
    parts = [p.strip() for p in record.strip().split(";")]
    parts = [p for p in parts if p]
    rule = "RFC 7489 §6.4"
    if not parts or parts[0].replace(" ", "") != "v=DMARC1":
        result.problems.append(Problem("DMARC002", "the record must start with v=DMARC1", rule))
        return result
    for part in parts:
        name, sep, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep:
            result.problems.append(Problem("DMARC002", f"{part!r} is not tag=value", rule))
            continue
        if name in result.tags:
            result.problems.append(Problem("DMARC002", f"tag {name} appears twice", rule))
        result.tags[name] = value
        if name not in KNOWN_TAGS:
            result.problems.append(Problem("DMARC002", f"unknown tag {name}", rule, "warn"))
    p = result.tags.get("p")
    if p is None:
        result.problems.append(Problem("DMARC002", "the p= tag is missing", "RFC 7489 §6.3"))
    for tag in ("p", "sp", "np"):
        if tag in result.tags and result.tags[tag].lower() not in POLICIES:
            result.problems.append(
                Problem("DMARC002", f"{tag}={result.tags[tag]} is not none/quarantine/reject", rule)
            )
    for tag in ("adkim", "aspf"):
        if tag in result.tags and result.tags[tag].lower() not in ("r", "s"):
            result.problems.append(Problem("DMARC002", f"{tag} must be r or s", rule))
    if "pct" in result.tags:
        pct = result.tags["pct"]
        if not pct.isdigit() or int(pct) > 100:
            result.problems.append(Problem("DMARC002", f"pct={pct} is not 0..100", rule))
        elif int(pct) != 100:
            result.problems.append(
                Problem(
                    "DMARC005",
                    f"pct={pct}: DMARCbis drops pct; stage the rollout through p= instead",
                    "DMARCbis (draft-ietf-dmarc-dmarcbis) §10.1",
                    "warn",
                )
            )
    for tag in ("rua", "ruf"):
        for uri in split_uris(result.tags.get(tag, "")):
            problem = uri_problem(uri)
            if problem:
                result.problems.append(Problem("DMARC004", f"{tag}: {problem}", "RFC 7489 §6.2"))
    return result


def same_org(a: str, b: str) -> bool:
    """A simplified organisational-domain test (no public-suffix list): one is within the other."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def report_auth_name(domain: str, report_domain: str) -> str:
    """RFC 7489 §7.1: where ``report_domain`` says it accepts reports for ``domain``."""
    return f"{domain}._report._dmarc.{report_domain}"
