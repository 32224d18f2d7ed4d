"""What ``penguinctl mailu deploy`` does: render, reach the server over SSH, bootstrap
(optional), plan the deploy and apply it. Testable without a terminal."""

from __future__ import annotations

from typing import Any

from penguinctl.core.errors import ConfigError


def _server_ssh(specs: Any, session: Any, server: str) -> dict[str, Any]:
    from penguinctl.core.expand import _mailu_ssh

    doc = specs.servers.get(server)
    if doc is None:
        raise ConfigError(f"no Server {server!r} in the specs")
    ssh = _mailu_ssh(f"server/{server}", doc.spec)
    if not isinstance(ssh["host"], str):
        recorded = session.store.get(f"server/{server}")
        ssh["host"] = recorded.outputs.get("ipv4") if recorded else None
    return ssh


def remote_for(session: Any, specs: Any, server: str) -> Any:
    """The pooled SSH connection to ``server`` (host keys pinned in the store)."""
    from penguinctl.core import expand
    from penguinctl.providers.mailu_ssh import target_for
    from penguinctl.remote.connection import Remote
    from penguinctl.remote.hostkeys import StorePins

    tenant = specs.servers[server].spec.tenant if server in specs.servers else ""
    ctx = session.context("mailu", expand._tenant_instance(specs, tenant, "mailu"), tenant)
    target = target_for(ctx, server, {"ssh": _server_ssh(specs, session, server)})
    return Remote(target, StorePins(session.store)), ctx


def deploy(
    session: Any, specs: Any, server: str, *, dry_run: bool, bootstrap: bool
) -> dict[str, Any]:
    from penguinctl.mailu.bootstrap import Want, run_bootstrap
    from penguinctl.mailu.deploy import apply_deploy, plan_deploy
    from penguinctl.mailu.files import server_files

    remote, ctx = remote_for(session, specs, server)
    try:
        out: dict[str, Any] = {"server": server, "target": remote.target.where}
        if bootstrap:
            mail_host = specs.servers[server].spec.mail_host
            want = Want(mail_host, ssh_port=remote.target.port)
            result = run_bootstrap(remote, want, dry_run=dry_run)
            out["bootstrap"] = [{"step": s.name, "why": s.why} for s in result.steps]
        _, files = server_files(session, specs, server, generate=not dry_run, show_secrets=True)
        root = str(ctx.settings.get("mailu_root", "/mailu"))
        plan = plan_deploy(remote, files, root)
        out["plan"] = plan.to_dict()
        out["changes"] = plan.describe()
        if not dry_run:
            apply_deploy(
                remote, plan, health_timeout=float(ctx.settings.get("health_timeout", 300))
            )
        out["applied"] = not dry_run
        return out
    finally:
        remote.close()
