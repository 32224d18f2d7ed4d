"""How penguinctl's record attributes map to PowerDNS RRsets, and back. Pure.

Used by :mod:`penguinctl.providers.powerdns` only.

PowerDNS stores records by RRset (name + type) and keeps *comments per RRset*, not per
value. Ownership is therefore one comment per owned value:
``penguinctl:<key> sha=<16 hex>``, where the hash identifies the value
(:func:`value_hash`) inside the RRset. Values of the RRset that no penguinctl comment
claims are *foreign*: kept on every write (PowerDNS replaces whole RRsets), and a
conflict when they are in the way of ours (a second SPF, another MX…).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from penguinctl.providers._cloudflare_records import canonical, in_the_way, txt_family

__all__ = ["canonical", "in_the_way", "txt_family"]

MARKER = "penguinctl:"
ACCOUNT = "penguinctl"
AUTO_TTL = 300  # Cloudflare's "1 = automatic" has no PowerDNS meaning: 300 s
TYPES = frozenset({"A", "AAAA", "CNAME", "MX", "TXT", "NS", "PTR", "CAA", "SRV"})
HOST_TYPES = frozenset({"CNAME", "NS", "PTR"})
CHUNK = 255  # RFC 1035 §3.3: a character-string holds at most 255 bytes
_CHUNK_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')
_COMMENT_RE = re.compile(r"^penguinctl:(\S+) sha=([0-9a-f]{16})$")


def fqdn(name: str) -> str:
    return str(name).strip().rstrip(".").lower() + "."


def ttl_of(attrs: Mapping[str, Any]) -> int:
    ttl = int(attrs.get("ttl") or 1)
    return AUTO_TTL if ttl == 1 else ttl


def txt_chunks(text: str) -> list[bytes]:
    """Split ``text`` into <= 255-byte strings, never inside a UTF-8 sequence."""
    data = text.encode()
    chunks: list[bytes] = []
    while data:
        cut = min(CHUNK, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:
            cut -= 1  # do not split a multi-byte character
        chunks.append(data[:cut])
        data = data[cut:]
    return chunks or [b""]


def txt_render(text: str) -> str:
    """Presentation form PowerDNS wants: quoted 255-byte strings, ``"`` and ``\\`` escaped."""
    parts = []
    for chunk in txt_chunks(text):
        s = chunk.decode()
        parts.append('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(parts)


def txt_parse(content: str) -> str:
    """The joined text of PowerDNS's presentation form (``"a" "b"`` -> ``ab``)."""
    chunks = _CHUNK_RE.findall(content)
    if not chunks:
        return content

    def unescape(s: str) -> str:
        out = re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1))), s)
        return re.sub(r"\\(.)", r"\1", out)

    raw = "".join(unescape(c) for c in chunks)
    try:  # \DDD escapes are bytes: re-decode as UTF-8 when they form one
        return raw.encode("latin-1").decode()
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


def render(attrs: Mapping[str, Any]) -> str:
    """The PowerDNS ``content`` of one value of our record."""
    rtype = str(attrs["type"]).upper()
    content = str(attrs["content"])
    if rtype == "TXT":
        return txt_render(canonical("TXT", "content", content))
    if rtype == "MX":
        return f"{int(attrs['priority'])} {content.strip().rstrip('.').lower()}."
    if rtype in HOST_TYPES:
        return content.strip().rstrip(".").lower() + "."
    if rtype == "AAAA":
        return str(canonical("AAAA", "content", content))
    return content.strip()


@dataclass(frozen=True)
class Value:
    """One value of an RRset in our terms: joined TXT, bare host names, MX priority apart."""

    content: str
    priority: int | None = None

    @property
    def hash(self) -> str:
        return value_hash(self.content, self.priority)


def parse(rtype: str, content: str) -> Value:
    rtype = rtype.upper()
    if rtype == "TXT":
        return Value(txt_parse(content))
    if rtype == "MX":
        prio, _, host = content.strip().partition(" ")
        return Value(host.strip().rstrip(".").lower() or ".", int(prio))  # "." = null MX
    if rtype in HOST_TYPES:
        return Value(content.strip().rstrip(".").lower())
    return Value(str(canonical(rtype, "content", content)))


def wanted(attrs: Mapping[str, Any]) -> Value:
    rtype = str(attrs["type"]).upper()
    return parse(rtype, render(attrs))


def value_hash(content: str, priority: int | None) -> str:
    return hashlib.sha256(f"{priority}|{content}".encode()).hexdigest()[:16]


def comment_for(key: str, value: Value) -> dict[str, Any]:
    return {"content": f"{MARKER}{key} sha={value.hash}", "account": ACCOUNT}


def parse_comment(comment: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(key, value hash)`` of a penguinctl comment, else None."""
    match = _COMMENT_RE.match(str(comment.get("content") or ""))
    return (match.group(1), match.group(2)) if match else None


def record_id(zone: str, name: str, rtype: str, key: str) -> str:
    """Our vendor id: the RRset and the key whose comment claims the value."""
    return f"{fqdn(zone)}|{fqdn(name)}|{rtype.upper()}|{key}"


def split_id(record_id_: str) -> tuple[str, str, str, str]:
    zone, name, rtype, key = record_id_.split("|", 3)
    return zone, name, rtype, key


def observed_attrs(zone: str, name: str, rtype: str, ttl: int, value: Value) -> dict[str, Any]:
    return {
        "zone": zone.rstrip("."),
        "name": name.rstrip("."),
        "type": rtype,
        "content": value.content,
        "ttl": ttl,
        "priority": value.priority if rtype == "MX" else None,
        "proxied": False,
    }


def foreign_record(name: str, rtype: str, value: Value) -> dict[str, Any]:
    """A foreign value in the shape :func:`in_the_way` expects."""
    return {"type": rtype, "name": name.rstrip("."), "content": value.content, "id": "-"}
