"""Field types shared by the spec models: names, domains, credential references, TTLs.

Each type is ``Annotated[str, AfterValidator(...), WithJsonSchema(...)]``: the validator
normalises the value (domains become lower-case punycode without a trailing dot) or
raises ``ValueError`` with a message that never echoes a secret; the JSON schema is
what editors see.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic.json_schema import WithJsonSchema

from penguinctl.core.credentials import check_reference

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_LDH = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# DNS names that are not host names (``_spf.google.com``) may have underscore labels.
_DNS_LABEL = re.compile(r"^(?:_[a-z0-9-]{1,62}|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$")
_ASCII_DOMAIN = re.compile(r"^[A-Za-z0-9._-]+$")
# RFC 5322 dot-atom local part (what MailU and Postfix accept without quoting).
_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_RECORD_NAME = re.compile(
    r"^(?:@|(?:\*\.)?[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?|\*)$"
)


def check_name(value: str) -> str:
    """A resource name: DNS-label-like, lower-case ``[a-z0-9-]``, at most 63 characters."""
    if not NAME_RE.match(value):
        if len(value) > 63:
            raise ValueError(f"name is {len(value)} characters long; at most 63 are allowed")
        raise ValueError(
            f"invalid name '{value}': use lower-case letters, digits and '-' "
            "(starting and ending with a letter or digit)"
        )
    return value


def normalize_dns_name(value: str) -> str:
    """Like :func:`normalize_domain`, but labels may start with ``_`` (``_spf.example.com``)."""
    return normalize_domain(value, underscore=True)


def normalize_domain(value: str, *, underscore: bool = False) -> str:
    """Return ``value`` as a lower-case ASCII (punycode) domain without trailing dot.

    Rejects IP addresses, single-label names, labels longer than 63 characters and
    anything that is not a valid (internationalised) host name.
    """
    name = value.strip()
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise ValueError("domain name is empty")
    if name[-1].isdigit() or ":" in name:  # cheap guard: ip_address() is slow
        try:
            ipaddress.ip_address(name)
        except ValueError:
            pass
        else:
            raise ValueError(f"'{value}' is an IP address, not a domain name")
    if _ASCII_DOMAIN.match(name):
        # Fast path: plain ASCII needs no IDNA processing (the common, bulk case).
        name = name.lower()
    else:
        import idna  # imported lazily: only internationalised names need it

        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"'{value}' is not a valid domain name ({exc})") from None
    labels = name.split(".")
    if len(labels) < 2:
        raise ValueError(f"'{value}' is a single label; give a fully qualified domain name")
    label_re = _DNS_LABEL if underscore else _LDH
    for label in labels:
        if len(label) > 63:
            raise ValueError(f"label '{label[:20]}…' of '{value}' is longer than 63 characters")
        if not label_re.match(label):
            raise ValueError(
                f"'{value}' is not a valid domain name (label '{label}' must be letters, "
                "digits and inner hyphens)"
            )
        if label.startswith("xn--"):
            _check_punycode(value, label)
    if len(name) > 253:
        raise ValueError(f"'{value}' is longer than 253 characters")
    if labels[-1].isdigit():
        raise ValueError(f"'{value}' has an all-numeric top-level label")
    return name


def _check_punycode(value: str, label: str) -> None:
    import idna

    try:
        idna.decode(label)
    except (idna.IDNAError, UnicodeError):
        raise ValueError(f"'{value}' has an invalid punycode label '{label}'") from None


def check_credential(value: str) -> str:
    """A credential reference ``env:NAME`` / ``file:PATH``; the value itself is never echoed."""
    problem = check_reference(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def check_local_part(value: str) -> str:
    """A mailbox local part (the part before ``@``), lower-cased."""
    local = value.strip().lower()
    if "@" in local:
        raise ValueError("give the local part only (the part before '@'), not a full address")
    if not local or len(local) > 64 or not _LOCAL_PART.match(local):
        raise ValueError(
            f"'{value}' is not a valid mailbox local part (letters, digits, '.', '-', '_', '+'…; "
            "at most 64 characters)"
        )
    return local


def check_email(value: str) -> str:
    """An e-mail address ``local@domain``; the domain is normalised like any domain."""
    if not _EMAIL.match(value):
        raise ValueError(f"'{value}' is not an e-mail address")
    local, _, domain = value.rpartition("@")
    return f"{local}@{normalize_domain(domain)}"


def check_mailto(value: str) -> str:
    """A DMARC report URI: ``mailto:address`` (optionally with a ``!size`` limit)."""
    if not value.lower().startswith("mailto:"):
        raise ValueError(f"'{value}' is not a mailto: URI (write mailto:reports@example.com)")
    address, bang, size = value[7:].partition("!")
    if bang and not re.match(r"^\d+[kmgt]?$", size, re.IGNORECASE):
        raise ValueError(f"'{value}' has an invalid size limit after '!'")
    return "mailto:" + check_email(address) + (bang + size)


def check_ip(value: str) -> str:
    """An IPv4 or IPv6 address, in its canonical text form."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"'{value}' is not an IPv4 or IPv6 address") from None


