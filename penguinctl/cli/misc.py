"""init, status, history, doctor."""

from __future__ import annotations

from pathlib import Path

import typer

from penguinctl.cli.engine import ENGINE, EngineName


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(status)
    app.command()(history)
    app.command()(doctor)


def init(
    ctx: typer.Context,
    directory: Path = typer.Argument(Path("."), help="Where to create the workspace."),
    sandbox: bool = typer.Option(True, "--sandbox/--no-sandbox", help="Start with the sandbox on."),
) -> None:
    """Write a starter workspace (penguinctl.yaml, state/, an example spec) that works at once."""
    from penguinctl import scaffold

    out = ctx.obj.out()
    written = scaffold.init(directory, sandbox=sandbox)
    for path in written:
        out.info(f"wrote {path}")
    out.success(
        f"workspace ready in {directory}. Next: cd {directory} && penguinctl plan -f specs/"
    )


def status(
    ctx: typer.Context,
    tenant: str = typer.Option(None, "--tenant", "-t"),
    refresh: bool = typer.Option(
        False,
        "--refresh",
        help="Read every recorded resource back and show drift (changes nothing remotely); "
        "exit 2 when something drifted or is gone.",
    ),
    engine: EngineName = ENGINE,
) -> None:
    """Inventory per tenant: servers, domains, resource counts, pending changes."""
    from penguinctl import ops

    if refresh:
        from penguinctl.cli import status_refresh

        status_refresh.run(ctx, tenant, engine)
        return
    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        data = ops.status(session, tenant)
    finally:
        session.close()
    if out.mode == "json":
        out.json(data)
        return
    rows = []
    for name, t in sorted(data["tenants"].items()):
        servers = ", ".join(
            f"{s['name']} {s['ipv4'] or '?'}" + (f" (PTR {s['ptr']})" if s.get("ptr") else "")
            for s in t["servers"]
        )
        rows.append([name, t["resources"], servers, ", ".join(sorted(t["domains"]))])
    out.table("Tenants", ["tenant", "resources", "servers", "mail domains"], rows)
    pools = [
        [name, pool["name"], domain, f"{a['server']} {', '.join(a['ips']) or '?'}"]
        for name, t in sorted(data["tenants"].items())
        for pool in t["pools"]
        for domain, a in pool["assignment"].items()
    ]
    if pools:
        out.table("Sending-IP pools", ["tenant", "pool", "domain", "sends from"], pools)
    if data["pending"]:
        out.warn(
            f"{data['pending']} change(s) pending from an interrupted run; `apply` settles them"
        )


def history(
    ctx: typer.Context,
    run: int = typer.Argument(None, help="Show one run's changes."),
    limit: int = typer.Option(20, "--limit", "-n"),
) -> None:
    """Past runs (who, when, what) or one run's changes."""
    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        store = session.store
        if run is None:
            runs = store.runs(limit)
            data = [
                {
                    "id": r.id,
                    "command": r.command,
                    "user": r.user,
                    "started_at": str(r.started_at),
                    "status": r.status,
                    "applied": (r.summary or {}).get("applied"),
                    "failed": (r.summary or {}).get("failed"),
                }
                for r in runs
            ]
            if out.mode == "json":
                out.json(data)
            else:
                cols = ["id", "command", "user", "started_at", "status", "applied", "failed"]
                out.table("Runs", cols, [[d[c] for c in cols] for d in data])
            return
        changes = store.changes(run)
        data = [
            {
                "id": c.id,
                "key": c.key,
                "tenant": c.tenant,
                "action": c.action,
                "status": c.status,
                "error": c.error,
            }
            for c in changes
        ]
        if out.mode == "json":
            out.json(data)
        else:
            cols = ["id", "action", "key", "tenant", "status", "error"]
            out.table(f"Run {run}", cols, [[d[c] for c in cols] for d in data])
    finally:
        session.close()


def doctor(ctx: typer.Context) -> None:
    """Say what is missing (workspace, store, credentials, SSH key, Pulumi CLI) and the fix."""
    from penguinctl import ops

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        checks = ops.doctor(session)
    finally:
        session.close()
    if out.mode == "json":
        out.json(checks)
    else:
        mark = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "error": "[red]error[/]"}
        for c in checks:
            fix = f"  [dim]fix: {c['fix']}[/]" if c["fix"] and c["status"] != "ok" else ""
            out.out.print(f"{mark[c['status']]:>14}  {c['name']}: {c['detail']}{fix}")
    if any(c["status"] == "error" for c in checks):
        raise typer.Exit(1)
