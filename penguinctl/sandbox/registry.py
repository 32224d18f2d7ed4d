"""Which emulators the sandbox runs, imported lazily by ``module:Class``.

A module that is missing (an emulator not written yet, or removed) is skipped
with a warning rather than failing the whole sandbox: the other emulators still
serve, and the router answers 404 under the missing one's prefix.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping

from penguinctl.sandbox.base import Emulator

log = logging.getLogger(__name__)

EMULATORS: dict[str, str] = {
    "cloudflare": "penguinctl.sandbox.cloudflare:CloudflareEmulator",
    "hostwinds": "penguinctl.sandbox.hostwinds:HostwindsEmulator",
    "mailu": "penguinctl.sandbox.mailu:MailuEmulator",
}

# Path below the emulator's prefix where the vendor's API base lives, so that a
# provider appends exactly what it appends to the production URL.
ENDPOINT_SUFFIX: dict[str, str] = {"cloudflare": "/client/v4"}


def load(targets: Mapping[str, str] | None = None) -> dict[str, type[Emulator]]:
    """Import every emulator class in ``targets`` (default :data:`EMULATORS`).

    Returns ``name -> class`` for those that import; a missing module is logged
    and skipped. A class whose ``name`` differs from its key is a bug and raises.
    """
    found: dict[str, type[Emulator]] = {}
    for name, target in sorted((targets if targets is not None else EMULATORS).items()):
        module_name, _, class_name = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise  # the module exists but one of *its* imports is missing: a real bug
            log.warning("sandbox emulator %r is not available (%s); skipped", name, module_name)
            continue
        cls = getattr(module, class_name)
        if not (isinstance(cls, type) and issubclass(cls, Emulator)):
            raise TypeError(f"{target} is not an Emulator subclass")
        if getattr(cls, "name", name) != name:
            raise TypeError(f"{target} has name {cls.name!r}, registered as {name!r}")
        found[name] = cls
    return found


def endpoint(base_url: str, name: str) -> str:
    """The URL a provider uses as the vendor base for emulator ``name``."""
    return f"{base_url.rstrip('/')}/{name}{ENDPOINT_SUFFIX.get(name, '')}"
