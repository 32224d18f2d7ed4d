"""The Hostwinds emulator inside the real sandbox world: address pool, PTR over DNS, persistence."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import dns.message
import dns.query
from conftest import FastContext, attrs_for

from penguinctl.providers.hostwinds import HostwindsServerProvider
from penguinctl.providers.hostwinds_ptr import HostwindsPtrProvider
from penguinctl.sandbox import registry
from penguinctl.sandbox.host import SandboxWorld

TARGETS = {"hostwinds": registry.EMULATORS["hostwinds"]}


def _ctx(world: SandboxWorld) -> FastContext:
    return FastContext(
        provider_type="hostwinds",
        tenant="acme",
        endpoints=world.endpoints,
        sandbox=True,  # every credential is the sandbox token
        settings={"poll_interval": 0.02},
    )


def test_server_gets_a_pool_address_and_a_ptr_that_survive_a_restart(tmp_path: Path) -> None:
    provider = HostwindsServerProvider()
    with SandboxWorld(tmp_path, emulators=TARGETS) as world:
        world.emulators["hostwinds"].state["provision_seconds"] = 0.05
        created = provider.create(_ctx(world), "server/mx1", attrs_for())
        ip = created.outputs["ipv4"]
        ptr = {"server": "mx1", "service_id": created.id, "ip": ip, "host": "mx1.mail.example.com"}
        HostwindsPtrProvider().create(_ctx(world), "ptr/mx1", ptr)
        assert ip == world.addresses.lookup(f"hostwinds:{created.id}")
        assert ipaddress.ip_address(ip) in ipaddress.ip_network("127.10.0.0/16")
        query = dns.message.make_query(ipaddress.ip_address(ip).reverse_pointer, "PTR")
        host, port = world.dns_address
        reply = dns.query.udp(query, host, port=port, timeout=3)
        assert [r.to_text() for rrset in reply.answer for r in rrset] == ["mx1.mail.example.com."]
        assert world.unexpected() == {"hostwinds": []}

    with SandboxWorld(tmp_path, emulators=TARGETS) as world:
        observed = provider.read(_ctx(world), created.id, attrs_for())
        assert observed.outputs == created.outputs
        provider.delete(_ctx(world), created.id, attrs_for())
        assert world.addresses.lookup(f"hostwinds:{created.id}") is None
        assert world.unexpected() == {"hostwinds": []}
