"""state list|show|rm|unlock|import|migrate."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(ctx: typer.Context, tenant: str = typer.Option(None, "--tenant", "-t")) -> None:
    """Every recorded resource."""
    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        recs = sorted(session.store.recorded(tenant).values(), key=lambda r: r.key)
    finally:
        session.close()
    if out.mode == "json":
        out.json(
            [
                {
                    "key": r.key,
                    "tenant": r.tenant,
                    "provider": r.provider,
                    "id": r.id,
                    "status": r.status,
                }
                for r in recs
            ]
        )
    else:
        out.table(
            None,
            ["resource", "tenant", "provider", "id", "status"],
            [[r.key, r.tenant, r.provider, r.id, r.status] for r in recs],
        )


@app.command()
def show(ctx: typer.Context, address: str = typer.Argument(..., help="KIND/NAME")) -> None:
    """One recorded resource: attributes (secrets masked) and outputs."""
    from penguinctl.core.errors import PenguinError

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        rec = session.store.get(address)
    finally:
        session.close()
    if rec is None:
        raise PenguinError(
            f"{address} is not in the state", hint="`penguinctl state list` shows what is"
        )
    data = {
        "key": rec.key,
        "tenant": rec.tenant,
        "provider": rec.provider,
        "instance": rec.instance,
        "id": rec.id,
        "status": rec.status,
        "attrs": rec.attrs,
        "outputs": rec.outputs,
    }
    if out.mode == "json":
        out.json(data)
    else:
        import yaml

        out.out.print(yaml.safe_dump(data, sort_keys=False), markup=False)


@app.command()
def rm(
    ctx: typer.Context,
    address: str = typer.Argument(..., help="KIND/NAME"),
    yes: bool = typer.Option(False, "--yes", "-y"),
) -> None:
    """Forget a resource without deleting it at the provider."""
    from penguinctl.core.errors import PenguinError

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        store = session.store
        rec = store.get(address)
        if rec is None:
            raise PenguinError(f"{address} is not in the state")
        if not yes:
            import sys

            if not sys.stdin.isatty():
                raise PenguinError("refusing without confirmation", hint="pass --yes")
            if not typer.confirm(f"Forget {address} (it stays at {rec.provider})?"):
                raise typer.Exit(1)
        with store.lock("state rm"):
            run_id = store.begin_run(
                f"state rm {address}", workspace=str(session.ws.root), profile=session.ws.profile
            )
            cid = store.intent(
                run_id,
                tenant=rec.tenant,
                key=address,
                action="forget",
                before=rec.attrs,
                after=None,
            )
            store.remove(address)
            store.result(cid, "applied")
            store.finish_run(run_id, "ok", {"forgotten": address})
    finally:
        session.close()
    out.success(f"forgot {address}")


@app.command()
def unlock(ctx: typer.Context, yes: bool = typer.Option(False, "--yes", "-y")) -> None:
    """Break a stale workspace lock (shows its owner and age first)."""
    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        info = session.store.lock_info()
        if not info:
            out.success("the workspace is not locked")
            return
        out.info(f"lock held by {info}")
        if not yes:
            import sys

            from penguinctl.core.errors import PenguinError

            if not sys.stdin.isatty():
                raise PenguinError("refusing without confirmation", hint="pass --yes")
            if not typer.confirm("Break it?"):
                raise typer.Exit(1)
        session.store.break_lock()
    finally:
        session.close()
    out.success("lock broken")


@app.command("import")
def import_(
    ctx: typer.Context,
    address: str = typer.Argument(..., help="KIND/NAME, e.g. server/acme-mx1"),
    vendor_id: str = typer.Argument(..., help="The vendor's id (a Hostwinds service id…)"),
    tenant: str = typer.Option(..., "--tenant", "-t", help="Tenant that will own it."),
    provider: str = typer.Option(
        None, "--provider", help="Provider type when several manage KIND."
    ),
    instance: str = typer.Option(
        "default", "--instance", help="Provider instance from penguinctl.yaml."
    ),
) -> None:
    """Bring an object that already exists under management without touching it."""
    from penguinctl import ops

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        rec = ops.state_import(
            session, address, vendor_id, provider_type=provider, instance=instance, tenant=tenant
        )
    finally:
        session.close()
    out.success(
        f"imported {rec.key} (id {rec.id}); run `penguinctl plan` to compare it with its spec"
    )


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Apply store schema migrations (a SQLite file is backed up first)."""
    from penguinctl.store import open_store
    from penguinctl.store.crypto import load_secret_box

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    ws = session.ws
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(
        ws.store_url,
        secret_key=load_secret_box(ws.secret_key),
        auto_migrate=True,
        backup_dir=ws.state_dir / "backups",
    )
    try:
        applied = [*store.migrated_at_open, *store.migrate()]
        rev = store.current_revision()
        if store.backup_path:
            out.info(f"backed up the previous store to {store.backup_path}")
    finally:
        store.close()
    out.success(
        f"store at schema {rev}"
        + (f" (applied {', '.join(applied)})" if applied else " (up to date)")
    )
