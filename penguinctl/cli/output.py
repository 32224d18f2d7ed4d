"""The only module that prints. Text (rich) for people, JSON for machines, Markdown for PRs.

Errors go to stderr as one red line plus a hint; data goes to stdout. JSON
output is one document per command on stdout, nothing else.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from penguinctl.core.errors import PenguinError, ValidationFailed, redact

ACTION_STYLE = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "replace": ("-/+", "magenta"),
    "delete": ("-", "red"),
}


class Output:
    def __init__(self, mode: str = "text", verbosity: int = 0) -> None:
        self.mode = mode
        self.verbosity = verbosity
        self._out: Any = None
        self._err: Any = None

    # rich is imported only when something is printed as text.
    @property
    def out(self) -> Any:
        if self._out is None:
            from rich.console import Console

            self._out = Console(highlight=False, soft_wrap=True)
        return self._out

    @property
    def err(self) -> Any:
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._err

    @property
    def is_tty(self) -> bool:
        return sys.stdout.isatty()

    # -- generic -------------------------------------------------------------------

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")

    def write(self, text: str) -> None:
        """Raw text to stdout (exports: CSV, JSON lines), no markup and no redaction."""
        sys.stdout.write(text)

    def info(self, message: str) -> None:
        if self.verbosity >= 0 and self.mode == "text":
            self.err.print(redact(message), markup=False)

    def debug(self, message: str) -> None:
        if self.verbosity > 0:
            self.err.print(redact(message), markup=False, style="dim")

    def warn(self, message: str) -> None:
        if self.verbosity >= 0:
            self.err.print(f"[yellow]warning:[/] {_esc(redact(message))}")

    def success(self, message: str) -> None:
        if self.mode == "text" and self.verbosity >= 0:
            self.out.print(f"[green]{_esc(message)}[/]")

    def error(self, exc: PenguinError) -> None:
        if self.mode == "json":
            self.json({"error": exc.to_dict()})
            return
        if isinstance(exc, ValidationFailed):
            for issue in exc.issues:
                self.err.print(f"[red]error:[/] {_esc(redact(issue.render()))}")
                if issue.hint:
                    self.err.print(f"  [dim]hint: {_esc(issue.hint)}[/]")
            n = len(exc.issues)
            self.err.print(f"[red]{n} problem{'s' if n != 1 else ''} found[/]")
            return
        self.err.print(f"[red]error:[/] {_esc(redact(str(exc)))}")
        if exc.hint:
            self.err.print(f"  [dim]hint: {_esc(redact(exc.hint))}[/]")

    def fatal(self, message: str) -> None:
        self.err.print(f"[red]error:[/] {_esc(redact(message))}")

    def table(self, title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
        from rich.table import Table

        table = Table(title=title, show_edge=False, header_style="bold")
        for c in columns:
            table.add_column(c)
        for row in rows:
            table.add_row(*[_esc(redact("" if v is None else str(v))) for v in row])
        self.out.print(table)

    # -- plans ---------------------------------------------------------------------

    def plan(self, plan: Any, *, full: bool = False, large: int = 200) -> None:
        if self.mode == "json":
            self.json(plan.to_json())
            return
        if self.mode == "markdown":
            sys.stdout.write(plan_markdown(plan) + "\n")
            return
        if not plan.changes:
            self.out.print(f"No changes. {plan.unchanged} resources up to date.")
            self._plan_notes(plan)
            return
        if len(plan.changes) > large and not full:
            self.table(
                "Changes per tenant",
                ["tenant", "create", "update", "replace", "delete"],
                [
                    [t, c["create"], c["update"], c["replace"], c["delete"]]
                    for t, c in plan.by_tenant().items()
                ],
            )
            self.out.print(f"[dim]{len(plan.changes)} changes; --full shows each one[/]")
        else:
            for change in plan.changes:
                self._change(change)
        self._plan_notes(plan)
        self.out.print(self.summary_line(plan))
        if cost := cost_line(plan):
            self.out.print(cost)

    def _change(self, change: Any) -> None:
        sign, color = ACTION_STYLE[change.action]
        drift = " [yellow](drift)[/]" if change.drift else ""
        if getattr(change, "adopt", False):
            drift += " [cyan](adopt: take over the existing foreign object)[/]"
        self.out.print(f"[{color}]{sign} {_esc(change.key)}[/]{drift}  [dim]{_esc(change.why)}[/]")
        if self.verbosity < 0:
            return
        for f in change.fields:
            forces = " [magenta](forces replacement)[/]" if f.name in change.replaces else ""
            if isinstance(f.before, dict) and isinstance(f.after, dict):
                # A mapping (a pool's assignment) shows the entries that change, not
                # two truncated copies of itself.
                for k in sorted(set(f.before) | set(f.after), key=str):
                    old, new = f.before.get(k), f.after.get(k)
                    if old != new:
                        shown = f"{_short(old)} → {_short(new)}"
                        self.out.print(f"    {_esc(f.name)}.{_esc(str(k))}: {_esc(redact(shown))}")
                continue
            before = "" if change.action == "create" else f"{_short(f.before)} → "
            after = "" if change.action == "delete" else _short(f.after)
            self.out.print(f"    {_esc(f.name)}: {_esc(redact(before + after))}{forces}")

    def _plan_notes(self, plan: Any) -> None:
        for d in plan.drifted:
            self.warn(f"drift: {d} changed outside penguinctl")
        for w in plan.warnings:
            self.warn(w)

    @staticmethod
    def summary_line(plan: Any) -> str:
        c = plan.counts()
        return (
            f"Plan: {c['create']} to create, {c['update']} to update, {c['replace']} to replace, "
            f"{c['delete']} to delete, {c['unchanged']} unchanged."
        )

    # -- apply ---------------------------------------------------------------------

    def apply_result(self, result: Any) -> None:
        if self.mode == "json":
            self.json(result.to_json())
            return
        for o in result.outcomes:
            if o.status == "failed":
                self.err.print(f"[red]failed:[/] {_esc(o.key)}: {_esc(redact(o.error or ''))}")
                if o.hint:
                    self.err.print(f"  [dim]hint: {_esc(o.hint)}[/]")
        style = "green" if result.ok else ("yellow" if result.interrupted else "red")
        state = "interrupted" if result.interrupted else "complete" if result.ok else "failed"
        self.out.print(
            f"[{style}]Apply {state}: "
            f"{result.count('applied')} applied, {result.count('failed')} failed, "
            f"{result.count('skipped')} skipped.[/] (run {result.run_id})"
        )


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _short(value: Any, limit: int = 80) -> str:
    from penguinctl.core.plan import _show

    value = _show(value)
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cost_line(plan: Any) -> str | None:
    """``Cost: +$9.98/month (create server/a +$4.99, …)`` when the plan buys or deletes."""
    cost = getattr(plan, "cost", None)
    if not cost:
        return None
    if cost.get("monthly_delta") is None:
        return "Cost: unknown (see the warning above)"
    items = [i for i in cost["items"] if i["monthly"]]
    parts = ", ".join(f"{i['action']} {i['key']} {i['monthly']:+.2f}" for i in items[:5])
    more = f", … {len(items) - 5} more" if len(items) > 5 else ""
    return f"Cost: {cost['monthly_delta']:+.2f} USD/month ({parts}{more})"


def plan_markdown(plan: Any) -> str:
    c = plan.counts()
    lines = [
        "### penguinctl plan",
        "",
        f"**{c['create']}** to create, **{c['update']}** to update, **{c['replace']}** to replace, "
        f"**{c['delete']}** to delete, {c['unchanged']} unchanged.",
        "",
    ]
    if plan.changes:
        lines += ["| action | resource | tenant | why |", "|---|---|---|---|"]
        for ch in plan.changes:
            lines.append(f"| {ch.action} | `{ch.key}` | {ch.tenant} | {ch.why.replace('|', '/')} |")
        lines += ["", "<details><summary>field changes</summary>", "", "```diff"]
        for ch in plan.changes:
            sign = {"create": "+", "delete": "-"}.get(ch.action, "!")
            lines.append(f"{sign} {ch.key}")
            for f in ch.fields:
                lines.append(
                    f"{sign}   {f.name}: {redact(_short(f.before))} -> {redact(_short(f.after))}"
                )
        lines += ["```", "", "</details>"]
    for w in plan.warnings:
        lines.append(f"> ⚠️ {w}")
    if cost := cost_line(plan):
        lines.append(f"\n**{cost}**")
    lines.append(f"\n<sub>checksum `{plan.checksum[:16]}`</sub>")
    return "\n".join(lines)
