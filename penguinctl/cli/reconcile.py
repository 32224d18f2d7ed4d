"""validate, schema, plan, apply, destroy: the reconcile commands."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import typer

from penguinctl.cli.engine import ENGINE, EngineName, route

FILES = typer.Option([], "--file", "-f", help="Spec file or directory (repeatable); - reads stdin.")
TARGET = typer.Option(None, "--target", "-t", help="Limit to these tenants (repeatable).")
ADOPT = typer.Option(
    [], "--adopt", help="Take over the foreign object in the way of this key (repeatable)."
)


def _adopting(plan: Any, keys: list[str]) -> Any:
    from penguinctl.core.plan import adopting

    return adopting(plan, keys) if keys else plan


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(schema)
    app.command()(plan)
    app.command()(apply)
    app.command()(destroy)


def _stdin(files: list[str]) -> Any:
    return sys.stdin if "-" in files else None


def validate(ctx: typer.Context, files: list[str] = FILES) -> None:
    """Check specs without touching anything: every problem at once, with file:line:column."""
    from penguinctl import ops
    from penguinctl.core import expand, graph

    g = ctx.obj
    out = g.out()
    specs = ops.load_specs(files, _stdin(files))
    resources = expand.expand(specs)
    graph.check(resources)
    if out.mode == "json":
        out.json({"valid": True, "documents": len(specs.documents), "resources": len(resources)})
    else:
        out.success(f"{len(specs.documents)} documents valid ({len(resources)} resources).")


def schema(ctx: typer.Context) -> None:
    """Print the JSON Schema of every spec kind (for editors: yaml-language-server)."""
    import json

    from penguinctl import spec

    sys.stdout.write(json.dumps(spec.json_schema(), indent=2) + "\n")


def plan(
    ctx: typer.Context,
    files: list[str] = FILES,
    target: list[str] = TARGET,
    out_file: Path = typer.Option(
        None, "--out", help="Save the plan (with its checksum) for apply."
    ),
    refresh: bool = typer.Option(
        False, "--refresh", help="Read live state first and report drift."
    ),
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 2 when there are changes."
    ),
    full: bool = typer.Option(False, "--full", help="List every change even in large plans."),
    adopt: list[str] = ADOPT,
    engine: EngineName = ENGINE,
) -> None:
    """Show what apply would change. Never writes anything but --out."""
    from penguinctl import ops

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        if route(
            session,
            engine,
            "plan",
            out,
            files,
            target,
            refresh=refresh,
            detailed_exitcode=detailed_exitcode,
        ):
            return
        result = ops.make_plan(
            session, files, targets=target or None, do_refresh=refresh, stdin=_stdin(files)
        )
        result = _adopting(result, adopt)
        if session.store.pending():
            out.warn("an earlier apply was interrupted; the next apply settles it first")
        if out_file:
            ops.save_plan(result, out_file)
            out.info(f"plan saved to {out_file} (checksum {result.checksum[:16]})")
        out.plan(result, full=full)
    finally:
        session.close()
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(2)


def apply(
    ctx: typer.Context,
    plan_file: Path = typer.Argument(None, help="A plan saved with `plan --out`."),
    files: list[str] = FILES,
    target: list[str] = TARGET,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    parallelism: int = typer.Option(
        None, "--parallelism", min=1, max=256, help="Changes in flight at once."
    ),
    keep_going: bool = typer.Option(
        False, "--keep-going", help="A failure stops only its own tenant."
    ),
    force: bool = typer.Option(False, "--force", help="Allow deleting servers and mass deletions."),
    allow_replace: bool = typer.Option(
        False, "--allow-replace", help="Allow replacing servers (new IP)."
    ),
    max_new_servers: int = typer.Option(
        None, "--max-new-servers", min=0, help="Cap on servers bought by this apply."
    ),
    no_verify: bool = typer.Option(
        False, "--no-verify", help="Skip the checks that run after apply."
    ),
    refresh: bool = typer.Option(False, "--refresh", help="Read live state before planning."),
    adopt: list[str] = ADOPT,
    engine: EngineName = ENGINE,
) -> None:
    """Apply specs (or a saved plan): confirm, change in dependency order, record each change."""
    from penguinctl import ops

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        if route(session, engine, "apply", out, files, target, refresh=refresh, yes=yes):
            return
        if plan_file is not None and files:
            raise typer.BadParameter("give either a PLANFILE or -f specs, not both")
        settled = ops.settle_pending(session)
        if settled:
            out.info(f"settled {settled} change(s) left pending by an interrupted run")
        if plan_file is not None:
            the_plan = ops.load_plan(session, plan_file)
        else:
            the_plan = ops.make_plan(
                session, files, targets=target or None, do_refresh=refresh, stdin=_stdin(files)
            )
            the_plan = _adopting(the_plan, adopt)
        if not the_plan.changes:
            if out.mode == "json":
                from penguinctl.core.engine import ApplyResult

                out.apply_result(ApplyResult(run_id=None))
            else:
                out.plan(the_plan)
            _verify(session, out, no_verify)
            return
        opts = ops.ApplyOptions(parallelism, keep_going, force, allow_replace, max_new_servers)
        _confirm_and_run(session, the_plan, opts, out, "apply", yes=yes, stdin_used="-" in files)
        _verify(session, out, no_verify)
    finally:
        session.close()


def destroy(
    ctx: typer.Context,
    files: list[str] = FILES,
    target: list[str] = TARGET,
    yes: bool = typer.Option(False, "--yes", "-y"),
    force: bool = typer.Option(False, "--force", help="Required to delete servers."),
    parallelism: int = typer.Option(None, "--parallelism", min=1, max=256),
    keep_going: bool = typer.Option(False, "--keep-going"),
    engine: EngineName = ENGINE,
) -> None:
    """Delete everything penguinctl manages for the given tenants (-t) or specs (-f)."""
    from penguinctl import ops
    from penguinctl.core.errors import ConfigError

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        if not files and not target:
            raise ConfigError(
                "destroy needs --target TENANT or -f specs",
                hint="penguinctl destroy -t acme --force",
            )
        if route(session, engine, "destroy", out, files, target, yes=yes):
            return
        ops.settle_pending(session)
        the_plan = ops.make_plan(
            session, files, targets=target or None, destroy=True, stdin=_stdin(files)
        )
        if not the_plan.changes:
            if out.mode == "text":
                out.plan(the_plan)
            return
        opts = ops.ApplyOptions(parallelism, keep_going, force=force, allow_replace=False)
        _confirm_and_run(session, the_plan, opts, out, "destroy", yes=yes, stdin_used="-" in files)
    finally:
        session.close()


def _confirm_and_run(
    session: Any, the_plan: Any, opts: Any, out: Any, command: str, *, yes: bool, stdin_used: bool
) -> None:
    """Show the plan, confirm, apply it, report; exit 130 when interrupted, 1 on failures."""
    if out.mode == "text":
        out.plan(the_plan)
    _confirm(out, yes, stdin_used)
    result = _run_with_signals(session, the_plan, opts, out, command)
    out.apply_result(result)
    if result.interrupted:
        raise typer.Exit(130)
    if not result.ok:
        raise typer.Exit(1)


def _confirm(out: Any, yes: bool, stdin_used: bool) -> None:
    from penguinctl.core.errors import PenguinError

    if yes:
        return
    if stdin_used or not sys.stdin.isatty():
        raise PenguinError(
            "refusing to apply without confirmation: no terminal to ask",
            hint="review the plan, then pass --yes (CI) or save it with --out and apply the file",
        )
    if not typer.confirm("Apply these changes?", default=False):
        raise typer.Exit(1)


def _run_with_signals(session: Any, the_plan: Any, opts: Any, out: Any, command: str) -> Any:
    """First Ctrl-C finishes in-flight changes and records them; the second stops waiting."""
    from penguinctl import ops

    holder: dict[str, Any] = {}
    presses = {"n": 0}
    total = len(the_plan.changes)
    counter = {"n": 0}

    def on_signal(signum: int, frame: Any) -> None:
        presses["n"] += 1
        if presses["n"] == 1 and "applier" in holder:
            holder["applier"].stop()
            out.warn("interrupt: finishing in-flight changes (Ctrl-C again to stop waiting)")
        else:
            raise KeyboardInterrupt

    def on_event(event: str, change: Any, outcome: Any) -> None:
        if event == "start":
            out.debug(f"… {change.action} {change.key}")
            return
        counter["n"] += 1
        mark = {"applied": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[yellow]–[/]"}[event]
        if out.mode == "text" and out.verbosity >= 0:
            from rich.markup import escape

            detail = (
                f" ({escape(outcome.error)})"
                if outcome and outcome.error and event == "skipped"
                else ""
            )
            out.err.print(
                f"{mark} [{counter['n']}/{total}] {change.action} {escape(change.key)}{detail}"
            )
        if bar is not None:
            bar.update(task, completed=counter["n"])

    # On a terminal, a live progress bar under the result lines; plain lines otherwise (CI).
    bar: Any = None
    task: Any = None
    if out.mode == "text" and out.verbosity >= 0 and out.err.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=out.err,
            transient=True,
        )
        task = bar.add_task(command, total=total)
        bar.start()

    previous = signal.signal(signal.SIGINT, on_signal)
    try:
        return ops.apply_plan(
            session,
            the_plan,
            opts,
            command=command,
            on_event=on_event,
            applier_hook=lambda a: holder.__setitem__("applier", a),
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.stop()


def _verify(session: Any, out: Any, skip: bool) -> None:
    if skip:
        return
    from penguinctl import verify

    results = verify.run_all(session)
    failed = [r for r in results if r.status == "error"]
    for r in results:
        if r.status != "ok":
            (out.warn if r.status == "warn" else out.fatal)(f"{r.code} {r.subject}: {r.message}")
    if results and out.mode == "text":
        out.info(f"verify: {len(results) - len(failed)}/{len(results)} checks passed")
    if failed:
        raise typer.Exit(1)
