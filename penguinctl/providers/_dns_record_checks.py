"""Checks every DNS provider makes on a desired ``dns_record`` before any I/O.

Each provider passes its own name canonicaliser and supported types, then adds the
rules that are its own (TTL range, proxying).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any


def record_problems(
    attrs: Mapping[str, Any],
    *,
    canonical: Callable[[str, str, Any], Any],
    types: Collection[str],
    vendor: str,
) -> list[str]:
    """Problems with type, zone membership, punycode, content and MX priority."""
    problems = []
    rtype = str(attrs.get("type", "")).upper()
    zone = canonical(rtype, "zone", attrs.get("zone")) or ""
    name = canonical(rtype, "name", attrs.get("name")) or ""
    if rtype not in types:
        problems.append(f"record type {rtype or '(none)'} is not supported on {vendor} here")
    if not zone or not (name == zone or name.endswith("." + zone)):
        problems.append(f"name {name!r} is not inside zone {zone!r}")
    if not name.isascii():
        problems.append(f"name {name!r} must be in punycode (xn--…)")
    if not isinstance(attrs.get("content"), str) or not attrs.get("content"):
        problems.append("content is required")
    prio = attrs.get("priority")
    if rtype == "MX" and (not isinstance(prio, int) or not 0 <= prio <= 65535):
        problems.append("MX records need a priority between 0 and 65535")
    return problems
