"""The MailU files of one server, from the specs, the workspace and the store.

Used by ``penguinctl mailu render`` (read-only: secrets not yet generated are shown
as ``(generated)``) and by the deploy (``generate=True``: MailU's secret key and the
first admin's password are generated once and kept encrypted in the store under
``mailu_server/<server>``, so every deploy renders the same bytes).
"""

from __future__ import annotations

import secrets as _secrets
from typing import Any

from penguinctl.core.errors import ConfigError
from penguinctl.mailu.render import RenderedFile, render
from penguinctl.mailu.settings import server_config

SECRET_NAMES = ("secret_key", "admin_password")
GENERATED = "(generated)"
SENSITIVE = "(sensitive)"


def secret_owner(server: str) -> str:
    return f"mailu_server/{server}"


def server_files(
    session: Any, specs: Any, server: str, *, generate: bool, show_secrets: bool = False
) -> tuple[dict[str, Any], list[RenderedFile]]:
    """(template context, files) for ``server``."""
    from penguinctl.core import expand
    from penguinctl.spec.pools import domain_servers, recorded_assignments

    doc = specs.servers.get(server)
    if doc is None:
        known = ", ".join(sorted(specs.servers)) or "none"
        raise ConfigError(f"no Server {server!r} in the specs", hint=f"servers: {known}")
    tenant = doc.spec.tenant
    served = domain_servers(
        specs, recorded_assignments(session.store)
    )  # a pooled domain is served where its pool assigned it
    domains = [d.spec for d in specs.mail_domains.values() if served.get(d.spec.domain) == server]
    instance = session.ws.instance("mailu", expand._tenant_instance(specs, tenant, "mailu"))
    recorded = session.store.get(f"server/{server}")
    bind_ip = None
    if recorded is not None:
        bind_ip = recorded.outputs.get("ipv4") or recorded.attrs.get("address")
    context = server_config(server, doc.spec, domains, instance.settings, bind_ip=bind_ip)
    values: dict[str, str] = {}
    for name in SECRET_NAMES:
        value = session.store.get_secret(tenant, secret_owner(server), name)
        if value is None and generate:
            value = _secrets.token_urlsafe(24)
            session.store.put_secret(tenant, secret_owner(server), name, value)
        if value is None:
            values[name] = GENERATED
        else:
            values[name] = value if show_secrets or generate else SENSITIVE
    return context, render(context, values)
