"""contacts import|list|export|suppress|unsuppress."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)

GLOBAL_HELP = "suppress for every tenant"


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV with a header row, or JSON lines (.jsonl)"),
    tenant: str = typer.Option(..., "--tenant", "-t"),
    list_name: str = typer.Option(None, "--list", "-l", help="also add the contacts to this list"),
    legal_basis: str = typer.Option("legitimate_interest", "--legal-basis"),
    check_mx: bool = typer.Option(
        False, "--check-mx", help="drop domains that cannot receive mail"
    ),
) -> None:
    """Import contacts; bad rows are reported as file:line while the good ones import."""
    from penguinctl.campaigns.contacts import import_file

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        checker = None
        if check_mx:
            from penguinctl.campaigns.mx import MxChecker

            checker = MxChecker(_sandbox_dns(session))
        summary = import_file(
            session.store,
            file,
            tenant=tenant,
            list_name=list_name,
            legal_basis=legal_basis,
            check_mx=checker,
            report=out.warn,
        )
    finally:
        session.close()
    data = summary.to_dict()
    if out.mode == "json":
        out.json(data)
        return
    reasons = ", ".join(f"{n} {why}" for why, n in sorted(data["skipped_by_reason"].items()))
    out.success(
        f"imported {data['imported']}, updated {data['updated']}, skipped {data['skipped']}"
        + (f" ({reasons})" if reasons else "")
    )


def _sandbox_dns(session: object) -> tuple[str, int] | None:
    ws = session.ws  # type: ignore[attr-defined]
    if not ws.sandbox:
        return None
    host, port = session.sandbox_handle.dns_address  # type: ignore[attr-defined]
    return str(host), int(port)


@app.command("list")
def list_(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant", "-t"),
    list_name: str = typer.Option(None, "--list", "-l"),
    limit: int = typer.Option(50, "--limit"),
) -> None:
    """Contacts of a tenant (or of one list), oldest first."""
    from itertools import islice

    from penguinctl.campaigns.contacts import iter_contacts

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        rows = list(islice(iter_contacts(session.store, tenant, list_name), limit))
    finally:
        session.close()
    if out.mode == "json":
        out.json(rows)
        return
    out.table(
        None,
        ["id", "email", "legal basis", "source", "fields"],
        [[r["id"], r["email"], r["legal_basis"], r["source"], r["fields"]] for r in rows],
    )


@app.command()
def export(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant", "-t"),
    list_name: str = typer.Option(None, "--list", "-l"),
    fmt: str = typer.Option("csv", "--format", help="csv or jsonl"),
) -> None:
    """Every contact to stdout as CSV (email, legal_basis, source, fields as JSON) or JSON lines."""
    import csv
    import io
    import json

    from penguinctl.campaigns.contacts import iter_contacts

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if fmt == "csv":
            writer.writerow(["email", "legal_basis", "source", "fields"])
        for row in iter_contacts(session.store, tenant, list_name):
            if fmt == "csv":
                fields = json.dumps(row["fields"], ensure_ascii=False)
                writer.writerow([row["email"], row["legal_basis"], row["source"], fields])
            else:
                data = {k: row[k] for k in ("email", "legal_basis", "source")}
                buffer.write(json.dumps({**data, **row["fields"]}, ensure_ascii=False) + "\n")
            if buffer.tell() > 1 << 16:
                out.write(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
        out.write(buffer.getvalue())
    finally:
        session.close()


@app.command()
def suppress(
    ctx: typer.Context,
    emails: list[str] = typer.Argument(..., help="addresses to never mail"),
    tenant: str = typer.Option(None, "--tenant", "-t"),
    everyone: bool = typer.Option(False, "--global", help=GLOBAL_HELP),
    reason: str = typer.Option("manual", "--reason"),
) -> None:
    """Add addresses to the tenant's (or the global) suppression list."""
    from penguinctl.campaigns import db

    g = ctx.obj
    out = g.out()
    scope = _scope(tenant, everyone)
    session = g.session(out)
    try:
        added = db.suppress(session.store, scope, _normalized(emails), reason)
    finally:
        session.close()
    out.success(
        f"suppressed {added} new address(es) for {'every tenant' if scope == '*' else scope}"
    )


@app.command()
def unsuppress(
    ctx: typer.Context,
    emails: list[str] = typer.Argument(...),
    tenant: str = typer.Option(None, "--tenant", "-t"),
    everyone: bool = typer.Option(False, "--global", help=GLOBAL_HELP),
) -> None:
    """Remove addresses from a suppression list."""
    from penguinctl.campaigns import db

    g = ctx.obj
    out = g.out()
    scope = _scope(tenant, everyone)
    session = g.session(out)
    try:
        removed = db.unsuppress(session.store, scope, _normalized(emails))
    finally:
        session.close()
    out.success(f"removed {removed} address(es)")


@app.command("suppressions")
def suppressions(ctx: typer.Context, tenant: str = typer.Option(None, "--tenant", "-t")) -> None:
    """The suppression lists (the tenant's and the global one)."""
    from penguinctl.campaigns import db

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        rows = db.suppressions(session.store, tenant)
    finally:
        session.close()
    if out.mode == "json":
        out.json(rows)
        return
    out.table(
        None,
        ["tenant", "email", "reason", "since"],
        [[r["tenant"], r["email"], r["reason"], r["created_at"]] for r in rows],
    )


def _scope(tenant: str | None, everyone: bool) -> str:
    from penguinctl.core.errors import PenguinError

    if everyone == (tenant is not None):
        raise PenguinError(
            "give either --tenant T or --global", hint="suppression lists are per tenant or global"
        )
    return "*" if everyone else str(tenant)


def _normalized(emails: list[str]) -> list[str]:
    from penguinctl.campaigns.contacts import normalize
    from penguinctl.core.errors import PenguinError

    try:
        return [normalize(e) for e in emails]
    except ValueError as exc:
        raise PenguinError(f"invalid address: {exc}") from None
