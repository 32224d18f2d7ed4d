"""Provider registry: ``(provider type, resource kind) -> Provider`` class, imported lazily.

Areas register their providers here by dotted path, so that ``penguinctl --help``
never imports an HTTP or SSH library.
"""

from __future__ import annotations

import importlib
from functools import cache

from penguinctl.core.errors import PenguinError
from penguinctl.core.provider import Provider

# (type, kind) -> "module:Class". Areas add their lines; keep sorted.
_PROVIDERS: dict[tuple[str, str], str] = {}


def register(type_: str, kind: str, target: str) -> None:
    """Register ``module:Class`` as the provider for ``kind`` resources of ``type_``."""
    _PROVIDERS[(type_, kind)] = target


def known() -> list[tuple[str, str]]:
    _load_builtin()
    return sorted(_PROVIDERS)


@cache
def get(type_: str, kind: str) -> Provider:
    """Instantiate (once) the provider for ``kind`` resources of ``type_``."""
    _load_builtin()
    target = _PROVIDERS.get((type_, kind))
    if target is None:
        types = sorted({t for t, k in _PROVIDERS if k == kind})
        raise PenguinError(
            f"no provider '{type_}' for {kind} resources",
            hint=f"available for {kind}: {', '.join(types) or 'none'}",
        )
    module, _, cls = target.partition(":")
    provider = getattr(importlib.import_module(module), cls)()
    if not isinstance(provider, Provider):
        raise TypeError(f"{target} is not a Provider")
    return provider


@cache
def _load_builtin() -> None:
    # Importing the table module registers the built-in providers.
    importlib.import_module("penguinctl.providers")
