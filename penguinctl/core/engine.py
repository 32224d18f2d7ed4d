"""The built-in engine: safety checks, settling, and applying a plan in dependency order.

Crash safety rests on one rule: the intent of a change is committed to the
store *before* the provider is called, and its result the moment it is known.
A change still ``pending`` on the next run was interrupted; :func:`settle`
reads the live object (``Provider.find``/``read``) to learn what happened
before anything new is attempted. Creates are never re-sent blindly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from penguinctl.core import registry
from penguinctl.core.errors import NotFound, PenguinError, UnsafePlan, redact
from penguinctl.core.plan import DELETE_RANK, Change, Plan, mask
from penguinctl.core.provider import ProviderContext
from penguinctl.core.resource import GENERATED, Generated, Recorded, resolve

# More servers than this restarting MailU services in one apply needs --force: a
# restart pauses inbound mail and in-flight SMTP sessions on each, and a bad setting
# rolled out everywhere at once takes every sending IP down together.
MAX_RESTARTING_SERVERS = 3
ContextFactory = Callable[[str, str, str], ProviderContext]  # (provider type, instance, tenant)


@dataclass
class Outcome:
    key: str
    tenant: str
    action: str
    status: str  # applied | failed | skipped
    error: str | None = None
    hint: str | None = None


@dataclass
class ApplyResult:
    run_id: int | None  # None: there was nothing to apply, so no run was recorded
    outcomes: list[Outcome] = field(default_factory=list)
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        return not self.interrupted and self.count("failed") == 0 and self.count("skipped") == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "applied": self.count("applied"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "interrupted": self.interrupted,
            "outcomes": [o.__dict__ for o in self.outcomes],
        }


def check_safety(
    plan: Plan,
    recorded: Mapping[str, Recorded],
    *,
    force: bool = False,
    allow_replace: bool = False,
    threshold: float = 0.3,
    max_new_servers: int | None = None,
    max_restarting_servers: int = MAX_RESTARTING_SERVERS,
) -> None:
    """Refuse dangerous plans (octoDNS's ``raise_if_unsafe``)."""
    protected_deletes = [c.key for c in plan.changes if c.action == "delete" and c.protected]
    if protected_deletes and not force:
        raise UnsafePlan(
            f"the plan deletes {', '.join(protected_deletes)}",
            hint="servers cost money and carry warm-up; pass --force to delete them",
        )
    replaces = [c.key for c in plan.changes if c.action == "replace" and c.protected]
    if replaces and not allow_replace:
        raise UnsafePlan(
            f"the plan replaces {', '.join(replaces)} (changed: "
            + ", ".join(sorted({f for c in plan.changes for f in c.replaces}))
            + ")",
            hint="a new server means a new IP and lost warm-up; pass --allow-replace if intended",
        )
    if max_new_servers is not None:
        new = [c for c in plan.changes if c.kind == "server" and c.action in ("create", "replace")]
        if len(new) > max_new_servers:
            raise UnsafePlan(
                f"the plan buys {len(new)} servers, more than --max-new-servers {max_new_servers}",
                hint="raise the cap or apply fewer tenants (--target)",
            )
    if force:
        return
    restarting = [c.key for c in plan.changes if c.restarts]
    if len(restarting) > max_restarting_servers:
        raise UnsafePlan(
            f"the plan restarts MailU services on {len(restarting)} servers "
            f"(more than {max_restarting_servers}): {', '.join(restarting)}",
            hint="a restart pauses mail on each server; review the plan, then pass --force",
        )
    per_tenant: dict[str, int] = {}
    for rec in recorded.values():
        per_tenant[rec.tenant] = per_tenant.get(rec.tenant, 0) + 1
    touched: dict[str, int] = {}
    for c in plan.changes:
        if c.action in ("delete", "replace"):
            touched[c.tenant] = touched.get(c.tenant, 0) + 1
    for tenant, n in sorted(touched.items()):
        total = per_tenant.get(tenant, 0)
        if total >= 4 and n / total > threshold:
            raise UnsafePlan(
                f"the plan deletes or replaces {n} of {total} resources of tenant {tenant} "
                f"(more than {threshold:.0%})",
                hint="review the plan, then pass --force",
            )


def _adopt(provider: Any, ctx: Any, key: str, attrs: Any) -> tuple[dict[str, Any], str]:
    """``--adopt``: take the foreign object over (or find it already ours), then update it.

    Idempotent: after a lost reply the object carries our marker, so ``find`` sees it.
    """
    seen = provider.find(ctx, key, attrs) or provider.adopt(ctx, key, attrs)
    outputs = dict(seen.outputs)
    if provider.diff(seen.attrs, attrs).has_changes:
        outputs.update(provider.update(ctx, seen.id, seen.attrs, attrs) or {})
    return outputs, seen.id


def settle(store: Any, contexts: ContextFactory, log: Callable[[str], None] | None = None) -> int:
    """Resolve changes left ``pending`` by an interrupted run; returns how many."""
    settled = 0
    for row in store.pending():
        rec = store.get(row.key)
        provider_type = (row.after or {}).get("__provider") or (rec.provider if rec else None)
        instance = (row.after or {}).get("__instance") or (rec.instance if rec else "default")
        if provider_type is None:
            store.result(row.id, "settled", "nothing recorded to settle")
            continue
        provider = registry.get(provider_type, row.key.split("/", 1)[0])
        ctx = contexts(provider_type, instance, row.tenant)
        attrs = {k: v for k, v in (row.after or {}).items() if not k.startswith("__")}
        try:
            if row.action in ("create", "replace"):
                found = provider.find(ctx, row.key, attrs)
                if found is not None:
                    store.put(
                        Recorded(
                            row.key,
                            provider_type,
                            row.tenant,
                            found.id,
                            attrs,
                            dict(found.outputs),
                            instance,
                        ),
                        run_id=row.run_id,
                    )
                    store.result(row.id, "settled", "found live: recorded")
                else:
                    store.result(row.id, "settled", "not found live: will be planned again")
            elif row.action == "delete" and rec is not None:
                try:
                    provider.read(ctx, rec.id, rec.attrs)
                    store.result(row.id, "settled", "still exists: will be planned again")
                except NotFound:
                    store.remove(row.key)
                    store.result(row.id, "settled", "gone live: forgotten")
            else:
                store.result(row.id, "settled", "will be planned again")
        except PenguinError as exc:
            # Leave it pending: the next run tries again; never guess.
            if log:
                log(f"cannot settle {row.key} yet: {exc.message}")
            continue
        settled += 1
        if log:
            log(f"settled interrupted {row.action} of {row.key}")
    return settled


class Applier:
    """Applies one plan; ``stop()`` (first Ctrl-C) lets in-flight changes finish."""

    def __init__(
        self,
        store: Any,
        contexts: ContextFactory,
        *,
        parallelism: int = 8,
        keep_going: bool = False,
        on_event: Callable[[str, Change, Outcome | None], None] | None = None,
    ) -> None:
        self.store = store
        self.contexts = contexts
        self.parallelism = max(1, parallelism)
        self.keep_going = keep_going
        self.on_event = on_event or (lambda *_: None)
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self, plan: Plan, run_id: int) -> ApplyResult:
        result = ApplyResult(run_id)
        changes = {c.key: c for c in plan.changes}
        deps = {k: self._deps(c, changes) for k, c in changes.items()}
        done: dict[str, str] = {}  # key -> status
        failed_tenants: set[str] = set()
        stop_all = False
        running: dict[Future[Outcome], Change] = {}
        remaining = list(changes)
        with ThreadPoolExecutor(self.parallelism, thread_name_prefix="apply") as pool:
            try:
                while remaining or running:
                    if self._stop.is_set():
                        stop_all = True
                        result.interrupted = True
                    for key in list(remaining):
                        if len(running) >= self.parallelism:
                            break
                        change = changes[key]
                        blocked = [d for d in deps[key] if done.get(d) != "applied"]
                        reason = None
                        if stop_all:
                            reason = "stopped before it started"
                        elif change.tenant in failed_tenants:
                            reason = "an earlier change of this tenant failed"
                        elif any(done.get(d) in ("failed", "skipped") for d in blocked):
                            reason = "a change it depends on did not apply"
                        if reason:
                            remaining.remove(key)
                            outcome = Outcome(key, change.tenant, change.action, "skipped", reason)
                            done[key] = "skipped"
                            result.outcomes.append(outcome)
                            self.on_event("skipped", change, outcome)
                            continue
                        if blocked:
                            continue
                        remaining.remove(key)
                        self.on_event("start", change, None)
                        running[pool.submit(self._execute, change, run_id)] = change
                    if not running:
                        if remaining and not any(
                            all(done.get(d) == "applied" for d in deps[k]) for k in remaining
                        ):
                            # Dependencies outside the plan that never applied: skip the rest.
                            stop_all = True
                        continue
                    finished, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        change = running.pop(fut)
                        outcome = fut.result()
                        done[change.key] = outcome.status
                        result.outcomes.append(outcome)
                        self.on_event(outcome.status, change, outcome)
                        if outcome.status == "failed":
                            failed_tenants.add(change.tenant)
                            if not self.keep_going:
                                stop_all = True
            except KeyboardInterrupt:
                # Second Ctrl-C: stop waiting. In-flight intents stay pending and are
                # settled by the next run.
                result.interrupted = True
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        return result

    @staticmethod
    def _deps(change: Change, changes: Mapping[str, Change]) -> set[str] | frozenset[str]:
        if change.action == "delete":
            # Delete dependents first: everything of a lower rank in the same tenant.
            rank = DELETE_RANK.get(change.kind, 5)
            return {
                k
                for k, c in changes.items()
                if c.action == "delete"
                and c.tenant == change.tenant
                and DELETE_RANK.get(c.kind, 5) < rank
            }
        assert change.desired is not None
        return change.desired.dependencies() & changes.keys()

    def _execute(self, change: Change, run_id: int) -> Outcome:
        try:
            self._apply_one(change, run_id)
            return Outcome(change.key, change.tenant, change.action, "applied")
        except PenguinError as exc:
            return Outcome(
                change.key, change.tenant, change.action, "failed", redact(exc.message), exc.hint
            )
        except Exception as exc:  # a provider bug: recorded, reported, never silent
            import logging

            logging.getLogger("penguinctl").exception("unexpected error applying %s", change.key)
            return Outcome(
                change.key,
                change.tenant,
                change.action,
                "failed",
                redact(f"unexpected {type(exc).__name__}: {exc}"),
                "this is a bug in penguinctl; state/logs/penguinctl.log has the traceback",
            )

    def _apply_one(self, change: Change, run_id: int) -> None:
        store = self.store
        provider = registry.get(change.provider, change.kind)
        ctx = self.contexts(change.provider, change.instance, change.tenant)
        rec = change.recorded or store.get(change.key)

        if change.action == "delete":
            assert rec is not None
            cid = store.intent(
                run_id,
                tenant=change.tenant,
                key=change.key,
                action="delete",
                before=rec.attrs,
                after=None,
            )
            self._finish(cid, lambda: provider.delete(ctx, rec.id, rec.attrs))
            store.remove(change.key)
            store.drop_secrets(change.key)
            return

        res = change.desired
        assert res is not None
        attrs = resolve(res.attrs, self._lookup)
        attrs = {k: (GENERATED if isinstance(v, Generated) else v) for k, v in attrs.items()}
        shown = mask(res, attrs)
        after = {**shown, "__provider": res.provider, "__instance": res.instance}

        if change.action == "replace" and rec is not None:
            cid = store.intent(
                run_id,
                tenant=res.tenant,
                key=res.key,
                action="replace",
                before=rec.attrs,
                after=after,
            )
            self._finish(cid, lambda: provider.delete(ctx, rec.id, rec.attrs), keep_open=True)
            store.remove(res.key)
            created = self._call(cid, lambda: provider.create(ctx, res.key, attrs))
            outputs, vendor_id = dict(created.outputs), created.id
        elif change.action == "update" and rec is not None:
            cid = store.intent(
                run_id,
                tenant=res.tenant,
                key=res.key,
                action="update",
                before=rec.attrs,
                after=after,
            )
            new_outputs = self._call(cid, lambda: provider.update(ctx, rec.id, rec.attrs, attrs))
            outputs, vendor_id = {**rec.outputs, **dict(new_outputs or {})}, rec.id
        elif change.adopt:
            cid = store.intent(
                run_id, tenant=res.tenant, key=res.key, action="create", before=None, after=after
            )
            outputs, vendor_id = self._call(cid, lambda: _adopt(provider, ctx, res.key, attrs))
        else:
            cid = store.intent(
                run_id, tenant=res.tenant, key=res.key, action="create", before=None, after=after
            )
            created = self._call(cid, lambda: provider.create(ctx, res.key, attrs))
            outputs, vendor_id = dict(created.outputs), created.id
        store.put(
            Recorded(res.key, res.provider, res.tenant, vendor_id, shown, outputs, res.instance),
            run_id=run_id,
        )
        store.result(cid, "applied")

    def _lookup(self, ref: Any) -> Any:
        rec = self.store.get(ref.key)
        if rec is None or ref.output not in rec.outputs:
            raise PenguinError(
                f"{ref.key} has no output '{ref.output}' yet",
                hint="apply the resource it depends on first",
            )
        return rec.outputs[ref.output]

    def _call(self, cid: int, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except PenguinError as exc:
            self.store.result(cid, "failed", redact(exc.message))
            raise
        except Exception as exc:
            self.store.result(cid, "failed", redact(f"{type(exc).__name__}: {exc}"))
            raise

    def _finish(self, cid: int, fn: Callable[[], Any], keep_open: bool = False) -> None:
        try:
            fn()
        except NotFound:
            pass  # already gone: the goal of a delete is met
        except Exception as exc:
            self.store.result(cid, "failed", redact(str(exc)))
            raise
        if not keep_open:
            self.store.result(cid, "applied")
