"""dns check: live DNS checks of the mail domains, with the record to set for each problem."""

from __future__ import annotations

import time

import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def check(
    ctx: typer.Context,
    domains: list[str] = typer.Argument(None, help="Mail domains (default: every one)."),
    resolver: str = typer.Option(
        None, "--resolver", help="Ask only this server (HOST:PORT) instead of the zones' own."
    ),
    timeout: float = typer.Option(2.0, "--timeout", help="Seconds per DNS query."),
    wait: float = typer.Option(
        0.0, "--wait", help="After a check with errors, re-check for up to this many seconds."
    ),
    show_ok: bool = typer.Option(False, "--all", help="Also list the checks that passed."),
) -> None:
    """Check MX, A, SPF, DKIM, DMARC, PTR/FCrDNS and TLS-RPT of each mail domain live.

    Exit 1 when any check is an error. Every finding has a stable code, the rule it
    comes from and the exact record to set.
    """
    from penguinctl.dns.routing import run_checks

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    deadline: float | None = None
    try:
        while True:
            findings, counts = run_checks(
                session, domains or (), resolver=resolver, timeout=timeout
            )
            # The wait starts after the first check (opening the store is not propagation).
            deadline = deadline or time.monotonic() + max(0.0, wait)
            if counts["error"] == 0 or time.monotonic() >= deadline:
                break
            out.debug(f"{counts['error']} errors; checking again (--wait)")
            time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
    finally:
        session.close()
    if out.mode == "json":
        out.json({"findings": [f.to_dict() for f in findings], "summary": counts})
    else:
        shown = [f for f in findings if show_ok or f.status != "ok"]
        if shown:
            out.table(
                None,
                ["status", "code", "domain", "subject", "finding", "rule", "record to set"],
                [[f.status, f.code, f.domain, f.subject, f.message, f.rule, f.fix] for f in shown],
            )
        line = f"dns check: {counts['ok']} ok, {counts['warn']} warnings, {counts['error']} errors"
        (out.success if counts["error"] == 0 else out.info)(line)
    if counts["error"]:
        raise typer.Exit(1)
