"""Operations behind the CLI commands: each takes a Session and returns data to render.

Commands stay thin (parse options, call one function here, hand the result to
:mod:`penguinctl.cli.output`); everything testable without a terminal lives here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from penguinctl.core import engine, expand, registry
from penguinctl.core import plan as plan_mod
from penguinctl.core.errors import (
    ConfigError,
    NotFound,
    PenguinError,
    PlanMismatch,
    redact,
)
from penguinctl.core.plan import Plan
from penguinctl.core.resource import Recorded
from penguinctl.session import Session


def load_specs(sources: Sequence[str], stdin: TextIO | None = None) -> Any:
    from penguinctl import spec

    if not sources:
        raise ConfigError(
            "no specs given", hint="pass -f FILE or -f DIR (repeatable), or -f - for stdin"
        )
    return spec.load(sources, stdin=stdin)


def desired(
    session: Session,
    sources: Sequence[str],
    targets: Sequence[str] | None,
    stdin: TextIO | None = None,
) -> list:
    specs = load_specs(sources, stdin)
    pools = None
    if specs.of("IpPool"):  # keep the sending-IP assignments the last apply recorded
        from penguinctl.spec.pools import recorded_assignments

        pools = recorded_assignments(session.store)
    resources = expand.expand(specs, tenants=targets or None, pools=pools)
    return [_bind(session, r) for r in resources]


def _bind(session: Session, resource: Any) -> Any:
    """Point DNS records at the provider type of their instance (Cloudflare or PowerDNS);
    give a MailU server the checksums of its files (rendering needs the instance settings)."""
    if resource.kind == "mailu_server":
        from penguinctl.providers.mailu_server import bind_session

        return bind_session(session, resource)
    if resource.kind != "dns_record":
        return resource
    ws = session.ws
    inst = ws.providers.get(resource.instance) if resource.instance != "default" else None
    if inst is None:
        dns_types = {p.type for p in ws.providers.values() if p.type in ("cloudflare", "powerdns")}
        if len(dns_types) == 1:
            (ptype,) = dns_types
        else:
            ptype = "cloudflare"
    else:
        ptype = inst.type
    if ptype == resource.provider:
        return resource
    from dataclasses import replace

    return replace(resource, provider=ptype)


def refresh(session: Session, recorded: dict[str, Recorded]) -> dict[str, Recorded]:
    """Read every recorded resource live (one read each; list() where providers offer it)."""
    live: dict[str, Recorded] = {}
    for key, rec in sorted(recorded.items()):
        provider = registry.get(rec.provider, rec.kind)
        ctx = session.context(rec.provider, rec.instance, rec.tenant)
        try:
            seen = provider.read(ctx, rec.id, rec.attrs)
        except NotFound:
            continue
        attrs = dict(rec.attrs)
        for field_name, value in seen.attrs.items():
            if field_name in attrs and field_name not in provider.ignore_fields:
                attrs[field_name] = value
        live[key] = Recorded(
            key,
            rec.provider,
            rec.tenant,
            seen.id,
            attrs,
            {**rec.outputs, **seen.outputs},
            rec.instance,
        )
    return live


def make_plan(
    session: Session,
    sources: Sequence[str],
    *,
    targets: Sequence[str] | None = None,
    do_refresh: bool = False,
    stdin: TextIO | None = None,
    destroy: bool = False,
) -> Plan:
    resources = [] if destroy else desired(session, sources, targets, stdin)
    if destroy and targets is None and sources:
        # destroy -f FILE: only the tenants those specs declare
        targets = sorted(load_specs(sources, stdin).tenants)
    recorded = session.store.recorded()
    live = refresh(session, _in_scope(recorded, targets)) if do_refresh else None
    plan = plan_mod.diff(
        resources,
        recorded,
        workspace=str(session.ws.root),
        profile=session.ws.profile,
        targets=list(targets) if targets else None,
        live=live,
    )
    _warn(plan, resources)
    from penguinctl.core import cost

    cost.estimate(plan, session.context)
    return plan


def _in_scope(recorded: dict[str, Recorded], targets: Sequence[str] | None) -> dict[str, Recorded]:
    if not targets:
        return recorded
    return {k: r for k, r in recorded.items() if r.tenant in targets}


def _warn(plan: Plan, resources: list) -> None:
    changing = {c.key for c in plan.changes}
    for r in resources:
        if (
            r.key in changing
            and r.kind == "dns_record"
            and str(r.attrs.get("content", "")).startswith("v=DMARC1; p=none")
        ):
            plan.warnings.append(
                f"{r.attrs['name']}: DMARC p=none only monitors; once reports show aligned mail, "
                "raise dmarc.policy to quarantine, then reject"
            )


def save_plan(plan: Plan, path: Path) -> None:
    path.write_text(json.dumps(plan.to_json(full=True), indent=1, sort_keys=True))


def load_plan(session: Session, path: Path) -> Plan:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PlanMismatch(f"cannot read plan file {path}: {exc}") from None
    if data.get("workspace") != str(session.ws.root):
        raise PlanMismatch(
            f"the plan was made for workspace {data.get('workspace')}, not {session.ws.root}",
            hint="run the plan again in this workspace",
        )
    if data.get("profile") != session.ws.profile:
        raise PlanMismatch(
            f"the plan was made for profile {data.get('profile') or '(none)'}, "
            f"not {session.ws.profile or '(none)'}",
            hint="pass the same --profile, or plan again",
        )
    recorded = session.store.recorded()
    try:
        plan = plan_mod.load_saved(data, recorded)
    except (KeyError, TypeError, AttributeError) as exc:
        raise PlanMismatch(
            f"{path} is not a complete penguinctl plan file (missing {exc})",
            hint="save plans with `penguinctl plan --out FILE`",
        ) from None
    scope = _in_scope(recorded, plan.targets)
    if plan_mod.state_fingerprint(scope) != plan.state_fingerprint:
        raise PlanMismatch(
            "the recorded state changed since this plan was made",
            hint="run `penguinctl plan --out FILE` again and review it",
        )
    return plan


def precheck_credentials(session: Session, plan: Plan) -> None:
    """Resolve every credential the plan will use before the first change (fail fast)."""
    if session.ws.sandbox:
        return
    seen: set[tuple[str, str]] = set()
    for c in plan.changes:
        if c.provider in ("tenant", "local") or (c.provider, c.instance) in seen:
            continue
        seen.add((c.provider, c.instance))
        ctx = session.context(c.provider, c.instance, c.tenant)
        for name in ctx.credentials:
            ctx.credential(name)


@dataclass
class ApplyOptions:
    parallelism: int | None = None
    keep_going: bool = False
    force: bool = False
    allow_replace: bool = False
    max_new_servers: int | None = None


def apply_plan(
    session: Session,
    plan: Plan,
    opts: ApplyOptions,
    *,
    command: str,
    on_event: Callable[..., None] | None = None,
    applier_hook: Callable[[engine.Applier], None] | None = None,
) -> engine.ApplyResult:
    store = session.store
    engine.check_safety(
        plan,
        store.recorded(),
        force=opts.force,
        allow_replace=opts.allow_replace,
        threshold=session.ws.delete_threshold,
        max_new_servers=opts.max_new_servers,
    )
    precheck_credentials(session, plan)
    # A wrong secret key must fail before the first change, not halfway through.
    store.check_secret_key()
    with store.lock(command):
        run_id = store.begin_run(
            command, workspace=str(session.ws.root), profile=session.ws.profile
        )
        applier = engine.Applier(
            store,
            session.context,
            parallelism=opts.parallelism or session.ws.parallelism,
            keep_going=opts.keep_going,
            on_event=on_event,
        )
        if applier_hook:
            applier_hook(applier)
        status = "failed"
        result = engine.ApplyResult(run_id)
        try:
            result = applier.run(plan, run_id)
            status = "interrupted" if result.interrupted else ("ok" if result.ok else "failed")
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            store.finish_run(run_id, status, result.to_json() | {"plan": plan.counts()})
    return result


def settle_pending(session: Session) -> int:
    if not session.store.pending():
        return 0
    with session.store.lock("settle"):
        return engine.settle(session.store, session.context, session.progress)


_NO_PTR = Recorded("ptr/-", "-", "-", "-")


def status(session: Session, tenant: str | None = None) -> dict[str, Any]:
    recorded = session.store.recorded(tenant)
    tenants: dict[str, dict[str, Any]] = {}
    for rec in recorded.values():
        t = tenants.setdefault(
            rec.tenant, {"resources": 0, "kinds": {}, "servers": [], "domains": [], "pools": []}
        )
        t["resources"] += 1
        t["kinds"][rec.kind] = t["kinds"].get(rec.kind, 0) + 1
        if rec.kind == "server":
            t["servers"].append(
                {
                    "name": rec.attrs.get("name"),
                    "ipv4": rec.outputs.get("ipv4"),
                    "mail_host": rec.attrs.get("mail_host"),
                    "ptr": (recorded.get("ptr/" + rec.key.split("/", 1)[1]) or _NO_PTR).outputs.get(
                        "host"
                    ),
                    "status": rec.status,
                }
            )
        if rec.kind == "mailu_domain":
            t["domains"].append(rec.attrs.get("domain"))
        if rec.kind == "ip_pool":  # which domain sends from which IP
            members = rec.outputs.get("members") or {}
            t["pools"].append(
                {
                    "name": rec.attrs.get("name"),
                    "assignment": {
                        domain: {"server": server, "ips": members.get(server) or []}
                        for domain, server in (rec.outputs.get("assignment") or {}).items()
                    },
                }
            )
    return {
        "workspace": str(session.ws.root),
        "profile": session.ws.profile,
        "sandbox": session.ws.sandbox,
        "tenants": tenants,
        "pending": len(session.store.pending()),
    }


def state_import(
    session: Session,
    address: str,
    vendor_id: str,
    *,
    provider_type: str | None,
    instance: str,
    tenant: str,
) -> Recorded:
    """Adopt an existing object under ``address`` (KIND/NAME) without changing it."""
    kind = address.split("/", 1)[0]
    if "/" not in address:
        raise ConfigError(f"'{address}' is not KIND/NAME", hint="e.g. server/acme-mx1")
    if session.store.get(address) is not None:
        raise ConfigError(
            f"{address} is already managed", hint="`penguinctl state rm` it first to re-import"
        )
    types = [t for t, k in registry.known() if k == kind]
    ptype = provider_type or (types[0] if len(types) == 1 else None)
    if ptype is None:
        # Several types manage this kind (server: hostwinds, existing): the named instance's
        # type, or the only one this workspace configures.
        named = session.ws.providers.get(instance)
        configured = {p.type for p in session.ws.providers.values()} & set(types)
        if named is not None and named.type in types:
            ptype = named.type
        elif len(configured) == 1:
            (ptype,) = configured
    if ptype is None:
        raise ConfigError(
            f"say which provider owns {address}", hint=f"--provider one of: {', '.join(types)}"
        )
    provider = registry.get(ptype, kind)
    ctx = session.context(ptype, instance, tenant)
    with session.store.lock("state import"):
        seen = provider.import_(ctx, address, vendor_id)
        rec = Recorded(
            address,
            ptype,
            tenant,
            seen.id,
            dict(seen.attrs),
            dict(seen.outputs),
            instance,
        )
        session.store.put(rec)
    return rec


def doctor(session: Session) -> list[dict[str, str]]:
    """Checks with their fix. Each: name, status (ok|warn|error), detail, fix."""
    import shutil
    import sys

    checks: list[dict[str, str]] = []

    def add(name: str, status: str, detail: str, fix: str = "") -> None:
        checks.append({"name": name, "status": status, "detail": detail, "fix": fix})

    add(
        "python",
        "ok" if sys.version_info >= (3, 11) else "error",
        sys.version.split()[0],
        "install Python 3.11+",
    )
    try:
        ws = session.ws
        add("workspace", "ok", str(ws.root))
    except PenguinError as exc:
        add("workspace", "error", exc.message, exc.hint or "")
        return checks
    try:
        rev = session.store.current_revision()
        add("store", "ok", f"{session.store.url_display} (schema {rev})")
    except PenguinError as exc:
        add("store", "error", exc.message, exc.hint or "")
    for name, inst in sorted(ws.providers.items()):
        for cred, ref in sorted(inst.credentials.items()):
            from penguinctl.core.credentials import resolve

            try:
                resolve(ref, base=ws.root)
                add(f"credential {name}.{cred}", "ok", ref)
            except PenguinError as exc:
                status_ = "warn" if ws.sandbox else "error"
                add(f"credential {name}.{cred}", status_, redact(exc.message), exc.hint or "")
    key = Path(os.path.expanduser("~/.ssh/id_ed25519"))
    alt = Path(os.path.expanduser("~/.ssh/id_rsa"))
    if key.exists() or alt.exists():
        add("ssh key", "ok", str(key if key.exists() else alt))
    else:
        add(
            "ssh key",
            "warn",
            "no ~/.ssh/id_ed25519 or id_rsa",
            "ssh-keygen -t ed25519 (needed for servers you bring)",
        )
    if shutil.which("pulumi"):
        add("pulumi CLI", "ok", shutil.which("pulumi") or "")
    else:
        add(
            "pulumi CLI",
            "error" if ws.engine == "pulumi" else "warn",
            "not installed (only needed for engine: pulumi)",
            "install the Pulumi CLI, or keep engine: builtin",
        )
    add("sandbox", "ok" if ws.sandbox else "warn", "on" if ws.sandbox else "off (real vendor APIs)")
    if any(p.type == "hostwinds" for p in ws.providers.values()):
        from penguinctl.providers._egress import egress_ipv4

        ip = egress_ipv4()
        add(
            "egress IPv4",
            "ok" if ip else "warn",
            f"{ip} (local view; behind NAT Hostwinds sees your router's public address)"
            if ip
            else "no IPv4 route found",
            "add this address to the API key's allow-list at "
            "https://clients.hostwinds.com/cloud/api_keys.php",
        )
    return checks
