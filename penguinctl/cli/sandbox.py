"""sandbox up|down|status|reset: the emulators as a background service."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


def _dir(ctx: typer.Context):  # type: ignore[no-untyped-def]
    session = ctx.obj.session()
    return session.ws.state_dir / "sandbox"


@app.command()
def up(ctx: typer.Context) -> None:
    """Start the emulators and the sandbox DNS server in the background."""
    from penguinctl.sandbox import host

    out = ctx.obj.out()
    info = host.start_background(_dir(ctx))
    if out.mode == "json":
        out.json(info)
    else:
        out.success(f"sandbox running (pid {info.get('pid')})")
        for name, url in sorted((info.get("endpoints") or {}).items()):
            out.out.print(f"  {name}: {url}")
        if info.get("dns"):
            out.out.print(f"  dns: {info['dns'][0]}:{info['dns'][1]}")


@app.command()
def down(ctx: typer.Context) -> None:
    """Stop the background sandbox (its state is kept)."""
    from penguinctl.sandbox import host

    out = ctx.obj.out()
    stopped = host.stop(_dir(ctx))
    out.success("sandbox stopped" if stopped else "sandbox was not running")


@app.command()
def status(ctx: typer.Context) -> None:
    """Is the sandbox running, where, and what does it hold."""
    from penguinctl.sandbox import host

    out = ctx.obj.out()
    info = host.status(_dir(ctx))
    if out.mode == "json":
        out.json(info)
    else:
        import json

        out.out.print(json.dumps(info, indent=2, default=str), markup=False)


@app.command()
def reset(ctx: typer.Context, yes: bool = typer.Option(False, "--yes", "-y")) -> None:
    """Forget every emulated server, zone and mailbox."""
    from penguinctl.core.errors import PenguinError
    from penguinctl.sandbox import host

    out = ctx.obj.out()
    if not yes:
        import sys

        if not sys.stdin.isatty():
            raise PenguinError("refusing without confirmation", hint="pass --yes")
        if not typer.confirm("Reset the sandbox world?"):
            raise typer.Exit(1)
    host.reset(_dir(ctx))
    out.success("sandbox reset")
