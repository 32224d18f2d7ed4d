"""Parity: under Pulumi's mocks the program declares exactly what the built-in engine plans.

For every tenant of the example specs and of a generated 50-tenant spec, the registered
resources (type token, name, inputs) are compared with ``core.plan.diff``'s changes on an
empty store; references are rendered with the same fake outputs the mocks return.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest

from penguinctl import ops, spec
from penguinctl.core import expand
from penguinctl.core import plan as plan_mod
from penguinctl.core.resource import Ref
from penguinctl.pulumi_engine import program
from penguinctl.pulumi_engine.tokens import (
    CLOUDFLARE_RECORD,
    cloudflare_inputs,
    is_native_record,
    stack_name,
    token_for,
)
from tests.pulumi.conftest import REPO
from tests.pulumi.mockworld import fake_outputs, run_program, zone_id

_POOLS: dict[str, dict[str, Any]] = {}  # ip_pool key -> attrs, set by _remember_pools


def _remember_pools(resources: Any) -> None:
    """Pools' outputs follow their attributes: keep those so references to them render."""
    _POOLS.update({r.key: _render(r.attrs) for r in resources if r.kind == "ip_pool"})


def _render(value: Any) -> Any:
    if isinstance(value, Ref):
        kind = value.key.split("/", 1)[0]
        return value.render(fake_outputs(kind, value.key, _POOLS.get(value.key))[value.output])
    if isinstance(value, Mapping):
        return {k: _render(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_render(v) for v in value]
    return value


def _drop_none(value: Any) -> Any:
    """Pulumi drops None-valued properties (nested too); the dynamic provider restores them."""
    if isinstance(value, Mapping):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


def expected_by_tenant(specs: list[str], ws: Any) -> dict[str, dict[str, tuple[str, dict]]]:
    """The built-in plan on an empty store, as {tenant: {key: (type token, inputs)}}."""
    from types import SimpleNamespace

    from penguinctl import ops

    resources = [ops._bind(SimpleNamespace(ws=ws), r) for r in expand.expand(spec.load(specs))]
    _remember_pools(resources)
    the_plan = plan_mod.diff(resources, {}, workspace=str(ws.root))
    out: dict[str, dict[str, tuple[str, dict]]] = {}
    for c in the_plan.changes:
        assert c.action == "create"
        after = {f.name: _render(f.after) for f in c.fields}
        if token_for(c.provider, c.kind) == CLOUDFLARE_RECORD:
            after = cloudflare_inputs(c.key, after, zone_id(after["zone"]))
        else:
            after = _drop_none(after)
        out.setdefault(c.tenant, {})[c.key] = (token_for(c.provider, c.kind), after)
    return out


def provider_view(specs: list[str], ws: Any) -> dict[str, dict]:
    """What the built-in engine hands each provider (masked, references rendered)."""
    resources = [program.tenant_resources(specs, t, ws) for t in spec.load(specs).tenants]
    return {r.key: _render(plan_mod.mask(r, r.attrs)) for rs in resources for r in rs}


def declared_by_tenant(specs: list[str], ws: Any, tenants: list[str]) -> dict[str, dict]:
    view = provider_view(specs, ws)
    out = {}
    for tenant in tenants:
        resources = program.tenant_resources(specs, tenant, ws)
        mocks = run_program(
            lambda r=resources: program.declare(r, token=lambda _i: "sandbox-token"),
            stack=stack_name(tenant),
        )
        out[tenant] = {n: (r.typ, r.inputs) for n, r in mocks.resources().items()}
        for name, reg in mocks.resources().items():
            if reg.dynamic is not None:  # the unpickled provider gives penguinctl's provider
                assert reg.dynamic._attrs(reg.inputs) == view[name], name  # exactly its attrs
                assert reg.dynamic.key == name and reg.dynamic.tenant == tenant
                assert all(
                    isinstance(v, (str, tuple, type(None))) for v in vars(reg.dynamic).values()
                ), vars(reg.dynamic)  # strings only: no secret, client or socket pickled
    return out


def _assert_parity(specs: list[str], ws: Any) -> int:
    expected = expected_by_tenant(specs, ws)
    declared = declared_by_tenant(specs, ws, sorted(expected))
    for tenant in expected:
        want, got = expected[tenant], declared[tenant]
        assert sorted(got) == sorted(want), f"{tenant}: resource names differ"
        for key in want:
            assert got[key] == want[key], f"{tenant} {key}:\n got  {got[key]}\n want {want[key]}"
    return sum(len(v) for v in expected.values())


def test_examples_parity(sandbox_ws: Any) -> None:
    specs = [str(REPO / "examples")]
    n = _assert_parity(specs, sandbox_ws)
    assert n == len(expand.expand(spec.load(specs)))  # every resource, none twice


@pytest.mark.slow
def test_fifty_tenants_parity(sandbox_ws: Any, fleet_specs: Path) -> None:
    n = _assert_parity([str(fleet_specs)], sandbox_ws)
    assert n == len(expand.expand(spec.load([str(fleet_specs)]))) > 50 * 20


def test_cloudflare_record_matches_the_provider_body(sandbox_ws: Any) -> None:
    """One record spelled out literally: the mapping itself, not only its self-consistency."""
    resources = program.tenant_resources([str(REPO / "examples")], "acme", sandbox_ws)
    mocks = run_program(
        lambda: program.declare(resources, token=lambda _i: "sandbox-token"), stack="tenant-acme"
    )
    mx = mocks.resources()["dns_record/acme-outbound.example/MX/@"]
    assert mx.typ == "cloudflare:index/dnsRecord:DnsRecord"
    assert mx.inputs == {
        "zoneId": "zone-acme-outbound.example",
        "name": "acme-outbound.example",
        "type": "MX",
        "content": "mail.acme-outbound.example",
        "ttl": 300.0,
        "priority": 10.0,
        "proxied": False,
        "comment": "penguinctl:dns_record/acme-outbound.example/MX/@",
    }
    spf = mocks.resources()["dns_record/acme-outbound.example/TXT/@/spf"]
    server_ip = fake_outputs("server", "server/acme-mx1")["ipv4"]
    assert spf.inputs["content"].startswith(f"v=spf1 ip4:{server_ip}")
    providers = [r for r in mocks.registrations if r.typ == "pulumi:providers:cloudflare"]
    assert [p.name for p in providers] == ["cloudflare-default"]
    for r in mocks.registrations:
        if r.typ.startswith("cloudflare:"):
            assert r.provider and "cloudflare-default" in r.provider


def test_secrets_are_secret_outputs(sandbox_ws: Any) -> None:
    resources = program.tenant_resources([str(REPO / "examples")], "acme", sandbox_ws)
    sensitive = {r.key: sorted(r.sensitive) for r in resources if r.sensitive}
    assert sensitive, "the examples have generated secrets"
    seen: dict[str, bool] = {}

    def check(declared: program.Declared) -> Any:
        async def flags() -> None:
            for key, names in sensitive.items():
                for name in names:
                    seen[f"{key}.{name}"] = await declared.inputs[key][name].is_secret()
            for inst, provider in declared.providers.items():
                seen[f"provider {inst}"] = bool(provider)

        return pulumi.Output.from_input(flags())

    mocks = run_program(
        lambda: program.declare(resources, token=lambda _i: "tok-SECRET-123"),
        stack="tenant-acme",
        check=check,
    )
    assert seen and all(seen.values()), seen
    for r in mocks.registrations:  # the token reaches only the provider resource
        if not r.typ.startswith("pulumi:providers:"):
            assert "tok-SECRET-123" not in repr(r.inputs)


def test_powerdns_workspace_parity(sandbox_ws: Any) -> None:
    """With a PowerDNS instance the records are bound to it: dynamic resources, same parity."""
    from penguinctl.workspace import ProviderInstance

    sandbox_ws.providers = {
        **{k: v for k, v in sandbox_ws.providers.items() if k != "cloudflare"},
        "pdns": ProviderInstance("pdns", "powerdns", {"apiKey": "env:PDNS_KEY"}),
    }
    specs = [str(REPO / "examples")]
    assert _assert_parity(specs, sandbox_ws) == len(expand.expand(spec.load(specs)))
    resources = program.tenant_resources(specs, "globex", sandbox_ws)
    mocks = run_program(
        lambda: program.declare(resources, token=lambda _i: "unused"), stack="tenant-globex"
    )
    types = {r.typ for r in mocks.registrations}
    assert "pulumi-python:dynamic/powerdns:DnsRecord" in types
    assert not any(t.startswith(("cloudflare:", "pulumi:providers:cloudflare")) for t in types)


def test_pool_parity_and_recorded_assignments_kept(sandbox_ws: Any, tmp_path: Path) -> None:
    """A tenant with a sending-IP pool declares what the built-in engine plans, and the
    assignments penguinctl hands the stack (``ipPools``) are kept exactly as expansion
    keeps them, so a domain never moves because the other engine ran."""
    from penguinctl.pulumi_engine.orchestrate import stack_spec
    from tests.cli.test_cli_pools import DOMAINS, specs

    path = tmp_path / "pool.yaml"
    path.write_text(specs(DOMAINS))
    assert _assert_parity([str(path)], sandbox_ws) == len(expand.expand(spec.load([str(path)])))

    fresh = expand.expand(spec.load([str(path)]))
    [fresh_pool] = [r for r in fresh if r.key == "ip_pool/senders"]
    recorded = {"senders": {d: "mx2" for d in DOMAINS}}  # not what a fresh spread gives
    assert fresh_pool.attrs["assignment"] != recorded["senders"]
    config = stack_spec(sandbox_ws, "acme", [str(path)], pools=recorded).config
    handed = {k: dict(v) for k, v in json.loads(config["penguinctl:ipPools"]).items()}
    assert handed == recorded
    declared = program.tenant_resources([str(path)], "acme", sandbox_ws, pools=handed)
    # as the built-in engine plans them: ops._bind gives MailU servers their file checksums
    shim = SimpleNamespace(ws=sandbox_ws)
    builtin = [ops._bind(shim, r) for r in expand.expand(spec.load([str(path)]), pools=recorded)]  # type: ignore[arg-type]
    assert [(r.key, r.attrs) for r in declared] == [(r.key, r.attrs) for r in builtin]
    [pool] = [r for r in declared if r.key == "ip_pool/senders"]
    assert pool.attrs["assignment"] == recorded["senders"]
    mailu = {r.attrs["domain"]: r.attrs["server"] for r in declared if r.kind == "mailu_domain"}
    assert mailu == recorded["senders"]


def _pickler_wrappers() -> int:
    """How many wrappers pulumi's serialize_provider left around _batch_setitems."""
    import pickle

    fn, depth = pickle._Pickler._batch_setitems, 0  # type: ignore[attr-defined]
    while fn.__closure__ and depth < 10_000:
        inner = [c.cell_contents for c in fn.__closure__ if callable(c.cell_contents)]
        if not inner:
            break
        fn, depth = inner[0], depth + 1
    return depth


def test_many_dynamic_resources_do_not_deepen_the_pickler(sandbox_ws: Any) -> None:
    """Pulumi's SDK wraps the pickler once per dynamic resource and never unwraps it; a
    big stack would hit RecursionError. Ours stays one wrapper deep, however many."""
    resources = program.tenant_resources([str(REPO / "examples")], "acme", sandbox_ws)
    dynamic = [r for r in resources if not is_native_record(r.provider, r.kind)]
    assert len(dynamic) >= 8
    for _ in range(3):
        run_program(
            lambda r=resources: program.declare(r, token=lambda _i: "sandbox-token"),
            stack=stack_name("acme"),
        )
    assert _pickler_wrappers() <= 1
