"""The root Typer app: global options, sub-apps, and the one place errors become exit codes.

Exit codes: 0 ok, 1 error, 2 changes pending (``--detailed-exitcode``),
3 validation failed, 130 interrupted. An expected error prints one red line and
a hint; an unexpected one prints one line and writes its traceback to
``state/logs/``. Only typer is imported here: commands import what they need.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import typer

from penguinctl import __version__


class Fmt(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


@dataclass
class Globals:
    workspace: str | None
    profile: str | None
    sandbox: bool | None
    output: str
    verbosity: int

    def out(self) -> Any:
        from penguinctl.cli.output import Output

        return Output(self.output, self.verbosity)

    def session(self, out: Any = None) -> Any:
        from penguinctl.session import Session

        progress = out.debug if out is not None else (lambda _m: None)
        return Session(self.workspace, self.profile, self.sandbox, progress=progress)


app = typer.Typer(
    name="penguinctl",
    help="Infrastructure as code for cold-email sending: servers, DNS, MailU and campaigns.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"penguinctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    workspace: str = typer.Option(
        None,
        "--workspace",
        "-w",
        envvar="PENGUIN_WORKSPACE",
        help="Workspace directory (default: found by walking up).",
    ),
    profile: str = typer.Option(
        None,
        "--profile",
        "-p",
        envvar="PENGUIN_PROFILE",
        help="Named profile from penguinctl.yaml.",
    ),
    sandbox: bool = typer.Option(
        None, "--sandbox/--no-sandbox", help="Use the local emulators instead of vendor APIs."
    ),
    output: Fmt = typer.Option(
        Fmt.text, "--output", "-o", help="Output format for machines or pull requests."
    ),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More detail (repeatable)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors and results."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    ctx.obj = Globals(workspace, profile, sandbox, output.value, -1 if quiet else verbose)


def _register() -> None:
    from penguinctl.cli import misc, reconcile, sandbox, state

    reconcile.register(app)
    misc.register(app)
    app.add_typer(state.app, name="state", help="Inspect and repair recorded state.")
    app.add_typer(
        sandbox.app, name="sandbox", help="Run the local emulators as a background service."
    )
    from penguinctl.cli import contacts

    app.add_typer(contacts.app, name="contacts", help="Import, list and suppress contacts.")
    from penguinctl.cli import campaign

    app.add_typer(campaign.app, name="campaign", help="Plan, run and report campaigns.")
    app.add_typer(
        campaign.unsubscribe_app, name="unsubscribe", help="The one-click unsubscribe endpoint."
    )
    from penguinctl.cli import dns

    app.add_typer(dns.app, name="dns", help="Check the mail domains' DNS live.")
    from penguinctl.cli import mailu

    app.add_typer(mailu.app, name="mailu", help="What penguinctl deploys to a server's MailU.")
    from penguinctl.cli import remote

    app.add_typer(remote.app, name="remote", help="SSH host keys pinned on first use.")
    from penguinctl.cli import mailbox

    app.add_typer(mailbox.app, name="mailbox", help="Mailbox credentials for mail clients.")
    from penguinctl.cli import mail

    app.add_typer(mail.app, name="mail", help="Test messages and their verdicts.")

    from penguinctl.cli import inbox

    app.add_typer(inbox.app, name="inbox", help="Read bounces, complaints and replies (IMAP).")
    from penguinctl.cli import worker

    app.add_typer(worker.app, name="worker", help="Scale-out sending workers on Redis.")
    from penguinctl.cli import engine, stack

    app.add_typer(engine.app, name="engine", help="The engine that owns resources (migrate).")
    app.add_typer(stack.app, name="stack", help="Tenants as Pulumi stacks (export).")


_register()


def main() -> None:
    """Console entry point."""
    import gc

    try:  # typer >= 0.2x vendors click; older releases use click itself
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click.exceptions import ClickException  # type: ignore[no-redef,assignment]

    # A command is short-lived and allocates many small objects (specs, resources,
    # changes): collect rarely. Halves the time of a 40,000-resource plan.
    gc.set_threshold(100_000, 50, 100)
    try:
        # Without standalone mode click returns the code of typer.Exit instead of exiting.
        code = app(args=hoist_globals(sys.argv[1:]), standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except ClickException as exc:
        # Usage errors exit 1, not click's 2: 2 means "changes pending" here.
        exc.show()
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        from penguinctl.core.errors import PenguinError

        if isinstance(exc, PenguinError):
            _report(exc)
            sys.exit(exc.exit_code)
        path = _log_traceback()
        sys.stderr.write(f"error: unexpected {type(exc).__name__}; details in {path}\n")
        sys.exit(1)


# Global options may also be written after the command (`apply -f x --sandbox --yes`),
# as with kubectl: they are moved in front before parsing.
_GLOBAL_FLAGS = {"--sandbox", "--no-sandbox", "-v", "--verbose", "-vv", "-q", "--quiet"}
_GLOBAL_VALUED = {"--workspace", "-w", "--profile", "-p", "--output", "-o"}


def hoist_globals(argv: list[str]) -> list[str]:
    front: list[str] = []
    rest: list[str] = []
    i = 0
    seen_command = False
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name = arg.split("=", 1)[0]
        if seen_command and arg in _GLOBAL_FLAGS:
            front.append(arg)
        elif seen_command and name in _GLOBAL_VALUED:
            if "=" in arg:
                front.append(arg)
            elif i + 1 < len(argv):
                front.extend(argv[i : i + 2])
                i += 1
        else:
            if not arg.startswith("-") and not (rest and rest[-1] in _GLOBAL_VALUED):
                seen_command = True
            rest.append(arg)
        i += 1
    return front + rest


def _report(exc: Any) -> None:
    from penguinctl.cli.output import Output

    mode = (
        "json"
        if any(a in ("-o=json", "--output=json") for a in sys.argv) or _argv_pair("json")
        else "text"
    )
    Output(mode).error(exc)


def _argv_pair(value: str) -> bool:
    args = sys.argv
    return any(
        a in ("-o", "--output") and i + 1 < len(args) and args[i + 1] == value
        for i, a in enumerate(args)
    )


def _log_traceback() -> str:
    import datetime
    import traceback
    from pathlib import Path

    from penguinctl.core.errors import redact

    try:
        from penguinctl.workspace import find_root

        base = find_root(os.environ.get("PENGUIN_WORKSPACE")) / "state" / "logs"
    except Exception:
        base = Path.home() / ".cache" / "penguinctl" / "logs"
    base.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = base / f"error-{stamp}-{os.getpid()}.log"
    path.write_text(redact(traceback.format_exc()))
    return str(path)
