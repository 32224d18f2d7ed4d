"""Pure mapping between penguinctl resources and Pulumi declarations (no pulumi import).

Shared by the program and by the parity tests' expectations, so the one definition of
"what the Cloudflare provider writes" stays ``_cloudflare_records.request_body``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CLOUDFLARE_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
DYNAMIC_PREFIX = "pulumi-python:dynamic/"
OUTPUTS = "outputs"  # the one output-only property of every dynamic resource
STACK_OUTPUT = "penguinctl"  # the stack output the orchestration maps back into the store


def camel(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("_"))


def dynamic_module(provider_type: str) -> str:
    return provider_type


def dynamic_token(provider_type: str, kind: str) -> str:
    """``pulumi-python:dynamic/hostwinds:Server`` for a Hostwinds server."""
    return f"{DYNAMIC_PREFIX}{dynamic_module(provider_type)}:{camel(kind)}"


def is_native_record(provider_type: str, kind: str) -> bool:
    """Cloudflare records are declared with pulumi-cloudflare; everything else is dynamic."""
    return provider_type == "cloudflare" and kind == "dns_record"


def token_for(provider_type: str, kind: str) -> str:
    if is_native_record(provider_type, kind):
        return CLOUDFLARE_RECORD
    return dynamic_token(provider_type, kind)


def stack_name(tenant: str) -> str:
    return f"tenant-{tenant}"


def cloudflare_args(key: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The DnsRecord arguments (snake_case) for resolved record ``attrs``, zone_id excluded.

    Exactly the body :class:`~penguinctl.providers.cloudflare.CloudflareRecordProvider`
    sends: canonical name and content, TTL, ``proxied`` (False for mail records), the
    priority for MX only, and the ownership comment ``penguinctl:<key>``.
    """
    from penguinctl.providers._cloudflare_records import marker, request_body

    body = request_body(attrs, marker(key))
    body["ttl"] = float(body["ttl"])  # the schema's number type (apis.md §4.1)
    if "priority" in body:
        body["priority"] = float(body["priority"])
    return body


def cloudflare_inputs(key: str, attrs: Mapping[str, Any], zone_id: str) -> dict[str, Any]:
    """The same arguments as the engine receives them (camelCase property names)."""
    body = cloudflare_args(key, attrs)
    out = {"zoneId": zone_id}
    for k, v in body.items():
        out[_camel_lower(k)] = v
    return out


def _camel_lower(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)
