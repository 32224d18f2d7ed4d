"""Changes and plans: immutable data, deterministic order, a JSON form and a checksum.

A plan never writes. Its JSON form (schema version :data:`PLAN_SCHEMA`) is the
contract for CI pipelines; see ``docs`` in ARCHITECTURE.md ("Plan JSON").
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from penguinctl.core import graph, registry
from penguinctl.core.errors import PlanMismatch
from penguinctl.core.resource import (
    GENERATED,
    SENSITIVE,
    Generated,
    Recorded,
    Ref,
    Resource,
    digest,
    from_jsonable,
    to_jsonable,
    walk_refs,
)

PLAN_SCHEMA = 1
ACTIONS = ("create", "update", "replace", "delete")
# Deletion order: dependents first.
DELETE_RANK = {
    "dns_record": 0,
    "ptr": 0,  # reverse DNS goes back to generic before its server is terminated
    "mailu_mailbox": 1,
    "mailu_domain": 2,
    "mailu_server": 3,  # MailU stops after its domains are gone, before its server
    "dkim_key": 3,
    "server": 4,
    "tenant": 9,
}


class FieldChange(NamedTuple):
    """One field's before → after. A NamedTuple: a large plan builds ~300,000 of them,
    and a frozen dataclass's __init__ costs several times more."""

    name: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.name, "before": _show(self.before), "after": _show(self.after)}


@dataclass(frozen=True)
class Change:
    """One planned change. ``desired`` is None for deletes; ``recorded`` None for creates."""

    action: str
    key: str
    tenant: str
    provider: str
    instance: str
    why: str
    fields: tuple[FieldChange, ...] = ()
    replaces: tuple[str, ...] = ()
    desired: Resource | None = None
    recorded: Recorded | None = None
    drift: bool = False
    protected: bool = False
    adopt: bool = False  # a create that takes over a foreign object (--adopt KEY)
    restarts: tuple[str, ...] = ()  # services an update restarts (Provider.effect)

    @property
    def kind(self) -> str:
        return self.key.split("/", 1)[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "key": self.key,
            "kind": self.kind,
            "tenant": self.tenant,
            "provider": self.provider,
            "instance": self.instance,
            "why": self.why,
            "fields": [f.to_json() for f in self.fields],
            "replaces": list(self.replaces),
            "drift": self.drift,
            "source": self.desired.source if self.desired else None,
            **({"adopt": True} if self.adopt else {}),
            **({"restarts": list(self.restarts)} if self.restarts else {}),
        }


def _show(value: Any) -> Any:
    if isinstance(value, Ref):
        return str(value)
    if isinstance(value, Generated):
        return GENERATED
    return to_jsonable(value)


@dataclass
class Plan:
    changes: list[Change]
    unchanged: int
    workspace: str
    profile: str | None
    targets: list[str] | None
    state_fingerprint: str
    created_at: float = field(default_factory=time.time)
    warnings: list[str] = field(default_factory=list)
    drifted: list[str] = field(default_factory=list)
    # Monthly cost change of what the plan buys and deletes ({"monthly_delta", "items"});
    # None when no change has a price. Informational: not part of the checksum.
    cost: dict[str, Any] | None = None

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, int]:
        counter = Counter(c.action for c in self.changes)
        return {a: counter.get(a, 0) for a in ACTIONS} | {"unchanged": self.unchanged}

    def by_tenant(self) -> dict[str, dict[str, int]]:
        out: dict[str, Counter[str]] = {}
        for c in self.changes:
            out.setdefault(c.tenant, Counter())[c.action] += 1
        return {t: {a: n.get(a, 0) for a in ACTIONS} for t, n in sorted(out.items())}

    @property
    def checksum(self) -> str:
        return digest(
            {
                "schema": PLAN_SCHEMA,
                "workspace": self.workspace,
                "profile": self.profile,
                "targets": self.targets,
                "state": self.state_fingerprint,
                "changes": [_saved_change(c) for c in self.changes],
            }
        )

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        """The documented, versioned JSON form. ``full`` adds what ``apply PLANFILE`` needs."""
        data: dict[str, Any] = {
            "schema": PLAN_SCHEMA,
            "workspace": self.workspace,
            "profile": self.profile,
            "targets": self.targets,
            "created_at": self.created_at,
            "checksum": self.checksum,
            "summary": self.counts(),
            "tenants": self.by_tenant(),
            "warnings": self.warnings,
            "drift": self.drifted,
            "cost": self.cost,
            "changes": [c.to_json() for c in self.changes],
        }
        if full:
            data["state_fingerprint"] = self.state_fingerprint
            data["saved"] = [_saved_change(c) for c in self.changes]
        return data


