"""DNS record rules of the Cloudflare emulator: validation, name clashes, list filters, rendering.

Pure functions over plain dicts (the emulator's JSON state), so the batch endpoint can
run them against a copy of a zone and commit all or nothing. Facts come from apis.md §3:
record fields, ``ttl`` 1 (automatic) or 60-86400, ``proxied`` only for A/AAAA/CNAME,
A/AAAA never beside a CNAME, 81057/81058 duplicates, the dot-nested list filters.

Error codes apis.md does not quote are the ones public clients (certbot, lexicon,
octoDNS) match on: 1004 "DNS Validation Error", 9004 (cannot be proxied), 9021 (bad
TTL), 81053 (a record in the way of a CNAME), 81044 (unknown record). 🟡
"""

from __future__ import annotations

import copy
import ipaddress
import re
import uuid
from collections.abc import Mapping
from typing import Any

# Types the emulator models; the rest of the documented list needs ``data`` and is
# refused as unsupported (the emulator records that as unexpected, not as user error).
SIMPLE_TYPES = frozenset({"A", "AAAA", "CNAME", "MX", "TXT", "NS", "PTR"})
DOCUMENTED_TYPES = SIMPLE_TYPES | {
    "CAA", "CERT", "DNSKEY", "DS", "HTTPS", "LOC", "NAPTR", "OPENPGPKEY",
    "SMIMEA", "SRV", "SSHFP", "SVCB", "TLSA", "URI",
}  # fmt: skip
PROXIABLE = frozenset({"A", "AAAA", "CNAME"})
AUTO_TTL_SECONDS = 300  # what "automatic" (ttl 1) serves
WRITABLE = ("type", "name", "content", "ttl", "proxied", "priority", "comment", "tags")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9_*]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_-]+$")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


class ApiError(Exception):
    """A documented error reply: HTTP status, envelope code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Unexpected(ApiError):
    """A request penguinctl's clients should never send: 400, and the emulator records it."""

    def __init__(self, message: str) -> None:
        super().__init__(400, 1004, message)


def invalid(message: str, code: int = 1004) -> ApiError:
    return ApiError(400, code, message)


def strict(condition: bool, what: str) -> None:
    if not condition:
        raise Unexpected(what)


def build(
    zone: Mapping[str, Any],
    body: Any,
    base: dict[str, Any] | None,
    *,
    full: bool,
    max_comment: int,
    now: str,
    allow_id: bool = False,
) -> dict[str, Any]:
    """The record ``body`` makes (merged over ``base`` for PATCH; PUT replaces). Not stored."""
    strict(isinstance(body, dict), "record body must be an object")
    allowed = set(WRITABLE) | {"settings"} | ({"id"} if allow_id else set())
    unknown = sorted(set(body) - allowed)
    strict(not unknown, f"unknown record fields {unknown}")
    if full:
        missing = [f for f in ("type", "name", "content") if f not in body]
        if missing:
            raise invalid(f"Missing required fields: {', '.join(missing)}")
    record = copy.deepcopy(base) if base is not None and not full else {}
    if base is not None:
        record.update(id=base["id"], created_on=base["created_on"])
    else:
        record.update(id=uuid.uuid4().hex, created_on=now)
    for name, default in (("ttl", 1), ("proxied", False), ("comment", None)):
        record.setdefault(name, default)
    record.setdefault("tags", [])
    record.setdefault("settings", {})
    record.update({k: v for k, v in body.items() if k != "id"})
    rtype = str(record.get("type", "")).upper()
    if rtype not in SIMPLE_TYPES:
        # A documented type the emulator does not model is a gap to record, not user error.
        strict(rtype not in DOCUMENTED_TYPES, f"record type {rtype} not emulated")
        raise invalid(f"Invalid DNS record type {rtype!r}")
    record["type"] = rtype
    record["name"] = fqdn(str(record.get("name", "@")), zone["name"])
    if rtype != "MX":
        record["priority"] = None
    validate(record, max_comment)
    record.update(
        zone_id=zone["id"],
        zone_name=zone["name"],
        proxiable=rtype in PROXIABLE,
        meta={},
        modified_on=now,
    )
    return record


def fqdn(name: str, zone: str) -> str:
    """Cloudflare's name rule: ``@`` is the apex, a relative name gets the zone appended."""
    value = name.strip().rstrip(".").lower()
    if value in ("", "@"):
        return zone
    if value == zone or value.endswith("." + zone):
        return value
    return f"{value}.{zone}"


def validate(record: Mapping[str, Any], max_comment: int) -> None:
    """Raise :class:`ApiError` when ``record`` (already merged) is not acceptable."""
    rtype, content, name = record["type"], record["content"], record["name"]
    if rtype not in SIMPLE_TYPES:
        raise invalid(f"Unsupported record type {rtype!r}")
    if not isinstance(content, str) or not content:
        raise invalid("Content for the record is required.")
    if not _HOST.match(name):
        raise invalid("Invalid record name.")
    ttl = record["ttl"]
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not (ttl == 1 or 60 <= ttl <= 86400):
        raise invalid(
            "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.", 9021
        )
    if record["proxied"] and rtype not in PROXIABLE:
        raise invalid("This record type cannot be proxied.", 9004)
    if not isinstance(record["proxied"], bool):
        raise invalid("proxied must be a boolean")
    try:
        if rtype == "A":
            ipaddress.IPv4Address(content)
        elif rtype == "AAAA":
            ipaddress.IPv6Address(content)
    except ValueError:
        raise invalid(
            f"Content for {rtype} record is invalid. Must be a valid IP address."
        ) from None
    null_mx = rtype == "MX" and content == "."  # RFC 7505, which Cloudflare accepts
    if (
        rtype in ("CNAME", "MX", "NS", "PTR")
        and not null_mx
        and not _HOST.match(content.rstrip(".").lower())
    ):
        raise invalid(f"Content for {rtype} record is invalid. Must be a valid hostname.")
    if rtype == "MX":
        prio = record.get("priority")
        if not isinstance(prio, int) or isinstance(prio, bool) or not 0 <= prio <= 65535:
            raise invalid("MX records require a priority between 0 and 65535.")
    comment = record.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > max_comment):
        raise invalid(f"comment must be a string of at most {max_comment} characters")
    tags = record.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and ":" in t for t in tags):
        raise invalid("tags must be a list of 'name:value' strings")


