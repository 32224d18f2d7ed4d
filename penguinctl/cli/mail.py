"""``penguinctl mail test DOMAIN``: a signed test message and its verdicts."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("test")
def mail_test(
    ctx: typer.Context,
    domain: str = typer.Argument(..., help="The mail domain to test."),
    to: str = typer.Option(None, "--to", help="Recipient shown in the test message."),
) -> None:
    """Send (sandbox: sign as MailU would) a test message and report DKIM, SPF, DMARC, PTR."""
    from penguinctl.core.errors import PenguinError
    from penguinctl.mail.mailtest import sandbox_mail_test

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
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
