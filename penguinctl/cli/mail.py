"""``penguinctl mail test DOMAIN``: a signed test message and its verdicts."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("test")
def mail_test(
    ctx: typer.Context,
    domain: str = typer.Argument(..., help="The mail domain to test."),
    to: str = typer.Option(None, "--to", help="Recipient shown in the test message."),
    seed: str = typer.Option(
        None, "--seed", help="Real infrastructure: the mailbox to read the message back from."
    ),
    seed_password: str = typer.Option(
        None, "--seed-password", help="The seed's IMAP password as a reference (env:X, file:Y)."
    ),
    seed_imap: str = typer.Option(None, "--seed-imap", help="The seed's IMAP HOST[:PORT]."),
    ca_file: str = typer.Option(None, "--ca-file", help="A private CA for SMTP and IMAP TLS."),
    wait: float = typer.Option(120.0, "--wait", help="Seconds to wait for the seed copy."),
) -> None:
    """Send a test message through the domain's server and report DKIM, SPF, DMARC, PTR, TLS."""
    from penguinctl.core.errors import PenguinError
    from penguinctl.mail.mailtest import sandbox_mail_test, seed_mail_test

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        if seed and not session.ws.sandbox:
            result = seed_mail_test(
                session,
                domain,
                seed,
                seed_password=seed_password,
                seed_imap=seed_imap,
                ca_file=ca_file,
                wait=wait,
            )
        else:
            result = sandbox_mail_test(session, domain, to=to)
    finally:
        session.close()
    if out.mode == "json":
        out.json(result)
    else:
        marks = {True: "ok", False: "FAIL", None: "n/a"}
        out.table(
            f"mail test {result['domain']} from {result['from']} (HELO {result['helo']})",
            ["code", "check", "result", "detail"],
            [[v["code"], v["name"], marks[v["ok"]], v["detail"]] for v in result["verdicts"]],
        )
    if not result["ok"]:
        failed = ", ".join(v["code"] for v in result["verdicts"] if v["ok"] is False)
        raise PenguinError(f"mail test of {domain} failed: {failed}", hint="see the details above")
