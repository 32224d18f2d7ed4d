"""``penguinctl status --refresh`` on the built-in engine: recorded vs live, per resource.

Every recorded resource is read back from its provider with the read the plan's
``--refresh`` uses (:func:`penguinctl.ops.refresh`), and compared field by field
through the provider's own :meth:`~penguinctl.core.provider.Provider.diff` (so a TXT
record split into 255-byte strings is not drift, exactly as in a plan).

Contract:

* nothing changes remotely: only ``read`` is called;
* recorded *attributes* are never rewritten: drift stays visible to the next plan,
  which repairs it (a gone resource is re-created by the plan, so it stays recorded);
* recorded *outputs* take the values the refresh read (the same merge the plan's
  refresh makes: recorded outputs updated by the live ones), so dependents plan
  against what the vendor reports now;
* resources another engine owns (``engine: pulumi``) are not read: they are listed
  as ``skipped`` and refreshed through that engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from penguinctl.core import registry
from penguinctl.core.resource import GENERATED, SENSITIVE, Recorded
from penguinctl.session import Session

IN_SYNC, DRIFTED, GONE, SKIPPED = "in sync", "drifted", "gone", "skipped"
_HIDDEN = (SENSITIVE, GENERATED, "(reference)")  # recorded placeholders: never compared or shown


@dataclass(frozen=True)
class FieldDrift:
    """One field whose live value differs from the recorded one."""

    name: str
    recorded: Any
    live: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.name, "recorded": self.recorded, "live": self.live}


@dataclass(frozen=True)
class ResourceDrift:
    key: str
    tenant: str
    provider: str
    state: str  # IN_SYNC | DRIFTED | GONE | SKIPPED
    fields: tuple[FieldDrift, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "tenant": self.tenant,
            "provider": self.provider,
            "state": self.state,
            "fields": [f.to_json() for f in self.fields],
        }


@dataclass
class DriftReport:
    resources: list[ResourceDrift] = field(default_factory=list)
    outputs_updated: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return any(r.state in (DRIFTED, GONE) for r in self.resources)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((IN_SYNC, DRIFTED, GONE, SKIPPED), 0)
        for r in self.resources:
            counts[r.state] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": "builtin",
            "counts": self.counts(),
            "resources": [r.to_json() for r in self.resources],
            "outputs_updated": self.outputs_updated,
        }


def compare(rec: Recorded, live: Recorded | None) -> ResourceDrift:
    """Drift of one recorded resource against its live read (None: it is gone). Pure."""
    if live is None:
        return ResourceDrift(rec.key, rec.tenant, rec.provider, GONE)
    provider = registry.get(rec.provider, rec.kind)
    # Only fields whose recorded value is comparable: a masked secret is never
    # compared (its live form is a hash or nothing) and never printed.
    old = {k: v for k, v in rec.attrs.items() if not (isinstance(v, str) and v in _HIDDEN)}
    new = {k: v for k, v in live.attrs.items() if k in old}
    changed = provider.diff(old, new).changed
    fields = tuple(FieldDrift(k, old.get(k), new.get(k)) for k in changed)
    return ResourceDrift(rec.key, rec.tenant, rec.provider, DRIFTED if fields else IN_SYNC, fields)


def status_refresh(session: Session, tenant: str | None = None) -> DriftReport:
    """Read every recorded resource (of ``tenant``) live and report drift; see the module."""
    from penguinctl import ops
    from penguinctl.pulumi_engine.orchestrate import owner

    recorded = session.store.recorded(tenant)
    mine = {k: r for k, r in recorded.items() if owner(r) == "builtin"}
    live = ops.refresh(session, mine)
    report = DriftReport()
    for key, rec in sorted(recorded.items()):
        if key not in mine:
            report.resources.append(ResourceDrift(key, rec.tenant, rec.provider, SKIPPED))
            continue
        seen = live.get(key)
        report.resources.append(compare(rec, seen))
        if seen is not None and seen.outputs != rec.outputs:
            report.outputs_updated.append(key)
    if report.outputs_updated:
        # The store lock: an apply running now must not interleave with these writes.
        with session.store.lock("status --refresh"):
            for key in report.outputs_updated:
                session.store.put(replace(recorded[key], outputs=live[key].outputs))
    return report
