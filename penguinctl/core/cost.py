"""The monthly cost change of a plan: what it buys minus what it deletes.

Only providers that override :meth:`Provider.cost` are asked (Hostwinds servers), and only
for creates, replaces and deletes, so a plan without purchases does no I/O here. A price
that cannot be read (no credentials in a CI plan, the vendor down) never fails the plan:
the cost is reported as unknown with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from penguinctl.core import registry
from penguinctl.core.errors import PenguinError
from penguinctl.core.plan import Plan
from penguinctl.core.provider import Provider, ProviderContext

ContextFactory = Callable[[str, str, str], ProviderContext]


def _prices(provider: Provider) -> bool:
    return type(provider).cost is not Provider.cost


def estimate(plan: Plan, contexts: ContextFactory) -> None:
    """Set ``plan.cost`` to ``{"monthly_delta", "items"}`` (None when nothing has a price)."""
    items: list[dict[str, Any]] = []
    unknown: list[str] = []
    for change in plan.changes:
        if change.action not in ("create", "replace", "delete"):
            continue
        provider = registry.get(change.provider, change.kind)
        if not _prices(provider):
            continue
        monthly = 0.0
        try:
            ctx = contexts(change.provider, change.instance, change.tenant)
            if change.action in ("create", "replace") and change.desired is not None:
                monthly += provider.cost(ctx, change.desired.attrs) or 0.0
            if change.action in ("replace", "delete") and change.recorded is not None:
                monthly -= provider.cost(ctx, change.recorded.attrs) or 0.0
        except PenguinError as exc:
            unknown.append(f"{change.key}: {exc.message}")
            continue
        items.append({"key": change.key, "action": change.action, "monthly": round(monthly, 2)})
    if not items and not unknown:
        return
    delta = None if unknown else round(sum(i["monthly"] for i in items), 2)
    plan.cost = {"monthly_delta": delta, "items": items}
    if unknown:
        plan.warnings.append(
            "monthly cost unknown (prices could not be read): " + "; ".join(unknown[:3])
        )
