"""Sending-IP pools: a local resource whose outputs tell each domain its sending IP.

Nothing remote exists: the pool is bookkeeping that makes the assignment (chosen at
expansion, :mod:`penguinctl.spec.pools`) part of the state, so that

* a changed assignment is an update in the plan, like any other change;
* the next expansion keeps recorded assignments (stable when domains are added);
* SPF records refer to ``ips:<domain>``, so they follow the assignment and the
  members' addresses (a member's IP is known only once its server exists).

Attributes (references resolved by the engine): ``name``, ``members`` (server ->
its sending IPs), ``assignment`` (domain -> server). Outputs: ``members``, ``assignment``,
``load`` (server -> number of domains), and ``ips:<domain>`` (the sending
IPs of the domain's server, IPv6 included when the server has one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from penguinctl.core.errors import ProviderError
from penguinctl.core.provider import Created, Observed, Provider, ProviderContext


def pool_outputs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The outputs of a pool whose references are resolved."""
    members = {str(k): v for k, v in dict(attrs.get("members") or {}).items()}
    assignment = {str(k): str(v) for k, v in dict(attrs.get("assignment") or {}).items()}
    out: dict[str, Any] = {
        "members": members,
        "assignment": assignment,
        "load": {m: sum(1 for s in assignment.values() if s == m) for m in members},
    }
    for domain, server in assignment.items():
        ips = members.get(server)
        if not ips:
            raise ProviderError(
                f"pool {attrs.get('name')}: {domain} is assigned to {server}, "
                "which has no sending IP recorded",
                hint="apply the server first (penguinctl status shows its address)",
            )
        out[f"ips:{domain}"] = list(ips) if isinstance(ips, list) else [ips]
    return out


class IpPoolProvider(Provider):
    """The ``ip_pool`` kind of the ``local`` provider type."""

    type = "local"
    kind = "ip_pool"
    outputs_follow_attrs = True

    def planned_outputs(self, attrs: Mapping[str, Any]) -> Mapping[str, Any]:
        return pool_outputs(attrs)

    def create(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Created:
        return Created(id=key, outputs=pool_outputs(attrs))

    def read(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> Observed:
        return Observed(id=id, attrs=dict(attrs), outputs=pool_outputs(attrs))

    def update(
        self, ctx: ProviderContext, id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        return pool_outputs(new)

    def delete(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> None:
        return None  # nothing exists outside the store

    def find(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed | None:
        return None  # never created elsewhere: a crash before recording just re-creates