def _saved_change(c: Change) -> dict[str, Any]:
    """What apply needs to replay a change (secrets are never in attrs: they are generated)."""
    d = c.desired
    return {
        "action": c.action,
        "key": c.key,
        "tenant": c.tenant,
        "provider": c.provider,
        "instance": c.instance,
        "why": c.why,
        "replaces": list(c.replaces),
        **({"adopt": True} if c.adopt else {}),
        **({"restarts": list(c.restarts)} if c.restarts else {}),
        "desired": None
        if d is None
        else {
            "attrs": to_jsonable(dict(d.attrs)),
            "depends_on": list(d.depends_on),
            "sensitive": sorted(d.sensitive),
            "source": d.source,
        },
    }


def load_saved(data: Mapping[str, Any], recorded: Mapping[str, Recorded]) -> Plan:
    """Rebuild a plan saved with ``to_json(full=True)``; refuse a tampered file."""
    if data.get("schema") != PLAN_SCHEMA or "saved" not in data:
        raise PlanMismatch("not a penguinctl plan file (or from another version)")
    changes = []
    for s in data["saved"]:
        desired = None
        if s["desired"] is not None:
            desired = Resource(
                key=s["key"],
                provider=s["provider"],
                tenant=s["tenant"],
                attrs=from_jsonable(s["desired"]["attrs"]),
                why=s["why"],
                instance=s["instance"],
                depends_on=tuple(s["desired"]["depends_on"]),
                sensitive=frozenset(s["desired"]["sensitive"]),
                source=s["desired"]["source"],
            )
        changes.append(
            Change(
                action=s["action"],
                key=s["key"],
                tenant=s["tenant"],
                provider=s["provider"],
                instance=s["instance"],
                why=s["why"],
                replaces=tuple(s["replaces"]),
                desired=desired,
                recorded=recorded.get(s["key"]),
                adopt=bool(s.get("adopt")),
                restarts=tuple(s.get("restarts") or ()),
            )
        )
    plan = Plan(
        changes=changes,
        unchanged=data["summary"]["unchanged"],
        workspace=data["workspace"],
        profile=data["profile"],
        targets=data["targets"],
        state_fingerprint=data["state_fingerprint"],
        created_at=data["created_at"],
    )
    if plan.checksum != data.get("checksum"):
        raise PlanMismatch(
            "the plan file's checksum does not match its content",
            hint="the file was edited or corrupted; run `penguinctl plan --out FILE` again",
        )
    return plan


def adopting(plan: Plan, keys: Iterable[str]) -> Plan:
    """Mark the creates of ``keys`` as adoptions of foreign objects (``--adopt KEY``).

    Only a planned create can adopt; any other key is refused with the reason.
    """
    wanted = set(keys)
    if not wanted:
        return plan
    creates = {c.key for c in plan.changes if c.action == "create"}
    unknown = sorted(wanted - creates)
    if unknown:
        raise PlanMismatch(
            f"--adopt {unknown[0]}: not a resource this plan creates",
            hint="adopt names a key the plan shows as a create (see `penguinctl plan`)",
        )
    changes = [replace(c, adopt=True) if c.key in wanted else c for c in plan.changes]
    return replace(plan, changes=changes)


