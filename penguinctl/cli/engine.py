"""``--engine pulumi`` on plan/apply/destroy, and ``penguinctl engine migrate``.

The built-in engine stays the default; ``engine: pulumi`` in penguinctl.yaml (or
``--engine pulumi``) sends plan → preview, apply → up, destroy → destroy through the
Automation API. Without the Pulumi CLI this fails at once with the install hint.
"""

from __future__ import annotations

import shutil
from contextlib import nullcontext
from enum import StrEnum
from typing import Any

import typer


class EngineName(StrEnum):
    builtin = "builtin"
    pulumi = "pulumi"


ENGINE = typer.Option(
    None, "--engine", help="Engine for this run (default: the workspace's `engine:`)."
)

app = typer.Typer(no_args_is_help=True)


def selected(session: Any, option: EngineName | None) -> str:
    return option.value if option is not None else session.ws.engine


def route(
    session: Any,
    option: EngineName | None,
    command: str,
    out: Any,
    files: list[str],
    targets: list[str],
    *,
    refresh: bool = False,
    detailed_exitcode: bool = False,
    yes: bool = False,
    runner: Any = None,
) -> bool:
    """Run ``command`` on the Pulumi engine when selected (True), else guard the built-in one."""
    engine = selected(session, option)
    if engine != "pulumi":
        if (session.ws.state_dir / "pulumi").is_dir():  # orchestrate.backend_dir
            from penguinctl.pulumi_engine.orchestrate import owned_elsewhere

            owned_elsewhere(session.store.recorded(), "builtin", targets)
        return False
    from penguinctl.pulumi_engine import orchestrate
    from penguinctl.pulumi_engine.runner import AutomationRunner

    if runner is None:
        runner = AutomationRunner(on_output=out.debug)  # fails fast without the CLI
    if command != "plan":
        if not files and command != "destroy":
            from penguinctl.core.errors import ConfigError

            raise ConfigError("the Pulumi engine applies specs", hint="pass -f FILE or -f DIR")
        if not yes:
            from penguinctl.core.errors import PenguinError

            raise PenguinError(
                f"refusing to {command} without confirmation",
                hint="review `penguinctl plan --engine pulumi`, then pass --yes",
            )
    with orchestrate.shared_sandbox(session.ws):
        if command == "plan":
            if refresh:  # --refresh → pulumi refresh first (Pulumi's state only; reported as drift)
                _show(out, orchestrate.refresh(session, files, targets or None, runner))
            report = orchestrate.preview(session, files, targets or None, runner)
        else:
            if refresh:
                orchestrate.refresh(session, files, targets or None, runner)
            fn = orchestrate.up if command == "apply" else orchestrate.destroy
            report = fn(session, files, targets or None, runner)
    _show(out, report)
    if detailed_exitcode and report.has_changes:
        raise typer.Exit(2)
    return True


def _show(out: Any, report: Any) -> None:
    if out.mode == "json":
        out.json(report.to_json())
        return
    rows = [
        [t, *(c.get(k, 0) for k in ("create", "update", "replace", "delete", "same"))]
        for t, c in sorted(report.tenants.items())
    ]
    out.table(
        f"pulumi {report.command}",
        ["tenant", "create", "update", "replace", "delete", "same"],
        rows,
    )
    if report.recorded or report.forgotten:
        out.info(f"store: {report.recorded} recorded, {report.forgotten} forgotten")


@app.command()
def migrate(
    ctx: typer.Context,
    to: EngineName = typer.Option(..., "--to", help="The engine that will own the resources."),
    files: list[str] = typer.Option([], "--file", "-f", help="The specs (the Pulumi program's)."),
    target: list[str] = typer.Option(None, "--target", "-t", help="Only these tenants."),
) -> None:
    """Move ownership between engines: import into the other side, then forget."""
    from penguinctl.pulumi_engine.migrate import migrate as do_migrate
    from penguinctl.pulumi_engine.runner import AutomationRunner

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        from penguinctl.pulumi_engine.orchestrate import shared_sandbox

        runner: Any
        if to is EngineName.builtin and shutil.which("pulumi") is None:
            from penguinctl.pulumi_engine.runner import OfflineRunner

            runner = OfflineRunner(session.store)  # the store mirrors the stacks
            out.warn("no Pulumi CLI: forgetting the stacks by archiving their state files")
        else:
            runner = AutomationRunner(on_output=out.debug)
        with shared_sandbox(session.ws) if isinstance(runner, AutomationRunner) else nullcontext():
            result = do_migrate(session, to.value, files, runner, target or None)
        if out.mode == "json":
            out.json(result.to_json())
        else:
            moved = sum(result.tenants.values())
            out.success(
                f"{moved} resource(s) of {len(result.tenants)} tenant(s) now owned by {to.value}"
            )
            if result.config_updated:
                out.info(f"penguinctl.yaml: engine: {to.value}")
    finally:
        session.close()


@app.command()
def refresh(
    ctx: typer.Context,
    files: list[str] = typer.Option([], "--file", "-f", help="The specs (the Pulumi program's)."),
    target: list[str] = typer.Option(None, "--target", "-t", help="Only these tenants."),
) -> None:
    """`pulumi refresh` of every tenant's stack: read live state into Pulumi's (drift)."""
    from penguinctl.pulumi_engine import orchestrate
    from penguinctl.pulumi_engine.runner import AutomationRunner

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        runner = AutomationRunner(on_output=out.debug)
        with orchestrate.shared_sandbox(session.ws):
            report = orchestrate.refresh(session, files, target or None, runner)
        _show(out, report)
    finally:
        session.close()
