"""campaign plan|run|status|report|settle|pause|resume|stop|resume-mailbox; unsubscribe serve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

app = typer.Typer(no_args_is_help=True)
unsubscribe_app = typer.Typer(no_args_is_help=True)

FILES = typer.Option([], "--file", "-f", help="Spec file or directory with the Campaign.")
NAME = typer.Argument(..., help="metadata.name of the Campaign")


def _campaign(session: Any, name: str, files: list[str]) -> dict[str, Any]:
    from penguinctl.campaigns import ops
    from penguinctl.campaigns.snapshot import find_campaign

    if files:
        return ops.record(session.store, files, name, bool(session.ws.sandbox))
    return find_campaign(session.store, name)


@app.command()
def plan(
    ctx: typer.Context,
    name: str = NAME,
    files: list[str] = FILES,
    contact: str = typer.Option(None, "--contact", help="render every step for this contact"),
    limit: int = typer.Option(20, "--limit", help="how many upcoming sends to list"),
) -> None:
    """Who gets what next, a preview, and every rendering error (nothing is sent)."""
    from penguinctl.campaigns import ops

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        result = ops.plan(session.store, _campaign(session, name, files), contact=contact)
    finally:
        session.close()
    if out.mode == "json":
        out.json(result.__dict__)
    else:
        out.info(f"campaign {name}: {result.contacts} contact(s) in the audience")
        for box in result.missing_mailboxes:
            out.warn(f"sender {box} is not provisioned (no mailu_mailbox/{box} in the state)")
        rows = [[s["contact"], s["step"], s["mailbox"], s["when"]] for s in result.next_sends]
        out.table("next sends", ["contact", "step", "mailbox", "when"], rows[:limit])
        if len(rows) > limit:
            out.info(f"… and {len(rows) - limit} more")
        if result.waiting:
            waiting = [[k, v] for k, v in result.waiting.items()]
            out.table(None, ["waiting because", "contacts"], waiting)
        if result.preview:
            for step in result.preview["steps"]:
                out.write(
                    f"\n--- step {step['step']} (variant {step['variant']}) to "
                    f"{result.preview['contact']}\nSubject: {step['subject']}\n\n{step['text']}\n"
                )
    ops.raise_render_errors(result)


@app.command()
def run(
    ctx: typer.Context,
    name: str = NAME,
    files: list[str] = FILES,
    once: bool = typer.Option(False, "--once", help="send what is due now and exit"),
) -> None:
    """Send the campaign: at most once per contact and step, within its pacing."""
    from penguinctl.campaigns.runner import Runner

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        campaign = _campaign(session, name, files)
        if session.ws.sandbox:
            _ = session.sandbox_handle  # the sandbox MailU's SMTP endpoints run with its world
        runner = Runner(session.store, campaign, progress=out.info)
        result = runner.run(once=once)
    finally:
        session.close()
    data = result.to_dict()
    if out.mode == "json":
        out.json(data)
        return
    if result.settled_ambiguous:
        out.warn(
            f"{result.settled_ambiguous} send(s) of an interrupted run are ambiguous: "
            "see `penguinctl campaign status` (they are never re-sent automatically)"
        )
    counts = ", ".join(f"{v} {k}" for k, v in sorted(data["counts"].items())) or "nothing due"
    out.success(f"campaign {name}: {counts}")


@app.command()
def status(ctx: typer.Context, name: str = NAME) -> None:
    """Sent, deferred, failed, ambiguous and outcomes; ambiguous sends and paused mailboxes."""
    _report(ctx, name, detail=False, fmt=None, chart=None)


@app.command()
def report(
    ctx: typer.Context,
    name: str = NAME,
    fmt: str = typer.Option(None, "--format", help="csv (else the global --output)"),
    chart: Path = typer.Option(None, "--chart", help="also draw sends and outcomes per day"),
) -> None:
    """Per step, variant and mailbox, with A/B significance; --output json or --format csv."""
    _report(ctx, name, detail=True, fmt=fmt, chart=chart)


def _report(ctx: typer.Context, name: str, *, detail: bool, fmt: str | None, chart: Any) -> None:
    from penguinctl.campaigns.report import csv_rows
    from penguinctl.campaigns.report import report as build
    from penguinctl.campaigns.snapshot import find_campaign

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        data = build(session.store, find_campaign(session.store, name))
    finally:
        session.close()
    if chart is not None:
        from penguinctl.campaigns.chart import draw

        draw(data, chart)
        out.info(f"chart written to {chart}")
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(csv_rows(data))
        out.write(buffer.getvalue())
        return
    if out.mode == "json":
        out.json(data)
        return
    totals = data["totals"]
    out.table(f"campaign {name} ({data['state']})", list(totals), [list(totals.values())])
    for box, reason in data["paused_mailboxes"].items():
        out.warn(f"mailbox {box} is paused: {reason}")
    if data["ambiguous"]:
        out.warn(f"{len(data['ambiguous'])} ambiguous send(s) need a human (never re-sent):")
        out.table(
            None,
            ["contact", "step", "mailbox", "why"],
            [[a["contact"], a["step"], a["mailbox"], a["error"]] for a in data["ambiguous"]],
        )
    if detail:
        for axis in ("step", "variant", "mailbox"):
            rows = [[k, *v.values()] for k, v in data[f"by_{axis}"].items()]
            out.table(f"by {axis}", [axis, *totals], rows)
        if data["ab"]:
            out.table(
                "A/B (reply rate vs the first variant)",
                ["step", "variant", "sent", "replied", "rate", "z", "p"],
                [
                    [
                        a["step"],
                        a["variant"],
                        a["sent"],
                        a["replied"],
                        f"{a['reply_rate']:.1%}",
                        f"{a['z']:.2f}",
                        f"{a['p_value']:.3f}",
                    ]
                    for a in data["ab"]
                ],
            )


@app.command()
def settle(
    ctx: typer.Context,
    name: str = NAME,
    sent: list[int] = typer.Option([], "--sent", help="ID of a send that did go out (repeat)"),
    not_sent: list[int] = typer.Option(
        [], "--not-sent", help="ID of a send that did not go out: it becomes due again (repeat)"
    ),
    all_sent: bool = typer.Option(False, "--all-sent", help="every ambiguous send went out"),
) -> None:
    """List ambiguous sends (interrupted inside DATA) and record your decision on them.

    Check the recipient's mailbox or the server's log for each Message-ID first:
    a send settled as sent is never sent again; one settled as not sent is due
    again. Every decision is audited (`penguinctl history`).
    """
    from penguinctl.campaigns import ops

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        result = ops.settle(
            session.store,
            name,
            sent=sent,
            not_sent=not_sent,
            all_sent=all_sent,
            workspace=str(session.ws.root),
            profile=session.ws.profile,
        )
    finally:
        session.close()
    if out.mode == "json":
        out.json(
            {
                "run": result.run_id,
                "settled_sent": [r["id"] for r in result.sent],
                "settled_not_sent": [r["id"] for r in result.not_sent],
                "ambiguous": [
                    {**r, "step": r["step"] + 1, "claimed_at": r["claimed_at"].isoformat()}
                    for r in result.pending
                ],
            }
        )
        return
    if result.run_id is not None:
        out.success(
            f"campaign {name}: {len(result.sent)} settled as sent, "
            f"{len(result.not_sent)} as not sent (due again); audited as run {result.run_id}"
        )
    if not result.pending:
        out.info(f"campaign {name}: no ambiguous sends")
        return
    out.table(
        f"ambiguous sends of {name} (decide with --sent ID / --not-sent ID)",
        ["id", "contact", "step", "mailbox", "message-id", "claimed at"],
        [
            [
                r["id"],
                r["contact"],
                r["step"] + 1,
                r["mailbox"],
                r["message_id"],
                r["claimed_at"].isoformat(timespec="seconds"),
            ]
            for r in result.pending
        ],
    )


def _state(ctx: typer.Context, name: str, state: str) -> None:
    from penguinctl.campaigns import ops

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        ops.set_state(session.store, name, state)
    finally:
        session.close()
    out.success(f"campaign {name} is {state}")


@app.command()
def pause(ctx: typer.Context, name: str = NAME) -> None:
    """Stop sending until `campaign resume` (a running runner stops at its next pass)."""
    _state(ctx, name, "paused")


@app.command()
def resume(ctx: typer.Context, name: str = NAME) -> None:
    """Resume a paused campaign."""
    _state(ctx, name, "active")


@app.command()
def stop(ctx: typer.Context, name: str = NAME) -> None:
    """End the campaign for good: nothing more is sent."""
    _state(ctx, name, "stopped")


@app.command("resume-mailbox")
def resume_mailbox(ctx: typer.Context, mailbox: str = typer.Argument(...)) -> None:
    """Resume a sender mailbox paused after its server refused a submission."""
    from penguinctl.campaigns import ledger

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        found = ledger.resume_mailbox(session.store, mailbox)
    finally:
        session.close()
    out.success(f"mailbox {mailbox} resumed" if found else f"mailbox {mailbox} was not paused")


@unsubscribe_app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8025, "--port"),
) -> None:
    """Serve one-click unsubscribe (RFC 8058 POST) and its confirmation page (GET)."""
    from penguinctl.campaigns.unsubscribe import make_server

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        server = make_server(session.store, host, port)
        bound_host, bound_port = server.server_address[:2]
        out.info(f"unsubscribe endpoint on http://{bound_host!s}:{bound_port}/u/")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    finally:
        session.close()
