"""How penguinctl's record attributes map to Cloudflare record objects, and back. Pure.

Used by :mod:`penguinctl.providers.cloudflare` only: the ownership marker, TXT joining,
the canonical (comparable) form of each attribute, request bodies, the
``Observed`` view of a live record, and the rule for which foreign record is in the way.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from penguinctl.core.errors import Conflict
from penguinctl.core.provider import Observed

MARKER = "penguinctl:"
MAX_COMMENT = 100  # the Free plan's comment limit (apis.md §6 open question 4)
TYPES = frozenset({"A", "AAAA", "CNAME", "MX", "TXT", "NS", "PTR"})
HOST_TYPES = frozenset({"CNAME", "MX", "NS", "PTR"})
PROXIABLE = frozenset({"A", "AAAA", "CNAME"})
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ALL_QUOTED = re.compile(r'^\s*(?:"(?:[^"\\]|\\.)*"\s*)+$')


def marker(key: str) -> str:
    """The ownership comment for ``key``; hashed when it would exceed the comment limit."""
    text = MARKER + key
    if len(text) <= MAX_COMMENT:
        return text
    return MARKER + "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:40]


def txt_join(content: str) -> str:
    """TXT content as one string: quoted and split presentation form is joined back."""
    if not _ALL_QUOTED.match(content):
        return content
    return "".join(re.sub(r"\\(.)", r"\1", m.group(1)) for m in _QUOTED.finditer(content.strip()))


def canonical(rtype: str, field_name: str, value: Any) -> Any:
    """The comparable form of one attribute of a record of type ``rtype``."""
    if value is None:
        return False if field_name == "proxied" else None
    if field_name in ("zone", "name"):
        return str(value).strip().rstrip(".").lower()
    if field_name == "type":
        return str(value).upper()
    if field_name in ("ttl", "priority"):
        if field_name == "priority" and rtype not in ("", "MX"):
            return None
        return int(value)
    if field_name == "proxied":
        return bool(value)
    if field_name == "content":
        text = str(value)
        if rtype == "TXT" or (not rtype and text.startswith('"')):
            return txt_join(text)
        if rtype in HOST_TYPES:
            return text.strip().rstrip(".").lower() or "."  # "." is the null MX (RFC 7505)
        if rtype == "AAAA":
            try:
                return str(ipaddress.IPv6Address(text))
            except ValueError:
                return text
    return value


def observed(record: Mapping[str, Any], zone: Mapping[str, Any]) -> Observed:
    rtype = record["type"]
    attrs = {
        "zone": zone["name"],
        "name": canonical(rtype, "name", record["name"]),
        "type": rtype,
        "content": canonical(rtype, "content", record["content"]),
        "ttl": int(record["ttl"]),
        "priority": record.get("priority") if rtype == "MX" else None,
        "proxied": bool(record.get("proxied")),
    }
    return Observed(record["id"], attrs, outputs(record, zone))


def outputs(record: Mapping[str, Any], zone: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": record["id"], "zone_id": zone["id"], "fqdn": record["name"].rstrip(".").lower()}


def request_body(attrs: Mapping[str, Any], comment: str | None = None) -> dict[str, Any]:
    rtype = str(attrs["type"]).upper()
    body: dict[str, Any] = {
        "type": rtype,
        "name": canonical(rtype, "name", attrs["name"]),
        "content": canonical(rtype, "content", attrs["content"]),
        "ttl": int(attrs.get("ttl") or 1),
        "proxied": bool(attrs.get("proxied")),
    }
    if rtype == "MX":
        body["priority"] = int(attrs["priority"])
    if comment is not None:
        body["comment"] = comment
    return body


def patch_body(attrs: Mapping[str, Any], changed: Iterable[str]) -> dict[str, Any]:
    """A PATCH body with the changed fields (type and name always, as the v5 SDK sends)."""
    wanted = {*changed, "type", "name"}
    return {k: v for k, v in request_body(attrs).items() if k in wanted}


def txt_family(content: str) -> str | None:
    """``v=spf1``, ``v=dmarc1``…: the TXT tag that allows one record per name."""
    head = txt_join(content).strip().split(";")[0].split(" ")[0].lower()
    return head if head.startswith("v=") else None


def in_the_way(attrs: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """Whether a foreign record ``other`` at the same name blocks our record."""
    mine, theirs = str(attrs["type"]).upper(), other["type"]
    if "CNAME" in (mine, theirs):
        return True  # a CNAME shares its name with nothing, not even another CNAME
    if mine != theirs:
        return False
    if mine == "TXT":
        ours = canonical("TXT", "content", attrs["content"])
        family = txt_family(ours)
        return txt_join(other["content"]) == ours or (
            family is not None and txt_family(other["content"]) == family
        )
    if mine in ("MX", "A", "AAAA"):
        return True
    return canonical(mine, "content", other["content"]) == canonical(
        mine, "content", attrs["content"]
    )


def is_ours(record: Mapping[str, Any]) -> bool:
    return str(record.get("comment") or "").startswith(MARKER)


def conflict(record: Mapping[str, Any], key: str) -> Conflict:
    content = txt_join(record["content"])
    shown = content if len(content) <= 60 else content[:57] + "..."
    return Conflict(
        f"a {record['type']} record {record['name']} ({shown!r}, id {record['id']}) "
        f"that penguinctl did not create is in the way of {key}",
        hint="delete it in Cloudflare, or take it over with --adopt (penguinctl then manages it)",
    )
