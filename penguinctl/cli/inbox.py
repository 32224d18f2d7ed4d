"""inbox sync|events: read sender mailboxes, classify bounces, complaints, replies."""

from __future__ import annotations

import os

import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def sync(
    ctx: typer.Context,
    tenant: str = typer.Option(None, "--tenant", help="only this tenant's mailboxes"),
    ca_file: str = typer.Option(
        None,
        "--ca-file",
        envvar="PENGUIN_IMAP_CA_FILE",
        help="PEM of the CA (or self-signed certificate) the IMAP servers present",
    ),
    folder: list[str] = typer.Option(
        None,
        "--folder",
        help="a folder to read (repeat: --folder INBOX --folder Junk); default INBOX",
    ),
) -> None:
    """Read the sender mailboxes and the postmaster/abuse/bounce/dmarc addresses over
    IMAP/TLS (never deleting or moving mail) and act on bounces, complaints, replies,
    auto-replies and unsubscribes, each message once."""
    from penguinctl.inbound.sync import Sync, mailboxes, tls_context

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        store = session.store
        boxes = mailboxes(store, tenant, folder or ["INBOX"])
        sync = Sync(store, progress=out.debug)
        if session.ws.sandbox:
            result = sync.maildirs(session.ws.state_dir / "sandbox" / "maildirs", boxes)
        else:
            result = sync.imap(boxes, tls_context(ca_file or os.environ.get("SSL_CERT_FILE")))
    finally:
        session.close()
    data = result.to_dict()
    if out.mode == "json":
        out.json(data)
    else:
        for effect in data["effects"]:
            out.info(f"{effect['mailbox']}: {effect['kind']}: {effect['effect']}")
        for error in data["errors"]:
            out.warn(error)
        if data["missing_folders"]:
            out.info("no such folder: " + ", ".join(data["missing_folders"]))
        counts = ", ".join(f"{v} {k}" for k, v in sorted(data["counts"].items()))
        out.success(
            f"inbox sync: {data['mailboxes']} mailbox(es), {data['new']} new message(s)"
            + (f" ({counts})" if counts else "")
            + f", {data['already']} already read"
        )
    if data["errors"]:
        raise typer.Exit(1)


@app.command()
def events(
    ctx: typer.Context,
    tenant: str = typer.Option(None, "--tenant"),
    kind: str = typer.Option(None, "--kind", help="hard_bounce, soft_bounce, complaint, reply, …"),
    limit: int = typer.Option(100, "--limit"),
) -> None:
    """What inbox sync found: kind, reason, the address and what was done."""
    from penguinctl.inbound.report import events as list_events

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        data = list_events(session.store, tenant=tenant, kind=kind, limit=limit)
    finally:
        session.close()
    if out.mode == "json":
        out.json(data)
        return
    rows = [
        [
            e["created_at"][:19],
            e["mailbox"],
            e["kind"],
            e["recipient"] or "",
            e["effect"],
            e["reason"][:70],
        ]
        for e in data["events"]
    ]
    out.table("inbox events", ["when", "mailbox", "kind", "address", "effect", "reason"], rows)
    out.info(", ".join(f"{v} {k}" for k, v in sorted(data["counts"].items())) or "no events")
    for name, rate in sorted(data["complaint_rates"].items()):
        out.info(
            f"campaign {name}: {rate['complaints']} complaint(s) / {rate['sent']} sent "
            f"= {rate['rate']:.3%}"
        )
