"""The MailU providers over real SSH: config-export / config-import -u on stdin, DKIM files.

The admin container's ``flask mailu`` is the docker stand-in, which delegates to the
sandbox MailU's merge logic (tests/mailu/standins.py); SSH, files and the shell are real.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mailu_world import rsa_pem

from penguinctl.core.context import CallContext
from penguinctl.core.errors import ProviderError
from penguinctl.providers import mailu_ssh
from penguinctl.providers.mailu import MailuDomainProvider, MailuMailboxProvider
from penguinctl.remote.errors import HostKeyChanged
from tests.daemons.sshd import SshdServer
from tests.mailu.standins import Standins, make_standins

NASTY_NAME = "Jane $(touch {canary}) `id` 'O\"Brien'; rm -rf /\nsecond line"
NASTY_PASSWORD = "p $(touch {canary});'\"`id`"


class Host:
    def __init__(self, ctx: CallContext, standins: Standins, secrets: dict[Any, str]) -> None:
        self.ctx, self.standins, self.secrets = ctx, standins, secrets

    def attrs(self, sshd: SshdServer, **extra: Any) -> dict[str, Any]:
        ssh = {"host": sshd.host, "port": sshd.port, "user": "root", "key": str(sshd.client_key)}
        return {"server": "mx1", "ssh": ssh, **extra}


@pytest.fixture
def host(sshd_server: SshdServer, tmp_path: Path) -> Iterator[Host]:
    root = str(tmp_path / "mailu")
    standins = make_standins(tmp_path / "standins", root)
    (standins.state / "running.json").write_text(json.dumps(["admin"]))
    secrets: dict[Any, str] = {}
    ctx = CallContext(
        provider_type="mailu",
        tenant="acme",
        sandbox=False,
        settings={"bcrypt_rounds": 4, "remote_path": str(standins.bin), "mailu_root": root},
        get_secret=lambda t, k, n: secrets.get((t, k, n)),
        put_secret=lambda t, k, n, v: secrets.__setitem__((t, k, n), v),
    )
    yield Host(ctx, standins, secrets)
    mailu_ssh._close_pools()
    mailu_ssh._pools.clear()


def test_domain_dkim_and_mailbox_over_ssh_are_idempotent(
    sshd_server: SshdServer, host: Host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import secrets

    canary = Path(f"/tmp/pc-{secrets.token_hex(3)}")  # short: bcrypt's 72-byte limit
    pem = rsa_pem(0)
    host.secrets[("acme", "dkim_key/x.example.com/mail", "private_key")] = pem
    domain = host.attrs(
        sshd_server,
        domain="x.example.com",
        dkim_selector="mail",
        dkim_key="dkim_key/x.example.com/mail",
    )
    created = MailuDomainProvider().create(host.ctx, "mailu_domain/x.example.com", domain)
    assert created.id == "mx1/x.example.com"
    key_file = Path(host.standins.root) / "dkim" / "x.example.com.mail.key"
    assert key_file.read_text() == pem and stat.S_IMODE(key_file.stat().st_mode) == 0o600

    password = NASTY_PASSWORD.format(canary=canary)
    monkeypatch.setenv("PC_TEST_MAILBOX_PW", password)
    box = host.attrs(
        sshd_server,
        address="jane@x.example.com",
        display_name=NASTY_NAME.format(canary=canary),
        quota_mb=None,
        sender=True,
        password_ref="env:PC_TEST_MAILBOX_PW",
    )
    MailuMailboxProvider().create(host.ctx, "mailu_mailbox/jane@x.example.com", box)
    users = host.standins.mailu()["servers"]["host"]["user"]
    assert users["jane@x.example.com"]["displayed_name"] == NASTY_NAME.format(canary=canary)
    assert not canary.exists()
    imports = [c for c in host.standins.calls("docker") if "config-import" in c]
    assert imports and all(c[-2:] == ["-u", "-"] for c in imports)

    # converged: reads only, no import, no DKIM write
    host.standins.clear()
    observed = MailuMailboxProvider().read(host.ctx, "mx1/jane@x.example.com", box)
    assert observed.attrs["password_ref"] == "env:PC_TEST_MAILBOX_PW"
    MailuMailboxProvider().create(host.ctx, "mailu_mailbox/jane@x.example.com", box)
    MailuDomainProvider().create(host.ctx, "mailu_domain/x.example.com", domain)
    assert not [c for c in host.standins.calls("docker") if "config-import" in c]
    assert host.standins.unexpected() == []

    # nothing secret on any command line that ran
    remote = next(iter(mailu_ssh._pools.values()))[1]._remotes
    history = [cmd for r in remote.values() for cmd in r.history]
    assert history and not any(password in c or "BLF-CRYPT" in c or "PRIVATE" in c for c in history)


def test_mailu_refusal_is_a_provider_error(sshd_server: SshdServer, host: Host) -> None:
    box = host.attrs(sshd_server, address="a@missing.example", quota_mb=None, password_ref=None)
    with pytest.raises(ProviderError, match="refused"):
        MailuMailboxProvider().create(host.ctx, "mailu_mailbox/a@missing.example", box)


def test_changed_host_key_stops_the_provider(sshd_server: SshdServer, host: Host) -> None:
    from penguinctl.remote.connection import Pool
    from penguinctl.remote.hostkeys import MemoryPins, Pin

    pins = MemoryPins()
    pins.record(
        sshd_server.host,
        sshd_server.port,
        Pin("ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"),
    )
    mailu_ssh._pools[id(None)] = (None, Pool(pins))
    attrs = host.attrs(sshd_server, domain="y.example.com", dkim_key=None)
    with pytest.raises(HostKeyChanged):
        MailuDomainProvider().create(host.ctx, "mailu_domain/y.example.com", attrs)
    assert host.standins.calls() == []
