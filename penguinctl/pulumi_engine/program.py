"""The Pulumi program: one tenant's resources, exactly as the built-in engine plans them.

:func:`tenant_resources` is the built-in pipeline (``spec.load`` → ``expand`` → the
workspace's DNS binding); :func:`declare` turns its result into Pulumi resources:

* Cloudflare ``dns_record`` → ``pulumi_cloudflare.DnsRecord`` with the body the
  Cloudflare provider sends (:func:`~.tokens.cloudflare_args`: TTL, ``proxied`` off,
  MX priority, the ``penguinctl:<key>`` ownership comment), through one explicit
  ``pulumi_cloudflare.Provider`` per provider instance (its token a secret);
* everything else → a dynamic resource (:mod:`.dynamic`) wrapping the registry's provider.

References (a server's IPs in SPF, the DKIM public key in its TXT record) become
Outputs of the producing resource; sensitive attributes are ``Output.secret``. The stack
exports one output, ``penguinctl``: per key, what the store records (id, attrs, outputs).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pulumi

from penguinctl.core import graph
from penguinctl.core.plan import mask
from penguinctl.core.resource import Ref, Resource
from penguinctl.pulumi_engine.tokens import OUTPUTS, STACK_OUTPUT, cloudflare_args, is_native_record


def tenant_resources(
    specs: Sequence[str],
    tenant: str,
    ws: Any,
    pools: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Resource]:
    """What the built-in engine plans for ``tenant`` (DNS records bound to the instance's
    type); ``pools`` are the recorded sending-IP assignments to keep."""
    from penguinctl import ops, spec
    from penguinctl.core.expand import expand

    resources = expand(spec.load(list(specs)), tenants=[tenant], pools=pools)
    shim = SimpleNamespace(ws=ws)  # ops._bind reads the workspace only
    return [ops._bind(shim, r) for r in resources]  # type: ignore[arg-type]


@dataclass
class Declared:
    """What :func:`declare` registered: resources by key, their outputs, their store view."""

    resources: dict[str, pulumi.Resource] = field(default_factory=dict)
    outputs: dict[str, pulumi.Output[Any]] = field(default_factory=dict)
    records: dict[str, pulumi.Output[Any]] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: dict[str, pulumi.ProviderResource] = field(default_factory=dict)


TokenSource = Callable[[str], Any]  # instance -> API token (str or Output)


def declare(
    resources: Sequence[Resource],
    *,
    token: TokenSource,
    endpoints: Mapping[str, str] | None = None,
    zone_ids: Mapping[str, str] | None = None,
    workspace: str | None = None,
    imports: Mapping[str, str] | None = None,
) -> Declared:
    """Declare ``resources`` (one tenant's) in dependency order.

    ``imports`` (key → vendor id) adopts existing objects (``engine migrate --to pulumi``).
    """
    from penguinctl.pulumi_engine.dynamic import PenguinProvider, none_paths, resource_class

    by_key = {r.key: r for r in resources}
    order = graph.topo_order({k: r.dependencies() & by_key.keys() for k, r in by_key.items()})
    out = Declared()
    zones: dict[tuple[str, str], Any] = {}
    for key in order:
        res = by_key[key]
        opts = pulumi.ResourceOptions(
            depends_on=[out.resources[d] for d in sorted(res.depends_on) if d in out.resources],
            import_=(imports or {}).get(key),
        )
        shown = mask(res, res.attrs)  # secrets masked exactly as the store records them
        inputs = out.inputs[key] = {k: _input(res, k, v, out) for k, v in shown.items()}
        if is_native_record(res.provider, res.kind):
            provider = _cloudflare_provider(res.instance, token, endpoints or {}, out)
            zone_id = _zone_id(res.attrs["zone"], res.instance, provider, zone_ids or {}, zones)
            resolved = pulumi.Output.from_input(inputs)
            args = resolved.apply(functools.partial(cloudflare_args, key))
            record = _dns_record(
                key,
                args,
                zone_id,
                res,
                shown,
                opts.merge(pulumi.ResourceOptions(provider=provider)),
            )
            out.resources[key] = record
            out.outputs[key] = pulumi.Output.all(record.id, zone_id, args).apply(
                lambda a: {"id": a[0], "zone_id": a[1], "fqdn": a[2]["name"]}
            )
            rid: Any = record.id
        else:
            cls = resource_class(res.provider, res.kind)
            dyn = PenguinProvider(
                res.provider,
                res.kind,
                key,
                res.instance,
                res.tenant,
                tuple(res.attrs),
                workspace,
                none_paths(shown),
            )
            props = {**inputs, OUTPUTS: None}
            resource = cls(dyn, key, props, opts)
            out.resources[key] = resource
            out.outputs[key] = resource.outputs  # type: ignore[attr-defined]
            rid = resource.id
        out.records[key] = pulumi.Output.all(
            rid, pulumi.Output.from_input(inputs), out.outputs[key]
        ).apply(functools.partial(_record, res))
    return out


def _record(res: Resource, values: list[Any]) -> dict[str, Any]:
    """One entry of the ``penguinctl`` stack output: what the store records for ``res``."""
    rid, attrs, outputs = values
    return {
        "id": rid,
        "provider": res.provider,
        "instance": res.instance,
        "tenant": res.tenant,
        "attrs": attrs,
        "outputs": outputs or {},
    }


def _input(res: Resource, name: str, value: Any, out: Declared) -> Any:
    value = _refs(value, out)
    return pulumi.Output.secret(value) if name in res.sensitive else value


def _refs(value: Any, out: Declared) -> Any:
    if isinstance(value, Ref):
        ref = value
        return out.outputs[ref.key].apply(lambda o: ref.render((o or {}).get(ref.output)))
    if isinstance(value, Mapping):
        return {k: _refs(v, out) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_refs(v, out) for v in value]
    return value


def _cloudflare_provider(
    instance: str, token: TokenSource, endpoints: Mapping[str, str], out: Declared
) -> pulumi.ProviderResource:
    provider = out.providers.get(instance)
    if provider is None:
        import pulumi_cloudflare as cloudflare

        kwargs: dict[str, Any] = {"api_token": pulumi.Output.secret(token(instance))}
        if endpoints.get("cloudflare"):
            kwargs["base_url"] = endpoints["cloudflare"]
        provider = cloudflare.Provider(f"cloudflare-{instance}", **kwargs)
        out.providers[instance] = provider
    return provider


def _zone_id(
    zone: str,
    instance: str,
    provider: pulumi.ProviderResource,
    zone_ids: Mapping[str, str],
    cache: dict[tuple[str, str], Any],
) -> Any:
    if zone in zone_ids:
        return zone_ids[zone]
    if (instance, zone) not in cache:
        import pulumi_cloudflare as cloudflare

        found = cloudflare.get_zone_output(
            filter=cloudflare.GetZoneFilterArgs(match="all", name=zone),
            opts=pulumi.InvokeOutputOptions(provider=provider),
        )
        cache[(instance, zone)] = found.id
    return cache[(instance, zone)]


def _dns_record(
    key: str,
    args: pulumi.Output[dict[str, Any]],
    zone_id: Any,
    res: Resource,
    shown: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> pulumi.CustomResource:
    import pulumi_cloudflare as cloudflare

    if any(True for _ in res.refs()):  # only the content ever holds a reference
        static = cloudflare_args(key, {**shown, "content": "-"})
        content: Any = args.apply(lambda a: a["content"])
    else:
        static = cloudflare_args(key, shown)
        content = static["content"]

    return cloudflare.DnsRecord(
        key,
        zone_id=zone_id,
        name=static["name"],
        type=static["type"],
        ttl=static["ttl"],
        content=content,
        proxied=static["proxied"],
        priority=static.get("priority"),
        comment=static["comment"],
        opts=opts,
    )


def export(declared: Declared) -> None:
    """The one stack output the orchestration maps back into the store."""
    pulumi.export(STACK_OUTPUT, declared.records)
