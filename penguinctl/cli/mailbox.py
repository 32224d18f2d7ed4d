"""``penguinctl mailbox creds DOMAIN``: SMTP/IMAP settings of a domain's mailboxes."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def creds(
    ctx: typer.Context,
    domain: str = typer.Argument(..., help="The mail domain."),
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Print the passwords."),
) -> None:
    """The settings a mail client needs for each mailbox of DOMAIN."""
    from penguinctl.mailu.creds import mailbox_creds

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        rows = mailbox_creds(session.store, domain, show_secrets=show_secrets)
    finally:
        session.close()
    if out.mode == "json":
        out.json(rows)
        return
    out.table(
        f"Mailboxes of {domain}",
        ["address", "password", "SMTP", "IMAP"],
        [
            [
                r["address"],
                r["password"],
                f"{r['smtp']['host']}:{r['smtp']['port']} {r['smtp']['security']}",
                f"{r['imap']['host']}:{r['imap']['port']} {r['imap']['security']}",
            ]
            for r in rows
        ],
    )
