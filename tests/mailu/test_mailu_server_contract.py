"""The provider contract for ``mailu_server``: in the sandbox (the emulated server's local
directory) and over real SSH (sshd on loopback, docker a strict recording stand-in)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from penguinctl.core.context import CallContext
from penguinctl.core.errors import NotFound
from penguinctl.core.resource import Resource
from penguinctl.mailu.deploy import ENV_SERVICES
from penguinctl.providers.mailu_server import MailuServerProvider, bind
from tests.contract.provider_contract import ProviderContract
from tests.daemons.sshd import SshdServer
from tests.mailu.standins import SERVICES, Standins, make_standins

_n = itertools.count(1)


def context(tmp_path: Path, *, sandbox: bool, **settings: Any) -> CallContext:
    store: dict[tuple[str, str, str], str] = {}
    return CallContext(
        provider_type="mailu",
        tenant="acme",
        sandbox=sandbox,
        settings={"sandbox_servers": str(tmp_path / "servers"), **settings},
        get_secret=lambda t, k, n: store.get((t, k, n)),
        put_secret=lambda t, k, n, v: store.__setitem__((t, k, n), v),
    )


def attrs_for(key: str, ssh: Mapping[str, Any] | None = None) -> dict[str, Any]:
    server = key.split("/", 1)[1]
    res = Resource(
        key,
        "mailu",
        "acme",
        {
            "server": server,
            "mail_host": f"mail.{server}.example",
            "main_domain": f"{server}.example",
            "dkim_selectors": ["mail"],
            "senders": [f"jane@{server}.example"],
            "bind_ip": "127.0.0.1",
            "ssh": dict(ssh or {}),
        },
    )
    return dict(bind(res, {}).attrs)


def add_sender(attrs: Mapping[str, Any]) -> dict[str, Any]:
    res = Resource("mailu_server/x", "mailu", "acme", {**attrs, "senders": ["bulk@x.example"]})
    return dict(bind(res, {}).attrs)


class TestMailuServerSandboxContract(ProviderContract):
    @pytest.fixture
    def provider(self) -> MailuServerProvider:
        return MailuServerProvider()

    @pytest.fixture
    def ctx(self, tmp_path: Path) -> Any:
        return context(tmp_path, sandbox=True)

    @pytest.fixture
    def key(self) -> str:
        return f"mailu_server/sbx{next(_n)}"

    @pytest.fixture
    def sample_attrs(self) -> Any:
        return attrs_for

    @pytest.fixture
    def mutate(self) -> Any:
        return add_sender

    def test_files_land_in_the_servers_directory(self, ctx: Any, tmp_path: Path) -> None:
        provider = MailuServerProvider()
        attrs = attrs_for("mailu_server/box")
        out = provider.create(ctx, "mailu_server/box", attrs)
        root = tmp_path / "servers" / "box" / "mailu"
        assert out.outputs["root"] == str(root)
        deployed, planned = dict(out.outputs["deployed"]), dict(attrs["files"])
        # the compose file's planned checksum leaves the bind address out (known later)
        assert deployed.pop("docker-compose.yml") != planned.pop("docker-compose.yml")
        assert deployed == planned
        assert out.outputs["restarted"] == list(SERVICES)  # first deploy starts everything
        assert '"127.0.0.1:25:25"' in (root / "docker-compose.yml").read_text()
        secret = ctx.secret("mailu_server/box", "secret_key")
        assert (root / "secrets/secret_key").read_text() == secret
        again = provider.update(ctx, "box", attrs, attrs)
        assert again["restarted"] == []  # nothing changed: nothing restarts
        # someone edited mailu.env on the host: refresh reports it, and find does not
        # claim an interrupted deploy finished
        (root / "mailu.env").write_text("edited\n")
        seen = provider.read(ctx, "box", attrs)
        assert seen.attrs["files"]["mailu.env"] == "(differs on the host)"
        assert provider.find(ctx, "mailu_server/box", attrs) is None
        provider.delete(ctx, "box", attrs)
        assert not (root / "mailu.env").exists() and (root / "dkim").is_dir()  # data kept
        with pytest.raises(NotFound):
            provider.read(ctx, "box", attrs)

    def test_update_owes_the_restarts_an_interrupted_deploy_left(self, tmp_path: Path) -> None:
        """The files on the host are already the new ones (an apply wrote them and died):
        the recorded change still recreates what reads mailu.env and restarts smtp for
        its Postfix overrides."""
        lines: list[str] = []
        ctx = replace(context(tmp_path, sandbox=True), logger=lines.append)
        provider = MailuServerProvider()
        new = attrs_for("mailu_server/owed")
        provider.create(ctx, "mailu_server/owed", new)
        postfix = {**new, "files": {**new["files"], "overrides/postfix/postfix.cf": "0" * 64}}
        lines.clear()
        out = provider.update(ctx, "owed", postfix, new)
        assert out["restarted"] == ["smtp"]
        assert [line for line in lines if "smtp" in line] == [
            "MailU owed: restart smtp: Postfix overrides changed "
            "(the last deploy stopped before restarting it)"
        ]
        env = {**new, "files": {**new["files"], "mailu.env": "0" * 64}}
        lines.clear()
        out = provider.update(ctx, "owed", env, new)
        assert out["restarted"] == sorted(ENV_SERVICES)
        assert all(" recreate " in line for line in lines if "mailu.env" in line)
        assert len(lines) == len(ENV_SERVICES)


@pytest.fixture
def host(sshd_server: SshdServer, tmp_path: Path) -> tuple[Standins, dict[str, Any]]:
    standins = make_standins(tmp_path / "standins", str(tmp_path / "mailu"))
    ssh = {
        "host": sshd_server.host,
        "port": sshd_server.port,
        "user": sshd_server.user,
        "key": str(sshd_server.client_key),
    }
    return standins, ssh


class TestMailuServerSshContract(ProviderContract):
    @pytest.fixture
    def provider(self) -> MailuServerProvider:
        return MailuServerProvider()

    @pytest.fixture
    def ctx(self, tmp_path: Path, host: tuple[Standins, dict[str, Any]]) -> Any:
        standins, _ = host
        return context(
            tmp_path,
            sandbox=False,
            remote_path=str(standins.bin),
            mailu_root=standins.root,
            health_poll=0.05,
        )

    @pytest.fixture
    def key(self) -> str:
        return f"mailu_server/ssh{next(_n)}"

    @pytest.fixture
    def sample_attrs(self, host: tuple[Standins, dict[str, Any]]) -> Any:
        return lambda key: attrs_for(key, host[1])

    @pytest.fixture
    def mutate(self) -> Any:
        return add_sender

    def test_exact_invocations(self, ctx: Any, host: tuple[Standins, dict[str, Any]]) -> None:
        standins, ssh = host
        provider = MailuServerProvider()
        attrs = attrs_for("mailu_server/exact", ssh)
        provider.create(ctx, "mailu_server/exact", attrs)
        ps = standins.compose("ps", "--all", "--format", "json")
        assert standins.calls("docker") == [standins.compose("up", "-d", "--remove-orphans"), ps]
        standins.clear()
        writes = sorted(p.stat().st_mtime_ns for p in Path(standins.root).rglob("*"))
        provider.update(ctx, "exact", attrs, attrs)  # a re-run: reads only, writes nothing
        assert standins.calls("docker") == [ps]
        assert sorted(p.stat().st_mtime_ns for p in Path(standins.root).rglob("*")) == writes
        standins.clear()
        new = add_sender(attrs)
        provider.update(ctx, "exact", attrs, new)  # mailu.env: its readers, not redis
        env_services = sorted(s for s in SERVICES if s != "redis")
        assert standins.calls("docker") == [
            ps,  # the facts: what runs
            standins.compose("up", "-d", "--force-recreate", *env_services),
            ps,  # the health wait
        ]
        standins.clear()
        provider.delete(ctx, "exact", new)
        assert standins.calls("docker") == [standins.compose("down")]
        assert standins.running() == [] and standins.unexpected() == []
        assert (Path(standins.root) / "dkim").is_dir()