def state_fingerprint(recorded: Mapping[str, Recorded]) -> str:
    """A digest of the recorded state in scope: a saved plan applies only on the same state."""
    rows = sorted(((r.key, r.id, r.status, r.attrs) for r in recorded.values()), key=lambda x: x[0])
    blob = json.dumps(rows, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def mask(resource: Resource, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes as they may be shown or stored: sensitive values masked."""
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if isinstance(v, Generated):
            out[k] = GENERATED
        elif k in resource.sensitive and v not in (GENERATED, "(reference)", None):
            out[k] = SENSITIVE
        else:
            out[k] = v
    return out


def diff(
    desired: list[Resource],
    recorded: Mapping[str, Recorded],
    *,
    workspace: str,
    profile: str | None = None,
    targets: list[str] | None = None,
    live: Mapping[str, Recorded] | None = None,
) -> Plan:
    """Compare desired resources with recorded (or, when ``live`` is given, live) state.

    Recorded resources of tenants outside ``targets`` are left alone; within
    scope, a recorded resource that no spec declares any more is deleted.
    """
    by_key = {r.key: r for r in desired}
    order = graph.check(desired, known=recorded.keys())
    scope = set(targets) if targets else None
    current = dict(recorded)
    drifted: list[str] = []
    if live is not None:
        for key, live_rec in live.items():
            if key in current and current[key].attrs != live_rec.attrs:
                drifted.append(key)
            current[key] = live_rec
        for key in list(current):
            if key not in live and (scope is None or current[key].tenant in scope):
                drifted.append(key)
                del current[key]  # gone outside penguinctl: plan re-creates it

    pending_outputs: set[str] = set()  # producers whose outputs are unknown until apply
    changes: list[Change] = []
    unchanged = 0
    for key in order:
        res = by_key[key]
        provider = registry.get(res.provider, res.kind)
        rec = current.get(key)
        after = _after(res, current, pending_outputs)
        if rec is None:
            pending_outputs.add(key)
            fields = [_field(FieldChange, (k, None, v)) for k, v in after.items() if v is not None]
            changes.append(
                Change(
                    "create",
                    key,
                    res.tenant,
                    res.provider,
                    res.instance,
                    res.why,
                    tuple(fields),
                    desired=res,
                    protected=provider.protected,
                )
            )
            continue
        if after == rec.attrs:  # the common no-op, without the provider's normalising
            unchanged += 1
            continue
        result = provider.diff(
            rec.attrs, {k: v for k, v in after.items() if not isinstance(v, Ref)}
        )
        ref_fields = tuple(
            k for k, v in after.items() if isinstance(v, Ref) and k not in result.changed
        )
        changed = tuple(sorted(set(result.changed) | set(ref_fields)))
        if not changed:
            unchanged += 1
            continue
        action = "replace" if result.replaces else "update"
        if action == "replace":
            pending_outputs.add(key)
        elif provider.outputs_follow_attrs:
            # Dependents see the outputs this update will produce (a moved pool
            # domain's SPF shows its new IP), or wait for apply if they are unknown.
            if any(True for _ in walk_refs(after)):
                pending_outputs.add(key)
            else:
                current[key] = replace(rec, outputs=dict(provider.planned_outputs(after)))
        effect = provider.effect(rec.attrs, after) if action == "update" else None
        changes.append(
            Change(
                action,
                key,
                res.tenant,
                res.provider,
                res.instance,
                effect[0] if effect else res.why,
                tuple(FieldChange(k, rec.attrs.get(k), after.get(k)) for k in changed),
                replaces=tuple(result.replaces),
                desired=res,
                recorded=rec,
                drift=key in drifted,
                protected=provider.protected,
                restarts=effect[1] if effect else (),
            )
        )

    deletes = [
        rec
        for k, rec in current.items()
        if k not in by_key and (scope is None or rec.tenant in scope)
    ]
    deletes.sort(key=lambda r: (DELETE_RANK.get(r.kind, 5), r.key))
    for rec in deletes:
        provider = registry.get(rec.provider, rec.kind)
        changes.append(
            Change(
                "delete",
                rec.key,
                rec.tenant,
                rec.provider,
                rec.instance,
                "no spec declares it any more",
                tuple(FieldChange(k, v, None) for k, v in rec.attrs.items() if v is not None),
                recorded=rec,
                protected=provider.protected,
            )
        )
    in_scope = {k: r for k, r in recorded.items() if scope is None or r.tenant in scope}
    return Plan(
        changes=changes,
        unchanged=unchanged,
        workspace=workspace,
        profile=profile,
        targets=sorted(scope) if scope else None,
        state_fingerprint=state_fingerprint(in_scope),
        drifted=sorted(set(drifted)),
    )


_SCALARS = (str, int, float, bool, type(None))
_FAST = frozenset(_SCALARS)
# FieldChange(k, None, v) goes through NamedTuple's Python-level __new__; a create
# builds one per attribute (~60,000 for 1,000 mail domains), so build the tuple directly.
_field = tuple.__new__


def _after(res: Resource, current: Mapping[str, Recorded], pending: set[str]) -> dict[str, Any]:
    """``mask(res, _resolve_known(res.attrs, …))`` in one pass over the attributes.

    Most attributes are plain scalars: they skip resolution and the Generated check.
    """
    out: dict[str, Any] = {}
    sensitive = res.sensitive
    for k, v in res.attrs.items():
        if type(v) not in _FAST:
            v = _resolve_known(v, current, pending)
            if isinstance(v, Generated):
                out[k] = GENERATED
                continue
        if sensitive and k in sensitive and v not in (GENERATED, "(reference)", None):
            v = SENSITIVE
        out[k] = v
    return out


def _resolve_known(value: Any, current: Mapping[str, Recorded], pending: set[str]) -> Any:
    """Resolve references whose producer is recorded and not about to change."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Ref):
        rec = current.get(value.key)
        if rec is None or value.key in pending or value.output not in rec.outputs:
            return value
        return value.render(rec.outputs[value.output])
    if isinstance(value, Mapping):
        return {
            k: v if type(v) in _FAST else _resolve_known(v, current, pending)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [v if type(v) in _FAST else _resolve_known(v, current, pending) for v in value]
    return value
