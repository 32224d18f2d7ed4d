"""The dynamic providers called directly, as Pulumi's provider host would call them.

Each call goes through a dill round trip first (``serialize_provider``, what Pulumi
stores), then builds its context at call time: from the workspace named by
``PENGUIN_WORKSPACE`` (the sandbox emulators: Hostwinds, Cloudflare, MailU) or from a
test factory (the real PowerDNS fixture). No mocks: Pulumi's mocks never call providers.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from penguinctl.core import graph
from penguinctl.core.plan import mask
from penguinctl.core.resource import Ref, resolve
from penguinctl.pulumi_engine import runtime
from penguinctl.pulumi_engine.dynamic import PenguinProvider, none_paths
from penguinctl.pulumi_engine.program import tenant_resources
from penguinctl.pulumi_engine.tokens import OUTPUTS
from penguinctl.workspace import load as load_ws
from tests.pulumi.conftest import REPO


def trip(p: PenguinProvider) -> PenguinProvider:
    """What Pulumi does with the provider: pickle it into state, load it in the host."""
    blob = serialize_provider(p)
    loaded = dill.loads(base64.b64decode(blob))
    assert isinstance(loaded, PenguinProvider) and vars(loaded) == vars(p)
    return loaded


@pytest.fixture
def sandbox_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "penguinctl.yaml").write_text(
        "apiVersion: penguinctl/v1\nkind: Workspace\nsandbox: true\n"
        "providers:\n  hostwinds: {type: hostwinds}\n  cloudflare: {type: cloudflare}\n"
        "  mailu: {type: mailu}\n"
    )
    shutil.copytree(REPO / "examples", root / "specs")
    monkeypatch.setenv("PENGUIN_WORKSPACE", str(root))
    monkeypatch.setenv("PENGUIN_SECRET_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    yield root
    runtime.close()


def _providers(root: Path, tenant: str) -> tuple[list[Any], dict[str, PenguinProvider]]:
    ws = load_ws(str(root))
    resources = tenant_resources([str(root / "specs")], tenant, ws)
    by_key = {r.key: r for r in resources}
    order = graph.topo_order({k: r.dependencies() & by_key.keys() for k, r in by_key.items()})
    provs = {
        r.key: PenguinProvider(
            r.provider,
            r.kind,
            r.key,
            r.instance,
            r.tenant,
            tuple(r.attrs),
            None,
            none_paths(mask(r, r.attrs)),
        )
        for r in resources
    }
    return [by_key[k] for k in order], provs


def test_lifecycle_against_the_sandbox(sandbox_workspace: Path) -> None:
    resources, provs = _providers(sandbox_workspace, "globex")
    assert {r.kind for r in resources} >= {
        "tenant",
        "server",
        "dkim_key",
        "mailu_domain",
        "mailu_mailbox",
        "dns_record",
    }
    outs: dict[str, dict[str, Any]] = {}
    ids: dict[str, str] = {}

    def lookup(ref: Ref) -> Any:
        return outs[ref.key][OUTPUTS][ref.output]

    props: dict[str, dict[str, Any]] = {}
    for r in resources:  # create in dependency order, references from earlier outputs
        p = trip(provs[r.key])
        props[r.key] = {k: v for k, v in mask(r, resolve(r.attrs, lookup)).items() if v is not None}
        assert p.check({}, props[r.key]).failures == [], r.key
        created = p.create(props[r.key])
        ids[r.key], outs[r.key] = created.id, created.outs
        assert created.id and OUTPUTS in created.outs
    server = "server/globex-mx1"
    assert outs[server][OUTPUTS]["ipv4"]
    spf = next(k for k in props if k.endswith("/TXT/@/spf"))
    assert outs[server][OUTPUTS]["ipv4"] in props[spf]["content"]

    # A create retried after a lost reply finds the same server (no second purchase).
    again = trip(provs[server]).create(props[server])
    assert again.id == ids[server]

    for r in resources:  # read: the same object, no difference to the desired inputs
        p = trip(provs[r.key])
        seen = p.read(ids[r.key], outs[r.key])
        assert seen.id == ids[r.key], r.key
        assert p.diff(ids[r.key], seen.outs, props[r.key]).changes is False, r.key

    box = next(r.key for r in resources if r.kind == "mailu_mailbox")
    p = trip(provs[box])
    new = {**props[box], "display_name": "Renamed by Pulumi"}
    d = p.diff(ids[box], outs[box], new)
    assert d.changes is True and d.replaces == [] and d.delete_before_replace
    updated = p.update(ids[box], outs[box], new)
    assert updated.outs["display_name"] == "Renamed by Pulumi"
    assert trip(provs[box]).read(ids[box], updated.outs).outs["display_name"] == "Renamed by Pulumi"

    moved = {**props[server], "location": "amsterdam"}
    assert trip(provs[server]).diff(ids[server], outs[server], moved).replaces == ["location"]

    for r in reversed(resources):  # delete dependents first; twice is not an error
        p = trip(provs[r.key])
        p.delete(ids[r.key], outs[r.key])
        p.delete(ids[r.key], outs[r.key])
    for r in resources:
        if r.kind in ("server", "dns_record", "mailu_mailbox", "mailu_domain"):
            assert trip(provs[r.key]).read(ids[r.key], outs[r.key]).id == "", r.key


def test_check_reports_the_field(sandbox_workspace: Path) -> None:
    resources, provs = _providers(sandbox_workspace, "globex")
    domain = next(r for r in resources if r.kind == "mailu_domain")
    bad = {**mask(domain, domain.attrs), "domain": "not a domain"}
    failures = trip(provs[domain.key]).check({}, bad).failures
    assert failures and failures[0].property == "domain"
    assert "not a domain name" in failures[0].reason


def test_stack_config_credentials_reach_the_context(sandbox_workspace: Path) -> None:
    class Req:
        config = type(
            "C", (), {"_props": {"penguinctl:credential.cloudflare.apiToken": "cfg-tok"}}
        )()

    trip(PenguinProvider("cloudflare", "dns_record", "k", "default", "t", ())).configure(Req())
    ctx = runtime.context("cloudflare", "default", "t")
    assert ctx.credential("apiToken") == "cfg-tok"


@pytest.mark.pdns
def test_powerdns_record_against_real_powerdns(pdns_server: Any, new_zone: Any) -> None:
    from tests.dns.conftest import pdns_ctx

    zone = new_zone()
    ctx = pdns_ctx(pdns_server)
    key = f"dns_record/{zone}/TXT/@/spf"
    attrs = {
        "zone": zone,
        "name": zone,
        "type": "TXT",
        "content": "v=spf1 ip4:192.0.2.7 -all",
        "ttl": 300,
        "priority": None,
        "proxied": False,
    }
    prov = PenguinProvider("powerdns", "dns_record", key, "pdns", "t", tuple(attrs))
    props = {k: v for k, v in attrs.items() if v is not None}  # as Pulumi passes them
    with runtime.use_contexts(lambda *_: ctx):
        created = trip(prov).create(props)
        live = trip(prov).read(created.id, created.outs)
        assert live.id == created.id and live.outs["content"] == attrs["content"]
        changed = {**props, "content": "v=spf1 ip4:192.0.2.8 -all"}
        assert trip(prov).diff(created.id, created.outs, changed).changes
        trip(prov).update(created.id, created.outs, changed)
        answer = pdns_server.resolver().resolve(zone, "TXT")
        assert "192.0.2.8" in b"".join(answer[0].strings).decode()
        trip(prov).delete(created.id, changed)
        assert trip(prov).read(created.id, changed).id == ""


@pytest.mark.sshd
def test_existing_server_against_real_sshd(sshd_server: Any, tmp_path: Path) -> None:
    import socket

    from penguinctl.core.context import CallContext
    from penguinctl.store import open_store

    store = open_store(f"sqlite:///{tmp_path}/penguin.db")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        ctx = CallContext(
            provider_type="existing",
            tenant="acme",
            settings={"port25_target": f"127.0.0.1:{sock.getsockname()[1]}", "port25_timeout": 2},
            services={"store": store},
        )
        attrs = {
            "name": "own1",
            "tenant": "acme",
            "address": sshd_server.host,
            "ssh_user": sshd_server.user,
            "ssh_port": sshd_server.port,
            "ssh_key": str(sshd_server.client_key),
            "mail_host": "mail.own.example",
            "tags": [],
        }
        prov = PenguinProvider("existing", "server", "server/own1", "default", "acme", tuple(attrs))
        # Pulumi's wire format turns the port into a float; the provider gets an int back.
        props = {**attrs, "ssh_port": float(attrs["ssh_port"])}
        try:
            with runtime.use_contexts(lambda *_: ctx):
                created = trip(prov).create(props)
                assert created.id == sshd_server.host
                assert created.outs[OUTPUTS]["ipv4"] == sshd_server.host
                seen = trip(prov).read(created.id, created.outs)
                assert seen.id == created.id
                assert trip(prov).diff(created.id, seen.outs, props).changes is False
                trip(prov).delete(created.id, created.outs)  # forgets; the machine stays
        finally:
            store.close()
