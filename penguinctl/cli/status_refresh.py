"""``penguinctl status --refresh``: read every recorded resource back and show drift.

Exit codes: 0 everything in sync; 2 drift found (a resource drifted or gone: the next
``plan`` shows how it is repaired); 1 an error (Pulumi CLI missing, a provider refusing
the read, …). With ``engine: pulumi`` this is ``pulumi refresh`` of each tenant's stack
(Pulumi's state takes the live values) and the exit code is 2 when Pulumi reports
updates or deletes.
"""

from __future__ import annotations

from typing import Any

import typer

EXIT_DRIFT = 2


def run(ctx: typer.Context, tenant: str | None, engine: Any, runner: Any = None) -> None:
    """Refresh on the selected engine, print the report, exit 2 on drift."""
    from penguinctl.cli.engine import selected

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        if selected(session, engine) == "pulumi":
            drifted = _pulumi(session, tenant, out, runner)
        else:
            drifted = _builtin(session, tenant, out)
    finally:
        session.close()
    if drifted:
        raise typer.Exit(EXIT_DRIFT)


def _pulumi(session: Any, tenant: str | None, out: Any, runner: Any) -> bool:
    from penguinctl.cli.engine import _show
    from penguinctl.pulumi_engine import orchestrate
    from penguinctl.pulumi_engine.runner import AutomationRunner

    if runner is None:
        runner = AutomationRunner(on_output=out.debug)  # fails at once without the CLI
    with orchestrate.shared_sandbox(session.ws):
        report = orchestrate.refresh_recorded(session, tenant, runner)
    _show(out, report)
    return report.has_changes


def _builtin(session: Any, tenant: str | None, out: Any) -> bool:
    from penguinctl.drift import DRIFTED, GONE, SKIPPED, status_refresh

    report = status_refresh(session, tenant)
    if out.mode == "json":
        out.json(report.to_json())
        return report.drifted
    rows = []
    for r in report.resources:
        detail = "; ".join(f"{f.name}: {f.recorded!r} → {f.live!r}" for f in r.fields)
        if r.state == GONE:
            detail = "not found at the provider: the next plan re-creates it"
        elif r.state == SKIPPED:
            detail = "owned by the Pulumi engine (`status --refresh --engine pulumi`)"
        if r.state in (DRIFTED, GONE) or out.verbosity > 0:
            rows.append([r.key, r.tenant, r.state, detail])
    counts = report.counts()
    if rows:
        out.table("Drift", ["resource", "tenant", "state", "detail"], rows)
    summary = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    if report.drifted:
        out.warn(f"{summary}; `penguinctl plan --refresh` shows the repair")
    else:
        out.success(summary or "nothing recorded")
    if report.outputs_updated:
        out.info(f"recorded outputs updated from the live read: {len(report.outputs_updated)}")
    return report.drifted
