"""``penguinctl stack export TENANT DIR``: a standalone Pulumi project for one tenant."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("export")
def export(
    ctx: typer.Context,
    tenant: str = typer.Argument(..., help="The tenant whose stack to export."),
    directory: Path = typer.Argument(..., help="Where to write the project (created)."),
    files: list[str] = typer.Option([], "--file", "-f", help="Spec file or directory."),
) -> None:
    """Write Pulumi.yaml, the program, requirements.txt and the stack's config (secrets as
    references) so a team can run `pulumi preview/up` with its own CLI and backend."""
    from penguinctl.pulumi_engine.export import export_stack
    from penguinctl.spec.pools import recorded_assignments

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        pools = recorded_assignments(session.store)  # keep each domain on its recorded IP
        written = export_stack(session.ws, tenant, files, directory, pools=pools)
        if out.mode == "json":
            out.json({"tenant": tenant, "directory": str(directory), "files": written})
        else:
            out.success(f"wrote {len(written)} files to {directory}")
            out.info(f"cd {directory} && pulumi stack select --create tenant-{tenant} && pulumi up")
    finally:
        session.close()
