"""The existing-server provider against a real OpenSSH sshd on loopback (its own host key).

Outbound port 25 is probed *from the server* toward a loopback listener (open) and a
closed loopback port (blocked); deleting only forgets.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from penguinctl.core.context import CallContext
from penguinctl.core.errors import ConfigError
from penguinctl.core.registry import get
from penguinctl.providers.existing import ExistingServerProvider
from penguinctl.remote.errors import AuthFailed, HostKeyChanged
from penguinctl.remote.hostkeys import Pin, StorePins
from penguinctl.store import Store, open_store
from tests.daemons.sshd import SshdServer


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path}/penguin.db")
    yield s
    s.close()


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ctx(store: Store, port25: int, logs: list[str] | None = None) -> CallContext:
    return CallContext(
        provider_type="existing",
        tenant="acme",
        settings={"port25_target": f"127.0.0.1:{port25}", "port25_timeout": 2},
        logger=(logs if logs is not None else []).append,
        services={"store": store},
    )


def attrs(server: SshdServer, **kw: Any) -> dict[str, Any]:
    return {
        "name": "own1",
        "tenant": "acme",
        "address": server.host,
        "ssh_user": server.user,
        "ssh_port": server.port,
        "ssh_key": str(server.client_key),
        "mail_host": "mail.own.example",
        "tags": [],
        **kw,
    }


def test_verifies_over_ssh_records_facts_and_pins_the_host_key(
    sshd_server: SshdServer, store: Store, listener: int
) -> None:
    provider = get("existing", "server")
    assert isinstance(provider, ExistingServerProvider)
    created = provider.create(ctx(store, listener), "server/own1", attrs(sshd_server))
    out = created.outputs
    assert created.id == sshd_server.host and out["ipv4"] == sshd_server.host
    assert out["ips"] == [sshd_server.host] and out["mail_host"] == "mail.own.example"
    assert out["os"] in ("debian", "ubuntu") and out["os_version"] and out["hostname"]
    assert all(":" not in a for a in out["addresses"]) and out["addresses"]
    assert out["port25_outbound"] is True and out["port25_target"] == f"127.0.0.1:{listener}"
    assert out["host_key"] == sshd_server.fingerprint
    pin = StorePins(store).get(sshd_server.host, sshd_server.port)
    assert pin is not None and pin.fingerprint == sshd_server.fingerprint
    observed = provider.read(ctx(store, listener), created.id, attrs(sshd_server))
    assert not provider.diff(observed.attrs, attrs(sshd_server)).has_changes


def test_blocked_port_25_is_a_recorded_fact(sshd_server: SshdServer, store: Store) -> None:
    logs: list[str] = []
    created = ExistingServerProvider().create(
        ctx(store, closed_port(), logs), "server/own1", attrs(sshd_server)
    )
    assert created.outputs["port25_outbound"] is False
    assert any("port 25" in line and "blocked" in line for line in logs), logs


def test_a_changed_host_key_is_refused(
    sshd_server: SshdServer, store: Store, listener: int
) -> None:
    StorePins(store).record(
        sshd_server.host,
        sshd_server.port,
        Pin("ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIOGmVGdcjG0ZIkcGx7nCYUTCDRbyDRcBtNdWnVqhOVl6"),
    )
    with pytest.raises(HostKeyChanged):
        ExistingServerProvider().create(ctx(store, listener), "server/own1", attrs(sshd_server))


def test_a_wrong_key_is_a_clear_error(
    sshd_server: SshdServer, store: Store, listener: int, tmp_path: Path
) -> None:
    import paramiko

    other = tmp_path / "other_key"
    key = paramiko.RSAKey.generate(2048)
    key.write_private_key_file(str(other))
    with pytest.raises(AuthFailed) as err:
        ExistingServerProvider().create(
            ctx(store, listener), "server/own1", attrs(sshd_server, ssh_key=str(other))
        )
    assert "authorized_keys" in (err.value.hint or "")


def test_delete_only_forgets(sshd_server: SshdServer, store: Store, listener: int) -> None:
    logs: list[str] = []
    provider = ExistingServerProvider()
    # No connection at all: an unreachable address is fine.
    provider.delete(
        ctx(store, listener, logs), "192.0.2.7", attrs(sshd_server, address="192.0.2.7")
    )
    assert any("never deletes" in line for line in logs)
    assert provider.protected is False and "address" in provider.replace_fields


def test_bad_port25_target_is_a_config_error(sshd_server: SshdServer, store: Store) -> None:
    c = CallContext(
        provider_type="existing",
        tenant="acme",
        settings={"port25_target": "no-port"},
        services={"store": store},
    )
    with pytest.raises(ConfigError, match="HOST:PORT"):
        ExistingServerProvider().create(c, "server/own1", attrs(sshd_server))


def test_existing_server_through_the_cli(cli: Any, sshd_server: SshdServer, listener: int) -> None:
    config = cli.root / "penguinctl.yaml"
    config.write_text(
        config.read_text()
        + f"  own: {{type: existing, settings: {{port25_target: '127.0.0.1:{listener}'}}}}\n"
    )
    (cli.root / "examples" / "own.yaml").write_text(
        "apiVersion: penguinctl/v1\nkind: Server\nmetadata: {name: own1}\nspec:\n"
        "  tenant: acme\n  provider: existing\n  instance: own\n"
        f"  address: {sshd_server.host}\n  sshUser: {sshd_server.user}\n"
        f"  sshPort: {sshd_server.port}\n  sshKey: file:{sshd_server.client_key}\n"
        "  mailHost: mail.own.example\n"
    )
    r = cli("apply", "-f", "examples/", "--yes")
    assert r.code == 0, r
    import json

    shown = json.loads(cli("-o", "json", "state", "show", "server/own1").out)
    text = json.dumps(shown)
    assert sshd_server.fingerprint in text and '"port25_outbound": true' in text, text
    assert "ptr/own1" not in cli("state", "list").out  # its owner sets the PTR
    assert cli("plan", "-f", "examples/", "--detailed-exitcode").code == 0

    (cli.root / "examples" / "own.yaml").unlink()
    r = cli("apply", "-f", "examples/", "--yes")
    assert r.code == 0, r  # forgetting needs no --force: nothing is deleted
    assert "server/own1" not in cli("state", "list").out
    assert "delete server/own1" in r.err  # forgotten: the provider makes no connection


def _own_ipv6() -> str:
    """An IPv6 address of this machine (the sshd on loopback reports the same host's)."""
    import subprocess

    found = [
        a
        for a in subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
        if ":" in a
    ]
    if not found:
        from tests.servers import unavailable

        unavailable("this machine has no IPv6 address to check address6 against")
    return found[0]


def test_address6_is_verified_and_becomes_a_sending_ip(
    sshd_server: SshdServer, store: Store, listener: int
) -> None:
    v6 = _own_ipv6()
    out = (
        ExistingServerProvider()
        .create(ctx(store, listener), "server/own1", attrs(sshd_server, address6=v6))
        .outputs
    )
    assert out["ipv6"] == v6 and out["ips"] == [sshd_server.host, v6]
    assert v6 in out["addresses6"]
    with pytest.raises(ConfigError, match=r"has no IPv6 address 2001:db8::25 \(it has: .*"):
        ExistingServerProvider().create(
            ctx(store, listener), "server/own1", attrs(sshd_server, address6="2001:db8::25")
        )


def test_an_ipv6_server_gets_aaaa_and_ip6_through_the_cli(
    cli: Any, sshd_server: SshdServer, listener: int
) -> None:
    """apply publishes the mail host's AAAA and ip6: in SPF, and `dns check` verifies both
    against the served zone (AAAA001, SPF coverage); the v6 PTR is its owner's to set."""
    import json

    v6 = _own_ipv6()
    config = cli.root / "penguinctl.yaml"
    config.write_text(
        config.read_text()
        + f"  own: {{type: existing, settings: {{port25_target: '127.0.0.1:{listener}'}}}}\n"
    )
    (cli.root / "own.yaml").write_text(
        "apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {name: own}\nspec: {contact: ops@own.example}\n---\n"
        "apiVersion: penguinctl/v1\nkind: Server\nmetadata: {name: own1}\nspec:\n"
        "  tenant: own\n  provider: existing\n  instance: own\n"
        f"  address: {sshd_server.host}\n  address6: '{v6}'\n  sshUser: {sshd_server.user}\n"
        f"  sshPort: {sshd_server.port}\n  sshKey: file:{sshd_server.client_key}\n"
        "  mailHost: mail.own.example\n---\n"
        "apiVersion: penguinctl/v1\nkind: MailDomain\nmetadata: {name: own}\n"
        "spec: {tenant: own, domain: own.example, server: own1, mailboxes: [{name: jo}]}\n"
    )
    r = cli("apply", "-f", "own.yaml", "--yes")
    assert "Apply complete" in r.out + r.err, r
    aaaa = json.loads(cli("-o", "json", "state", "show", "dns_record/own.example/AAAA/mail").out)
    assert aaaa["attrs"]["content"] == v6
    spf = json.loads(cli("-o", "json", "state", "show", "dns_record/own.example/TXT/@/spf").out)
    assert spf["attrs"]["content"] == f"v=spf1 ip4:{sshd_server.host} ip6:{v6} -all"
    check = cli("-o", "json", "dns", "check", "own.example")
    findings = {(f["code"], f["subject"]): f for f in json.loads(check.out)["findings"]}
    assert findings[("AAAA001", "mail.own.example")]["status"] == "ok"
    assert findings[("A001", "mail.own.example")]["status"] == "ok"
    spf_ok = [
        f for (code, _), f in findings.items() if code.startswith("SPF") and f["status"] == "error"
    ]
    assert not spf_ok, spf_ok  # the SPF covers both sending IPs
    ptr6 = findings[("PTR001", v6)]
    assert ptr6["status"] == "error" and "set at the server's provider" in ptr6["fix"]
