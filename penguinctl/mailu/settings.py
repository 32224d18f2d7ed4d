"""MailU settings of one server: from the specs plus the ``mailu`` provider instance's
``settings`` in ``penguinctl.yaml`` (each with a default suited to cold email).

The specs say *what* (the server's mail host, its domains, their mailboxes and DKIM
selector); the instance settings say *how* MailU runs (TLS flavour, limits, Postfix
queue politeness). :func:`server_config` gathers both into the plain dict the
templates read; it raises :class:`ConfigError` for what cannot be rendered.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from penguinctl.core.errors import ConfigError

MAILU_VERSION = "2024.06.57"  # one pinned release (apis.md §2); images ghcr.io/mailu/*
MAILU_ROOT = "/mailu"
TLS_FLAVORS = ("letsencrypt", "cert", "notls", "mail", "mail-letsencrypt")
PORTS = (25, 80, 443, 465, 587, 993)

DEFAULTS: dict[str, Any] = {
    "tls_flavor": "letsencrypt",
    "postmaster": "postmaster",
    "message_size_limit": 50_000_000,
    # MailU's default 200/day per user would stop a campaign at message 201.
    "message_ratelimit": "5000/day",
    "auth_ratelimit_exemption": [],
    "subnet": "192.168.203.0/24",
    "admin_ui": False,
    "queue_lifetime": "5d",
    "min_backoff": "300s",
    "max_backoff": "3600s",
    "destination_concurrency": 2,
    "destination_rate_delay": "1s",
    "failed_cohort_limit": 3,
    "recipient_limit": 50,
}
_DURATION = re.compile(r"^\d+[smhdw]$")
_RATE = re.compile(r"^\d+/(second|minute|hour|day)$")


def merged(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Instance settings over :data:`DEFAULTS`; unknown MailU keys are ignored (the
    instance also holds SSH settings)."""
    out = {k: settings.get(k, v) for k, v in DEFAULTS.items()}
    problems = []
    if out["tls_flavor"] not in TLS_FLAVORS:
        problems.append(f"tls_flavor must be one of {', '.join(TLS_FLAVORS)}")
    for key in ("queue_lifetime", "min_backoff", "max_backoff", "destination_rate_delay"):
        if not _DURATION.match(str(out[key])):
            problems.append(f"{key}: a Postfix duration such as 300s or 5d")
    if not _RATE.match(str(out["message_ratelimit"])):
        problems.append("message_ratelimit: N/day (or /hour, /minute, /second)")
    for key in ("message_size_limit", "destination_concurrency", "failed_cohort_limit"):
        if not isinstance(out[key], int) or isinstance(out[key], bool) or out[key] < 1:
            problems.append(f"{key}: a positive whole number")
    try:
        net = ipaddress.ip_network(str(out["subnet"]))
        exempt = [
            str(ipaddress.ip_network(str(c), strict=False)) for c in out["auth_ratelimit_exemption"]
        ]
    except ValueError as exc:
        problems.append(f"subnet/auth_ratelimit_exemption: {exc}")
    else:
        out["auth_ratelimit_exemption"] = exempt
        # With the resolver on, MailU gives unbound the second-to-last address (apis.md §2.1).
        out["resolver_ip"] = str(net[-2])
    if problems:
        raise ConfigError(
            "mailu settings: " + "; ".join(problems),
            hint="fix providers.<mailu instance>.settings in penguinctl.yaml",
        )
    return out


def server_config(
    server: str,
    server_spec: Any,
    domains: list[Any],
    settings: Mapping[str, Any],
    *,
    bind_ip: str | None,
) -> dict[str, Any]:
    """The template context for ``server``: ``domains`` are its MailDomain specs in order."""
    selectors = [d.dkim.selector for d in domains]
    senders = [f"{box.name}@{d.domain}" for d in domains for box in d.mailboxes if box.sender]
    return config_for(
        server,
        server_spec.mail_host,
        [d.domain for d in domains],
        selectors,
        senders,
        settings,
        bind_ip=bind_ip,
    )


def config_for(
    server: str,
    mail_host: str,
    domains: list[str],
    selectors: list[str],
    senders: list[str],
    settings: Mapping[str, Any],
    *,
    bind_ip: str | None,
) -> dict[str, Any]:
    """The template context from plain values (what a ``mailu_server`` resource records:
    its domains in order, their DKIM selectors, the sending mailboxes)."""
    if not domains:
        raise ConfigError(
            f"server {server!r} serves no mail domain: nothing to render",
            hint="add a MailDomain with spec.server: " + server,
        )
    s = merged(settings)
    selectors = sorted(set(selectors))
    if len(selectors) > 1:
        # MailU 2024.06 signs every domain of a server with the one DKIM_SELECTOR.
        raise ConfigError(
            f"the mail domains of server {server!r} use different DKIM selectors "
            f"({', '.join(selectors)}); MailU has one selector per server",
            hint="give every MailDomain on this server the same dkim.selector",
        )
    return {
        "server": {"name": server},
        "main_domain": domains[0],
        "hostnames": [mail_host],
        "domains": list(domains),
        "senders": senders,
        "bind_ip": bind_ip or "0.0.0.0",
        "mailu": {
            "version": MAILU_VERSION,
            "root": MAILU_ROOT,
            "ports": list(PORTS),
            "dkim_selector": selectors[0],
            **{
                k: s[k]
                for k in (
                    "tls_flavor",
                    "postmaster",
                    "message_size_limit",
                    "message_ratelimit",
                    "auth_ratelimit_exemption",
                    "subnet",
                    "resolver_ip",
                    "admin_ui",
                )
            },
        },
        "postfix": {
            k: s[k]
            for k in (
                "queue_lifetime",
                "min_backoff",
                "max_backoff",
                "destination_concurrency",
                "destination_rate_delay",
                "failed_cohort_limit",
                "recipient_limit",
            )
        },
    }
