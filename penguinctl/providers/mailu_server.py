"""``mailu_server/<server>``: MailU's rendered files deployed to one server, inside ``apply``.

One resource per server that serves mail domains. It sits after the server and its
domains' DKIM keys and before the ``mailu_domain`` resources (which need MailU's admin
container running). Attributes (what the plan diffs, never secret content):

* ``server``, ``mail_host``, ``main_domain`` (MailU's ``DOMAIN``: the server's first
  domain), ``dkim_selectors``, ``senders`` — the spec values the templates read (the
  other domains reach MailU through its config channel, ``mailu_domain``, and change no
  file, so adding one restarts nothing); ``bind_ip`` — the address MailU's ports bind to
  (a reference to a new server's IPv4, an existing server's address);
* ``files`` — ``{path: sha256}`` of the rendered non-secret files, rendered with the
  bind address left as :data:`BIND_MARKER` (so the checksums are known at plan time
  even for a server bought in the same apply; ``bind_ip`` is diffed on its own);
* ``definitions`` — ``{service: sha256}`` of each compose service definition (and of
  the networks), so the plan can tell *which* services a compose change recreates
  without the old file.

They are added at plan time by :func:`bind_session` (rendering needs the ``mailu``
instance settings, which expansion does not see). MailU's ``SECRET_KEY`` and the first
admin's password are generated once at apply, kept encrypted in the store under this
resource's key, and deployed as 0600 files MailU reads through ``*_FILE``.

Outputs: ``root``, ``deployed`` (``{path: sha256}`` of the bytes on the host),
``services`` (every MailU service) and ``restarted`` (what the last deploy stopped or
started). Outside the sandbox the files go over SSH (:mod:`penguinctl.mailu.deploy`:
checksums first, only the difference, restart only what changed, wait for health); in
the sandbox, into the emulated server's local directory
``state/sandbox/servers/<server>/mailu``. Delete (no spec puts a mail domain on the
server any more) stops MailU (``docker compose down``) and removes the rendered files;
the data directories (mailboxes, queue, DKIM keys) stay on the host.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets as _secrets
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from penguinctl.core.errors import ConfigError, NotFound, ProviderError
from penguinctl.core.provider import Created, Observed, Provider, ProviderContext
from penguinctl.core.resource import Ref, Resource

KIND = "mailu_server"
BIND_MARKER = "@@penguinctl-bind-ip@@"  # never produced by the templates otherwise
SECRET_NAMES = ("secret_key", "admin_password")
NETWORKS = "(networks)"
DIFFERS = "(differs on the host)"
SANDBOX_DIR = ("state", "sandbox", "servers")
# The reasons of :func:`restarts` that a restart answers (as the deploy does for them);
# every other one (mailu.env, the compose file, the bind address) needs a recreate.
POSTFIX_CHANGED = "Postfix overrides changed"
SECRET_CHANGED = "a secret file changed"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- rendering (plan time and apply time) ----------------------------------------------


def _context(attrs: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    from penguinctl.mailu.settings import config_for

    return config_for(
        str(attrs["server"]),
        str(attrs["mail_host"]),
        [str(attrs["main_domain"])] if attrs.get("main_domain") else [],
        [str(s) for s in attrs.get("dkim_selectors") or []],
        [str(s) for s in attrs.get("senders") or []],
        settings,
        bind_ip=BIND_MARKER,
    )


def _rendered(attrs: Mapping[str, Any], settings: Mapping[str, Any], secrets: Mapping[str, str]):  # type: ignore[no-untyped-def]
    from penguinctl.mailu.render import render

    return render(_context(attrs, settings), dict(secrets))


def definitions(compose: str) -> dict[str, str]:
    """``{service: sha256 of its definition}`` plus the networks, from a compose file."""
    import yaml

    # libyaml's loader: the pure-Python one cost ~60 ms per server at plan time.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(compose, Loader=loader) or {}
    out = {
        str(name): sha256(json.dumps(svc, sort_keys=True, default=str))
        for name, svc in (data.get("services") or {}).items()
    }
    out[NETWORKS] = sha256(json.dumps(data.get("networks"), sort_keys=True, default=str))
    return out


def bind(resource: Resource, settings: Mapping[str, Any]) -> Resource:
    """``resource`` with ``files`` and ``definitions`` computed from the templates and
    ``settings`` (pure apart from reading the templates); a :class:`ConfigError` for
    settings or specs that cannot be rendered (different DKIM selectors on one server)."""
    placeholder = {name: "" for name in SECRET_NAMES}
    files = [f for f in _rendered(resource.attrs, settings, placeholder) if not f.secret]
    compose = next(f.content for f in files if f.path == "docker-compose.yml")
    attrs = {
        **resource.attrs,
        "files": {f.path: sha256(f.content) for f in files},
        "definitions": definitions(compose),
    }
    return replace(resource, attrs=attrs)


def bind_session(session: Any, resource: Resource) -> Resource:
    """:func:`bind` with the settings of the resource's ``mailu`` instance (defaults when
    the workspace has none: the apply then fails on the missing instance, as before)."""
    try:
        settings = session.ws.instance("mailu", resource.instance).settings
    except ConfigError:
        settings = {}
    return bind(resource, settings)


# -- what a change restarts (plan time, from checksums only) ---------------------------


def restarts(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    """(changed files, {service: why}) for an update from ``old`` to ``new`` attributes,
    by the rules :mod:`penguinctl.mailu.deploy` applies on the host."""
    from penguinctl.mailu.deploy import ENV_SERVICES, SECRET_SERVICES, SERVICES

    of, nf = dict(old.get("files") or {}), dict(new.get("files") or {})
    changed = sorted(p for p in set(of) | set(nf) if of.get(p) != nf.get(p))
    bind_changed = isinstance(new.get("bind_ip"), Ref) or old.get("bind_ip") != new.get("bind_ip")
    if bind_changed and "docker-compose.yml" not in changed:
        changed = sorted([*changed, "docker-compose.yml"])
    why: dict[str, str] = {}
    if "docker-compose.yml" in changed:
        od, nd = dict(old.get("definitions") or {}), dict(new.get("definitions") or {})
        if od.get(NETWORKS) != nd.get(NETWORKS):
            why.update({s: "the compose networks changed" for s in SERVICES})
        for s in SERVICES:
            if od.get(s) != nd.get(s):
                why.setdefault(s, "its docker-compose.yml definition changed")
        if bind_changed:
            why.setdefault("front", "the address its ports bind to changed")
    if "mailu.env" in changed:
        for s in ENV_SERVICES:
            why.setdefault(s, "mailu.env changed")
    if any(p.startswith("overrides/postfix/") for p in changed):
        why.setdefault("smtp", POSTFIX_CHANGED)
    if any(p.startswith("secrets/") for p in changed):
        for s in SECRET_SERVICES:
            why.setdefault(s, SECRET_CHANGED)
    return changed, dict(sorted(why.items()))


# -- the provider ----------------------------------------------------------------------


class MailuServerProvider(Provider):
    """The ``mailu_server`` kind of the ``mailu`` provider type. The id is the server name."""

    type = "mailu"
    kind = KIND
    ignore_fields = frozenset({"ssh"})  # how to reach the host, not what runs there

    def effect(
        self, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> tuple[str, tuple[str, ...]] | None:
        changed, why = restarts(old, new)
        if not changed:
            return None
        services = tuple(why)
        tail = f" → restarts {', '.join(services)}" if services else " → no restart"
        return f"{', '.join(changed)} changed{tail}", services

    def check(self, attrs: Mapping[str, Any]) -> list[str]:
        problems = []
        if not attrs.get("main_domain"):
            problems.append("main_domain: a MailU server needs at least one mail domain")
        if len(set(attrs.get("dkim_selectors") or [])) > 1:
            problems.append("dkim_selectors: MailU has one DKIM selector per server")
        return problems

    def create(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Created:
        server = str(attrs["server"])
        return Created(id=server, outputs=self._deploy(ctx, key, attrs))

    def update(
        self, ctx: ProviderContext, id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        # What the recorded deploy says must restart, whatever the host shows now: if an
        # earlier apply wrote the files and died before restarting, the files match but
        # the services still run the old configuration.
        return self._deploy(ctx, f"{KIND}/{id}", new, owed=restarts(old, new)[1])

    def read(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> Observed:
        files = self._files(ctx, f"{KIND}/{id}", attrs, generate=False)
        shown = [f for f in files if not f.secret]
        if ctx.sandbox:
            root = sandbox_root(ctx, id)
            if not (root / "docker-compose.yml").is_file():
                raise NotFound(f"MailU is not deployed on {id} ({root})")
            plan = _local_plan(root, shown)
        else:
            from penguinctl.mailu.deploy import plan_deploy

            channel = _channel(ctx, id, attrs)
            plan = plan_deploy(channel.remote, shown, channel.root)
            if plan.first:
                raise NotFound(f"MailU is not deployed on {id} ({channel.root})")
        differs = {f.path for f in plan.writes}
        live_files = {
            p: (DIFFERS if p in differs else v) for p, v in dict(attrs.get("files") or {}).items()
        }
        live = {**attrs, "files": live_files}
        deployed = {f.path: sha256(f.content) for f in shown if f.path not in differs}
        return Observed(id=id, attrs=live, outputs={"deployed": deployed})

    def delete(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> None:
        from penguinctl.mailu.deploy import compose_argv
        from penguinctl.mailu.render import SECRET_FILES, TEMPLATE_FILES

        paths = [*TEMPLATE_FILES, *SECRET_FILES]
        if ctx.sandbox:
            root = sandbox_root(ctx, id)
            for p in paths:
                (root / p).unlink(missing_ok=True)
            return
        from penguinctl.remote.shell import join, quote

        channel = _channel(ctx, id, attrs)
        compose = quote(f"{channel.root}/docker-compose.yml")
        # Data directories (mail, queue, dkim) are bind mounts: `down` leaves them.
        channel.remote.run(
            f"if [ -f {compose} ]; then {join(compose_argv(channel.root, 'down'))}; fi; "
            + join(["rm", "-f", "--", *(f"{channel.root}/{p}" for p in paths)]),
            what=f"stopping MailU on {id}",
        )
        ctx.log(f"MailU on {id}: stopped; its data directories are kept")

    def find(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Observed | None:
        """The deployment when every file on the host is the planned one (settling an
        interrupted apply); otherwise None, and the engine deploys again (idempotent)."""
        try:
            seen = self.read(ctx, str(attrs["server"]), attrs)
        except NotFound:
            return None
        return None if DIFFERS in dict(seen.attrs.get("files") or {}).values() else seen

    # -- apply ----------------------------------------------------------------------

    def _files(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any], *, generate: bool):  # type: ignore[no-untyped-def]
        values: dict[str, str] = {}
        for name in SECRET_NAMES:
            value = ctx.secret(key, name)
            if value is None and generate:
                value = _secrets.token_urlsafe(24)
                ctx.set_secret(key, name, value)
            values[name] = value or ""
        bind_ip = attrs.get("bind_ip")
        if not isinstance(bind_ip, str) or not bind_ip:
            raise ProviderError(
                f"the address of server {attrs.get('server')!r} is not known yet",
                hint=f"apply server/{attrs.get('server')} first",
            )
        files = _rendered(attrs, ctx.settings, values)
        wanted = dict(attrs.get("files") or {})
        for f in files:
            if not f.secret and sha256(f.content) != wanted.get(f.path):
                # The settings (penguinctl.yaml) or templates changed since the plan.
                raise ProviderError(
                    f"MailU {f.path} for {attrs.get('server')} no longer renders as planned",
                    hint="penguinctl.yaml or the templates changed: run plan again",
                )
        return [
            f if f.secret else replace(f, content=f.content.replace(BIND_MARKER, bind_ip))
            for f in files
        ]

    def _deploy(
        self,
        ctx: ProviderContext,
        key: str,
        attrs: Mapping[str, Any],
        owed: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        server = str(attrs["server"])
        files = self._files(ctx, key, attrs, generate=True)
        if ctx.sandbox:
            root = sandbox_root(ctx, server)
            plan = _local_plan(root, files)
            _owe(plan, owed or {})
            _local_write(root, plan)
            where = str(root)
        else:
            from penguinctl.mailu.deploy import apply_deploy, plan_deploy

            channel = _channel(ctx, server, attrs)
            plan = plan_deploy(channel.remote, files, channel.root)
            _owe(plan, owed or {})
            apply_deploy(
                channel.remote,
                plan,
                health_timeout=float(ctx.settings.get("health_timeout", 300)),
                poll=float(ctx.settings.get("health_poll", 2.0)),
            )
            where = channel.root
        for line in plan.describe():
            ctx.log(f"MailU {server}: {line}")
        from penguinctl.mailu.deploy import SERVICES

        return {
            "root": where,
            "deployed": {f.path: sha256(f.content) for f in files if not f.secret},
            "services": list(SERVICES),
            "restarted": plan.services,
        }


def _owe(plan: Any, owed: Mapping[str, str]) -> None:
    """Add the restarts the recorded state owes that the host comparison did not find."""
    if plan.first:
        return
    for service, why in owed.items():
        if service in plan.recreate or service in plan.restart or service in plan.start:
            continue
        note = f"{why} (the last deploy stopped before restarting it)"
        if why in (POSTFIX_CHANGED, SECRET_CHANGED):
            plan.restart[service] = note  # read again when the service starts
        else:
            plan.recreate[service] = note  # a restart would keep the old environment


def _channel(ctx: ProviderContext, server: str, attrs: Mapping[str, Any]) -> Any:
    from penguinctl.providers.mailu_ssh import open_ssh

    return open_ssh(ctx, server, attrs)


# -- the sandbox: the emulated server is a local directory -----------------------------


def sandbox_root(ctx: ProviderContext, server: str) -> Path:
    """``<workspace>/state/sandbox/servers/<server>/mailu`` (``sandbox_servers`` overrides
    the ``…/servers`` part, for tests)."""
    base = ctx.settings.get("sandbox_servers")
    if base:
        return Path(str(base)) / server / "mailu"
    root = Path(getattr(ctx, "base_dir", None) or ".")
    return root.joinpath(*SANDBOX_DIR, server, "mailu")


def _local_plan(root: Path, files: list[Any]) -> Any:
    """The :class:`~penguinctl.mailu.deploy.DeployPlan` of a local directory: the same
    checksum and restart rules as a host, with every service considered running."""
    from penguinctl.mailu.deploy import DATA_DIRS, SERVICES, DeployPlan, _services_to_touch
    from penguinctl.remote.shell import Result

    plan = DeployPlan(str(root))
    for f in files:
        path = root / f.path
        try:
            same = (path.stat().st_mode & 0o777) == f.mode and path.read_bytes() == (
                f.content.encode()
            )
        except FileNotFoundError:
            same = False
        (plan.unchanged.append(f.path) if same else plan.writes.append(f))
    plan.dirs = [d for d in DATA_DIRS if not (root / d).is_dir()]
    compose = root / "docker-compose.yml"
    old = compose.read_text() if compose.is_file() else None
    ps = "".join(json.dumps({"Service": s, "State": "running"}) + "\n" for s in SERVICES)
    _services_to_touch(plan, files, old, Result(0, ps, ""))
    return plan


def _local_write(root: Path, plan: Any) -> None:
    for d in plan.dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    for f in plan.writes:
        path = root / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".penguinctl-")
        try:
            os.fchmod(fd, f.mode)
            with os.fdopen(fd, "wb") as out:
                out.write(f.content.encode())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