def check_ip_version(version: int, note: str = "") -> Any:
    """A validator for one address family (``address`` is IPv4, ``address6`` IPv6)."""

    def check(value: str) -> str:
        text = check_ip(value)
        if ipaddress.ip_address(text).version != version:
            raise ValueError(f"'{value}' is not an IPv{version} address{note}")
        return text

    return check


def check_ttl(value: int) -> int:
    """A DNS TTL: 1 means automatic (Cloudflare), otherwise 60..86400 seconds."""
    if value != 1 and not 60 <= value <= 86400:
        raise ValueError("ttl must be 1 (automatic) or between 60 and 86400 seconds")
    return value


def check_record_name(value: str) -> str:
    """A record name relative to the domain (``@``, ``www``, ``_dmarc``, ``*.t``)."""
    name = value.strip().lower()
    if not _RECORD_NAME.match(name):
        raise ValueError(f"'{value}' is not a valid record name (use @ for the domain itself)")
    return name


def check_selector(value: str) -> str:
    """A DKIM selector: one DNS label."""
    if not _LDH.match(value):
        raise ValueError(f"'{value}' is not a valid DKIM selector (one DNS label, lower-case)")
    return value


def check_ssh_key_path(value: str) -> str:
    """A private key path or ``file:PATH`` reference, never the key itself."""
    if "PRIVATE KEY" in value or "\n" in value:
        raise ValueError("sshKey must be a path or file:PATH reference, not the key itself")
    if value.startswith("env:"):
        raise ValueError("sshKey must be a path or file:PATH reference (env: is not supported)")
    if not value.strip():
        raise ValueError("sshKey is empty")
    return value


def _string(pattern: str | None = None, fmt: str | None = None, description: str = "") -> dict:
    schema: dict[str, object] = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    if fmt:
        schema["format"] = fmt
    if description:
        schema["description"] = description
    return schema


Name = Annotated[
    str,
    AfterValidator(check_name),
    WithJsonSchema(_string(NAME_RE.pattern, description="DNS-label-like name, at most 63")),
]
Domain = Annotated[
    str,
    AfterValidator(normalize_domain),
    WithJsonSchema(_string(fmt="idn-hostname", description="fully qualified domain name")),
]
DnsName = Annotated[
    str,
    AfterValidator(normalize_dns_name),
    WithJsonSchema(_string(description="DNS name (labels may start with _)")),
]
Credential = Annotated[
    str,
    AfterValidator(check_credential),
    WithJsonSchema(
        _string(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$", description="env:NAME or file:PATH")
    ),
]
LocalPart = Annotated[str, AfterValidator(check_local_part), WithJsonSchema(_string())]
Email = Annotated[str, AfterValidator(check_email), WithJsonSchema(_string(fmt="idn-email"))]
MailtoUri = Annotated[str, AfterValidator(check_mailto), WithJsonSchema(_string("^mailto:"))]
IpAddress = Annotated[
    str,
    AfterValidator(check_ip),
    WithJsonSchema({"anyOf": [_string(fmt="ipv4"), _string(fmt="ipv6")]}),
]
Ipv4Address = Annotated[
    str,
    AfterValidator(check_ip_version(4, " (a server's IPv6 address goes in address6)")),
    WithJsonSchema(_string(fmt="ipv4")),
]
Ipv6Address = Annotated[
    str, AfterValidator(check_ip_version(6)), WithJsonSchema(_string(fmt="ipv6"))
]
Ttl = Annotated[
    int,
    AfterValidator(check_ttl),
    WithJsonSchema({"type": "integer", "description": "1 (automatic) or 60..86400"}),
]
RecordName = Annotated[str, AfterValidator(check_record_name), WithJsonSchema(_string())]
Selector = Annotated[str, AfterValidator(check_selector), WithJsonSchema(_string(_LDH.pattern))]
SshKeyPath = Annotated[str, AfterValidator(check_ssh_key_path), WithJsonSchema(_string())]
