"""Reverse DNS as its own resource (``ptr/NAME``): set, changed, read and reset on the emulator."""

from __future__ import annotations

import ipaddress

import pytest
from conftest import HwWorld, attrs_for

from penguinctl.core.errors import NotFound, ProviderError
from penguinctl.core.expand import expand
from penguinctl.providers.hostwinds import HostwindsServerProvider
from penguinctl.providers.hostwinds_ptr import HostwindsPtrProvider


@pytest.fixture
def ptr() -> HostwindsPtrProvider:
    return HostwindsPtrProvider()


def _server(hw: HwWorld) -> dict[str, str]:
    created = HostwindsServerProvider().create(hw.ctx(), "server/mx1", attrs_for())
    return {"service_id": created.id, "ip": created.outputs["ipv4"]}


def test_create_sets_the_ptr_and_dns_serves_it(hw: HwWorld, ptr: HostwindsPtrProvider) -> None:
    server = _server(hw)
    attrs = {"server": "mx1", **server, "host": "mail.example.com"}
    assert ptr.check(attrs) == []
    created = ptr.create(hw.ctx(), "ptr/mx1", attrs)
    assert created.id == server["ip"]
    assert created.outputs == {
        "ip": server["ip"],
        "host": "mail.example.com",
        "ptr_name": ipaddress.ip_address(server["ip"]).reverse_pointer,
    }
    assert hw.emu.state["rdns"] == {server["ip"]: "mail.example.com"}
    (answer,) = hw.emu.dns_answers()
    assert (answer.type, answer.content) == ("PTR", "mail.example.com.")
    # Idempotent: sending it again changes nothing.
    ptr.create(hw.ctx(), "ptr/mx1", attrs)
    assert hw.emu.state["rdns"] == {server["ip"]: "mail.example.com"}
    assert ptr.read(hw.ctx(), created.id, attrs).attrs == attrs


def test_update_changes_the_host(hw: HwWorld, ptr: HostwindsPtrProvider) -> None:
    server = _server(hw)
    old = {"server": "mx1", **server, "host": "mail.example.com"}
    new = {**old, "host": "relay.example.com"}
    assert ptr.diff(old, new).changed == ("host",) and not ptr.diff(old, new).replaces
    assert not ptr.diff(old, {**old, "host": "MAIL.example.com."}).has_changes
    created = ptr.create(hw.ctx(), "ptr/mx1", old)
    assert ptr.update(hw.ctx(), created.id, old, new)["host"] == "relay.example.com"
    assert hw.emu.state["rdns"] == {server["ip"]: "relay.example.com"}


def test_delete_resets_to_the_generic_name_and_tolerates_a_gone_server(
    hw: HwWorld, ptr: HostwindsPtrProvider
) -> None:
    server = _server(hw)
    attrs = {"server": "mx1", **server, "host": "mail.example.com"}
    created = ptr.create(hw.ctx(), "ptr/mx1", attrs)
    ptr.delete(hw.ctx(), created.id, attrs)
    generic = hw.instances()[0]["hostname"]
    assert hw.emu.state["rdns"] == {server["ip"]: generic}

    HostwindsServerProvider().delete(hw.ctx(), server["service_id"], attrs_for())
    hw.emu.requests.clear()
    ptr.delete(hw.ctx(), created.id, attrs)  # already gone with its server: no error
    assert "set_rdns" not in hw.actions()
    with pytest.raises(NotFound):
        ptr.read(hw.ctx(), created.id, attrs)


def test_read_is_not_found_when_the_ip_left_the_server(
    hw: HwWorld, ptr: HostwindsPtrProvider
) -> None:
    server = _server(hw)
    attrs = {"server": "mx1", **server, "host": "mail.example.com"}
    with pytest.raises(NotFound, match="no longer an address"):
        ptr.read(hw.ctx(), "127.99.0.9", {**attrs, "ip": "127.99.0.9"})


def test_refused_rdns_is_a_clear_error(hw: HwWorld, ptr: HostwindsPtrProvider) -> None:
    server = _server(hw)
    attrs = {"server": "mx1", **server, "ip": "127.99.0.9", "host": "mail.example.com"}
    with pytest.raises(ProviderError) as err:
        ptr.create(hw.ctx(), "ptr/mx1", attrs)
    assert "127.99.0.9 -> mail.example.com" in err.value.message
    assert "FQDN" in (err.value.hint or "")
    assert "sandbox-token" not in str(err.value) + (err.value.hint or "")
    assert ptr.check({**attrs, "host": "mail."}) and ptr.check({"host": "x"})


def test_expansion_orders_the_ptr_after_its_server_and_forward_record() -> None:
    from pathlib import Path

    from penguinctl import spec

    examples = Path(__file__).resolve().parents[2] / "examples"
    resources = {r.key: r for r in expand(spec.load([str(examples)]))}
    ptr = resources["ptr/acme-mx1"]
    assert ptr.provider == "hostwinds" and ptr.attrs["host"] == "mail.acme-outbound.example"
    assert ptr.dependencies() == {"server/acme-mx1", "dns_record/acme-outbound.example/A/mail"}
    assert {r.attrs["host"] for r in resources.values() if r.kind == "ptr"} == {
        "mail.acme-outbound.example",
        "mail.globex-sales.example",
    }
