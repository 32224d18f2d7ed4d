"""The provider context a dynamic provider builds at call time (no pulumi import).

A dynamic provider object is pickled into the stack's state, so it holds strings only
(provider type, kind, key, instance, tenant, optionally the workspace path). Everything
else is looked up when Pulumi calls it, in the process that runs it:

* the workspace: ``PENGUIN_WORKSPACE`` (else the path the program recorded), with
  ``PENGUIN_PROFILE`` and ``PENGUIN_SANDBOX=1`` as on the command line;
* credentials: the workspace's references (``env:``/``file:``), resolved per call, or
  values Pulumi passes through the provider's ``configure`` (stack config secrets
  ``penguinctl:credential.<instance>.<name>``), held in this module, never on the object;
* the store (generated secrets, tenants): opened once per process.

Tests install their own factory with :func:`use_contexts` (emulators, fixtures).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from penguinctl.core.provider import ProviderContext

ContextFactory = Callable[[str, str, str], ProviderContext]

_factory: ContextFactory | None = None
_sessions: dict[tuple[str | None, str | None, bool | None], Any] = {}
_guard = threading.Lock()
# Credentials passed as stack config secrets: (instance, name) -> value. Process memory only.
_configured: dict[tuple[str, str], str] = {}
CONFIG_PREFIX = "penguinctl:credential."


@contextmanager
def use_contexts(factory: ContextFactory) -> Iterator[None]:
    """Route every dynamic-provider call in this process to ``factory`` (tests)."""
    global _factory
    previous, _factory = _factory, factory
    try:
        yield
    finally:
        _factory = previous


def configure(config: Mapping[str, Any]) -> None:
    """Keep credentials given as stack config (``penguinctl:credential.<instance>.<name>``)."""
    from penguinctl.core.errors import redact

    for key, value in config.items():
        if key.startswith(CONFIG_PREFIX) and isinstance(value, str) and value:
            instance, _, name = key.removeprefix(CONFIG_PREFIX).partition(".")
            if instance and name:
                redact.add(value)
                _configured[(instance, name)] = value


def context(
    provider_type: str, instance: str, tenant: str, workspace: str | None = None
) -> ProviderContext:
    """The context of one call, from the test factory or the workspace's session."""
    if _factory is not None:
        return _factory(provider_type, instance, tenant)
    ctx: Any = _session(workspace).context(provider_type, instance, tenant)
    overrides = {n: f"literal:{v}" for (i, n), v in _configured.items() if i == ctx.instance}
    if overrides:
        ctx.credentials = {**ctx.credentials, **overrides}
    return ctx


def _session(workspace: str | None) -> Any:
    from penguinctl.session import Session

    ws_dir = os.environ.get("PENGUIN_WORKSPACE") or workspace
    profile = os.environ.get("PENGUIN_PROFILE") or None
    sandbox = True if os.environ.get("PENGUIN_SANDBOX") == "1" else None
    key = (ws_dir, profile, sandbox)
    with _guard:
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = Session(ws_dir, profile, sandbox)
        return session


def close() -> None:
    """Close the sessions this process opened (end of a provider host, tests)."""
    with _guard:
        for session in _sessions.values():
            session.close()
        _sessions.clear()
        _configured.clear()
