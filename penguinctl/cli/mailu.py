"""``penguinctl mailu …``: what penguinctl deploys to a server's MailU."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def render(
    ctx: typer.Context,
    server: str = typer.Argument(..., help="The Server (metadata.name) whose MailU files to show."),
    files: list[str] = typer.Option([], "--file", "-f", help="Spec file or directory."),
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Print secret file contents."),
) -> None:
    """Show the files a deploy would write to SERVER (mailu.env, docker-compose.yml, overrides)."""
    from penguinctl import ops
    from penguinctl.mailu.files import server_files

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        specs = ops.load_specs(files)
        _, rendered = server_files(
            session, specs, server, generate=False, show_secrets=show_secrets
        )
    finally:
        session.close()
    if out.mode == "json":
        out.json(
            [{"path": f.path, "mode": f"{f.mode:04o}", "content": f.content} for f in rendered]
        )
        return
    for f in rendered:
        out.write(f"# --- /mailu/{f.path} (mode {f.mode:04o}) ---\n{f.content.rstrip()}\n")


@app.command()
def deploy(
    ctx: typer.Context,
    server: str = typer.Argument(..., help="The Server to deploy MailU to."),
    files: list[str] = typer.Option([], "--file", "-f", help="Spec file or directory."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would change; change nothing."),
    bootstrap: bool = typer.Option(
        False, "--bootstrap", help="First prepare the host (Docker, firewall, hostname…)."
    ),
) -> None:
    """Upload MailU's files to SERVER over SSH; restart only what changed."""
    from penguinctl import ops
    from penguinctl.mailu import ops as mailu_ops

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        specs = ops.load_specs(files)
        result = mailu_ops.deploy(session, specs, server, dry_run=dry_run, bootstrap=bootstrap)
    finally:
        session.close()
    if out.mode == "json":
        out.json(result)
        return
    for step in result.get("bootstrap", []):
        out.info(f"bootstrap {step['step']}: {step['why']}")
    for line in result["changes"]:
        out.info(line)
    verb = "would change" if dry_run else "changed"
    if result["changes"]:
        out.success(f"{server} ({result['target']}): {verb} {len(result['changes'])} thing(s)")
    else:
        out.success(f"{server} ({result['target']}): MailU is up to date, nothing to do")
