"""``penguinctl engine migrate --to pulumi|builtin``: move ownership, never two owners.

* **to pulumi**: per tenant, ``up`` with every recorded object *imported* by its vendor id
  (``import_`` on each declaration: Pulumi reads it through the same providers and adopts
  it without creating anything); only when the stack holds every key are the store's
  records re-marked as Pulumi's. A failed import forgets the half-made stack again.
* **to builtin**: per tenant, the stack's ``penguinctl`` output is written into the store
  as built-in records, then the stack is forgotten (``stack rm --force``: state only,
  nothing deleted); if forgetting fails, the records are marked Pulumi's again.

Then the workspace's ``engine:`` is switched, so later commands use the new owner.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from penguinctl.core.errors import PenguinError
from penguinctl.core.resource import Recorded
from penguinctl.pulumi_engine.orchestrate import PULUMI, owner, prepare_project, stack_spec, sync
from penguinctl.pulumi_engine.runner import StackRunner


@dataclass
class Migration:
    to: str
    tenants: dict[str, int] = field(default_factory=dict)  # tenant -> resources moved
    config_updated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"to": self.to, "tenants": self.tenants, "config_updated": self.config_updated}


def import_id(rec: Recorded) -> str:
    """The id Pulumi imports ``rec`` by (Cloudflare records: ``<zone_id>/<record_id>``)."""
    if rec.provider == "cloudflare" and rec.kind == "dns_record":
        return f"{rec.outputs.get('zone_id')}/{rec.id}"
    return rec.id


def migrate(
    session: Any,
    to: str,
    sources: Sequence[str],
    runner: StackRunner,
    targets: Sequence[str] | None = None,
) -> Migration:
    store = session.store
    frm = "builtin" if to == PULUMI else PULUMI
    by_tenant: dict[str, dict[str, Recorded]] = {}
    for key, rec in store.recorded().items():
        if owner(rec) == frm and (not targets or rec.tenant in targets):
            by_tenant.setdefault(rec.tenant, {})[key] = rec
    result = Migration(to)
    prepare_project(session.ws)  # creates state/pulumi/ too
    with store.lock(f"engine migrate --to {to}"):
        run_id = store.begin_run(
            f"engine migrate --to {to}", workspace=str(session.ws.root), profile=session.ws.profile
        )
        status = "failed"
        try:
            for tenant, recs in sorted(by_tenant.items()):
                if to == PULUMI:
                    _to_pulumi(session, tenant, recs, sources, runner, run_id)
                else:
                    _to_builtin(session, tenant, recs, sources, runner, run_id)
                result.tenants[tenant] = len(recs)
            status = "ok"
        finally:
            store.finish_run(run_id, status, result.to_json())
    if not targets:
        result.config_updated = set_engine(session.ws.config_path, to)
    return result


def _to_pulumi(
    session: Any,
    tenant: str,
    recs: dict[str, Recorded],
    sources: Sequence[str],
    runner: StackRunner,
    run_id: int,
) -> None:
    spec = stack_spec(session.ws, tenant, sources, {k: import_id(r) for k, r in recs.items()})
    try:
        res = runner.up(spec)
        missing = sorted(set(recs) - set(res.outputs))
        if missing:
            raise PenguinError(
                f"the Pulumi stack of {tenant} did not adopt {', '.join(missing[:5])}",
                hint="the specs no longer declare them: apply with the built-in engine first",
            )
    except BaseException:
        runner.forget(spec)  # no half-owned stack: the built-in engine still owns everything
        raise
    sync(session.store, tenant, res.outputs, run_id)


def _to_builtin(
    session: Any,
    tenant: str,
    recs: dict[str, Recorded],
    sources: Sequence[str],
    runner: StackRunner,
    run_id: int,
) -> None:
    spec = stack_spec(session.ws, tenant, sources)
    outputs = runner.outputs(spec) or {
        k: {
            "id": r.id,
            "provider": r.provider,
            "instance": r.instance,
            "attrs": r.attrs,
            "outputs": r.outputs,
        }
        for k, r in recs.items()
    }
    sync(session.store, tenant, outputs, run_id, mark=False)
    try:
        runner.forget(spec)
    except BaseException:
        sync(session.store, tenant, outputs, run_id, mark=True)  # still Pulumi's
        raise


_ENGINE_LINE = re.compile(r"^engine:[^\n]*$", re.MULTILINE)


def set_engine(config_path: Any, engine: str) -> bool:
    """Switch the top-level ``engine:`` of ``penguinctl.yaml`` (added when absent)."""
    text = config_path.read_text(encoding="utf-8")
    line = f"engine: {engine}"
    new = (
        _ENGINE_LINE.sub(line, text, count=1)
        if _ENGINE_LINE.search(text)
        else (text.rstrip("\n") + "\n" + line + "\n")
    )
    if new == text:
        return False
    config_path.write_text(new, encoding="utf-8")
    return True
