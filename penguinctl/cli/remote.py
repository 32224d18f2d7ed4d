"""``penguinctl remote …``: the SSH host keys penguinctl pinned (trust on first use)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def keys(ctx: typer.Context) -> None:
    """List the pinned host keys (host, key type, SHA256 fingerprint, first seen)."""
    from penguinctl.remote.hostkeys import pinned

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        rows = pinned(session.store)
    finally:
        session.close()
    if out.mode == "json":
        out.json(rows)
        return
    out.table(
        "Pinned host keys",
        ["host", "type", "fingerprint", "first seen"],
        [[r["host"], r["type"], r["fingerprint"], r["first_seen"]] for r in rows],
    )


@app.command()
def forget(
    ctx: typer.Context,
    host: str = typer.Argument(..., help="HOST, HOST:PORT or [HOST]:PORT"),
) -> None:
    """Forget a host's pinned key (after checking its new fingerprint out of band)."""
    from penguinctl.core.errors import ConfigError
    from penguinctl.remote.hostkeys import StorePins, parse_where

    g = ctx.obj
    out = g.out()
    try:
        name, port = parse_where(host)
    except ValueError:
        raise ConfigError(f"not a host: {host!r}", hint="HOST, HOST:PORT or [HOST]:PORT") from None
    session = g.session(out)
    try:
        removed = StorePins(session.store).forget(name, port)
    finally:
        session.close()
    if removed:
        out.success(f"forgot the host key of {host}; the next connection pins the key it shows")
    else:
        out.warn(f"no key pinned for {host}")