def check_clash(record: Mapping[str, Any], others: list[Mapping[str, Any]]) -> None:
    """Duplicates and CNAME clashes against the other records of the zone."""
    same_name = [o for o in others if o["name"] == record["name"] and o["id"] != record["id"]]
    for other in same_name:
        if other["type"] == "CNAME" and record["type"] != "CNAME":
            raise invalid("A CNAME record with that host already exists.", 81054)
        if record["type"] == "CNAME" and other["type"] != "CNAME":
            raise invalid("An A, AAAA, or CNAME record with that host already exists.", 81053)
        if other["type"] != record["type"]:
            continue
        if other["content"] == record["content"] and other.get("priority") == record.get(
            "priority"
        ):
            raise invalid("An identical record already exists.", 81058)
        if record["type"] == "CNAME":
            raise invalid("The record already exists.", 81057)


def _text_match(value: str | None, op: str, wanted: str) -> bool:
    if value is None:
        return False
    value, wanted = value.lower(), wanted.lower()
    if op == "exact":
        return value == wanted
    if op == "contains":
        return wanted in value
    if op == "startswith":
        return value.startswith(wanted)
    return value.endswith(wanted)  # endswith


TEXT_FILTERS = {
    f"{field}.{op}"
    for field in ("name", "content", "comment")
    for op in ("exact", "contains", "startswith", "endswith")
}
FLAG_FILTERS = {"comment.present", "comment.absent", "tag.present", "tag.absent"}
OTHER_PARAMS = {"type", "tag.exact", "tag_match", "match", "proxied", "order", "direction"}
PAGE_PARAMS = {"page", "per_page"}
LIST_PARAMS = TEXT_FILTERS | FLAG_FILTERS | OTHER_PARAMS | PAGE_PARAMS


TAG_FILTERS = {"tag.exact", "tag.present", "tag.absent"}
PLAIN_FILTERS = (TEXT_FILTERS | FLAG_FILTERS | {"type", "proxied"}) - TAG_FILTERS


def _test(record: Mapping[str, Any], param: str, wanted: str) -> bool:
    """One documented filter against one record."""
    if param in TEXT_FILTERS:
        field, op = param.split(".")
        return _text_match(record.get(field), op, wanted)
    tags = [str(t) for t in record.get("tags") or []]
    checks = {
        "type": lambda: record["type"] == wanted.upper(),
        "proxied": lambda: record["proxied"] == (wanted.lower() == "true"),
        "comment.present": lambda: bool(record.get("comment")),
        "comment.absent": lambda: not record.get("comment"),
        "tag.exact": lambda: wanted in tags,
        "tag.present": lambda: any(t.split(":")[0] == wanted for t in tags),
        "tag.absent": lambda: all(t.split(":")[0] != wanted for t in tags),
    }
    return bool(checks[param]())


def select(records: list[dict[str, Any]], query: Mapping[str, str]) -> list[dict[str, Any]]:
    """Apply the documented list filters (``match``/``tag_match`` any|all) and ordering."""
    plain = [(p, w) for p, w in query.items() if p in PLAIN_FILTERS]
    tagged = [(p, w) for p, w in query.items() if p in TAG_FILTERS]
    combine = any if query.get("match") == "any" else all
    tag_combine = any if query.get("tag_match") == "any" else all

    def keep(record: dict[str, Any]) -> bool:
        results = [_test(record, p, w) for p, w in plain]
        if tagged:
            results.append(tag_combine(_test(record, p, w) for p, w in tagged))
        return not results or combine(results)

    found = [r for r in records if keep(r)]
    order = query.get("order")
    if order:
        found.sort(key=lambda r: (r.get(order) is None, str(r.get(order)).lower()))
    if query.get("direction") == "desc":
        found.reverse()
    return found


def _quote(piece: bytes) -> str:
    text = piece.decode("utf-8", "backslashreplace")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def txt_presentation(content: str) -> str:
    """TXT content as a zone file shows it: quoted strings of at most 255 bytes each.

    Content already written as quoted strings is split further where a string is too long.
    """
    text = content.strip()
    values = [m.group(1) for m in _QUOTED.finditer(text)] if text.startswith('"') else [text]
    pieces: list[str] = []
    for value in values:
        raw = value.encode() if not text.startswith('"') else _unescape(value)
        chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
        pieces.extend(_quote(chunk) for chunk in chunks)
    return " ".join(pieces)


def _unescape(value: str) -> bytes:
    return re.sub(
        rb"\\(\d{3}|.)",
        lambda m: bytes([int(m.group(1))]) if len(m.group(1)) == 3 else m.group(1),
        value.encode(),
    )


def presentation(record: Mapping[str, Any]) -> str:
    """Record content in presentation format for the sandbox DNS server."""
    rtype, content = record["type"], record["content"]
    if rtype == "TXT":
        return txt_presentation(content)
    if rtype == "MX":
        return f"{record['priority']} {content.rstrip('.')}." if content != "." else "0 ."
    if rtype in ("CNAME", "NS", "PTR"):
        return content.rstrip(".") + "."
    return content
