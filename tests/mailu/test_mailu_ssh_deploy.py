"""Deploying MailU's files over real SSH (sshd on loopback); docker is a strict stand-in."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from penguinctl import spec
from penguinctl.mailu.deploy import SERVICES, apply_deploy, plan_deploy
from penguinctl.mailu.render import render
from penguinctl.mailu.settings import server_config
from penguinctl.remote.connection import Remote
from penguinctl.remote.errors import CommandFailed
from penguinctl.remote.hostkeys import MemoryPins
from tests.daemons.sshd import SshdServer
from tests.mailu.standins import Standins, make_standins
from tests.remote.conftest import target_of

REPO = Path(__file__).resolve().parents[2]
SECRETS = {"secret_key": "k3y-$(touch /tmp/x)'\"", "admin_password": "pw;\n`id`"}


@pytest.fixture(scope="module")
def specs():  # type: ignore[no-untyped-def]
    return spec.load([str(REPO / "examples")])


def files_for(specs, **settings):  # type: ignore[no-untyped-def]
    server = specs.servers["acme-mx1"].spec
    domains = [d.spec for d in specs.mail_domains.values() if d.spec.server == "acme-mx1"]
    ctx = server_config("acme-mx1", server, domains, settings, bind_ip="203.0.113.7")
    return render(ctx, SECRETS)


@pytest.fixture
def host(sshd_server: SshdServer, tmp_path: Path) -> tuple[Remote, Standins]:
    root = str(tmp_path / "mailu")
    standins = make_standins(tmp_path / "standins", root)
    remote = Remote(target_of(sshd_server, path_prefix=(str(standins.bin),)), MemoryPins())
    return remote, standins


def test_first_deploy_writes_files_and_starts_everything(specs, host, tmp_path) -> None:  # type: ignore[no-untyped-def]
    remote, standins = host
    root = standins.root
    files = files_for(specs)
    plan = plan_deploy(remote, files, root)
    assert plan.first and {f.path for f in plan.writes} == {f.path for f in files}
    assert plan.services == list(SERVICES)
    apply_deploy(remote, plan, health_timeout=5, poll=0.1)

    for f in files:
        path = Path(root) / f.path
        assert path.read_text() == f.content
        assert stat.S_IMODE(path.stat().st_mode) == f.mode
    assert (Path(root) / "secrets/secret_key").read_text() == SECRETS["secret_key"]
    assert stat.S_IMODE((Path(root) / "secrets/admin_password").stat().st_mode) == 0o600
    assert (Path(root) / "dkim").is_dir()
    assert not Path("/tmp/x").exists() or Path("/tmp/x").stat().st_mtime < 0  # nothing ran
    assert standins.calls("docker") == [
        standins.compose("up", "-d", "--remove-orphans"),
        standins.compose("ps", "--all", "--format", "json"),
    ]
    assert standins.unexpected() == []
    # secrets travelled on stdin, never on a command line
    assert not any(SECRETS["secret_key"] in cmd or "pw;" in cmd for cmd in remote.history), (
        remote.history
    )
    env = (Path(root) / "mailu.env").read_text()
    assert "SECRET_KEY_FILE=/secrets/secret_key" in env and SECRETS["secret_key"] not in env


def test_second_deploy_makes_no_remote_write(specs, host) -> None:  # type: ignore[no-untyped-def]
    remote, standins = host
    files = files_for(specs)
    apply_deploy(remote, plan_deploy(remote, files, standins.root), health_timeout=5, poll=0.1)
    standins.clear()
    writes, commands = remote.writes, len(remote.history)
    plan = plan_deploy(remote, files, standins.root)
    assert plan.noop and plan.describe() == [] and plan.services == []
    apply_deploy(remote, plan)
    assert remote.writes == writes
    assert len(remote.history) == commands + 1  # one batched read of facts, nothing else
    assert standins.calls("docker") == [standins.compose("ps", "--all", "--format", "json")]


def test_only_what_changed_restarts(specs, host) -> None:  # type: ignore[no-untyped-def]
    remote, standins = host
    apply_deploy(
        remote, plan_deploy(remote, files_for(specs), standins.root), health_timeout=5, poll=0.1
    )
    standins.clear()
    # a Postfix override: smtp restarts, nothing else
    plan = plan_deploy(remote, files_for(specs, destination_concurrency=7), standins.root)
    assert [f.path for f in plan.writes] == ["overrides/postfix/postfix.cf"]
    assert plan.restart == {"smtp": "Postfix overrides changed"} and not plan.recreate
    apply_deploy(remote, plan, health_timeout=5, poll=0.1)
    assert standins.calls("docker")[1] == standins.compose("restart", "smtp")
    # mailu.env: every service reading it is recreated (compose re-reads env only then)
    standins.clear()
    plan = plan_deploy(
        remote,
        files_for(specs, destination_concurrency=7, message_ratelimit="9000/day"),
        standins.root,
    )
    assert [f.path for f in plan.writes] == ["mailu.env"]
    assert sorted(plan.recreate) == sorted(s for s in SERVICES if s != "redis")
    apply_deploy(remote, plan, health_timeout=5, poll=0.1)
    assert standins.calls("docker")[1] == standins.compose(
        "up", "-d", "--force-recreate", *sorted(s for s in SERVICES if s != "redis")
    )
    # the front's port binding (docker-compose.yml): only front is recreated
    standins.clear()
    files = files_for(specs)
    compose = next(f for f in files if f.path == "docker-compose.yml")
    changed = [
        f
        if f.path != "docker-compose.yml"
        else type(f)(f.path, compose.content.replace("203.0.113.7", "203.0.113.8"), f.mode)
        for f in files_for(specs, destination_concurrency=7, message_ratelimit="9000/day")
    ]
    plan = plan_deploy(remote, changed, standins.root)
    assert plan.recreate == {"front": "its docker-compose.yml definition changed"}
    assert standins.unexpected() == []


def test_a_stopped_service_is_started_and_a_mode_change_is_rewritten(specs, host) -> None:  # type: ignore[no-untyped-def]
    remote, standins = host
    files = files_for(specs)
    apply_deploy(remote, plan_deploy(remote, files, standins.root), health_timeout=5, poll=0.1)
    (standins.state / "running.json").write_text('["redis", "front", "resolver", "admin"]')
    (Path(standins.root) / "mailu.env").chmod(0o644)  # someone loosened it
    plan = plan_deploy(remote, files, standins.root)
    assert [f.path for f in plan.writes] == ["mailu.env"]
    assert {"imap", "smtp", "antispam"} <= set(plan.recreate) | set(plan.start)
    apply_deploy(remote, plan, health_timeout=5, poll=0.1)
    assert stat.S_IMODE((Path(standins.root) / "mailu.env").stat().st_mode) == 0o600
    assert standins.running() == sorted(SERVICES)


def test_unexpected_invocation_fails(host) -> None:  # type: ignore[no-untyped-def]
    remote, standins = host
    with pytest.raises(CommandFailed, match="exit 97"):
        remote.run(["docker", "system", "prune", "-af"])
    with pytest.raises(CommandFailed, match="exit 97"):
        remote.run(["apt-get", "install", "-y", "nginx"])
    assert len(standins.unexpected()) == 2


def test_checksums_match_rendered_bytes(specs, host) -> None:  # type: ignore[no-untyped-def]
    remote, standins = host
    files = files_for(specs)
    apply_deploy(remote, plan_deploy(remote, files, standins.root), health_timeout=5, poll=0.1)
    sums = remote.sha256([f"{standins.root}/{f.path}" for f in files])
    for f in files:
        assert sums[f"{standins.root}/{f.path}"] == hashlib.sha256(f.content.encode()).hexdigest()
