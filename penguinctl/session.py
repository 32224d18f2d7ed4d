"""A session: one command's workspace, store, sandbox and provider contexts, opened lazily.

The CLI builds a :class:`Session` from its global options and calls the
operations in :mod:`penguinctl.ops`; nothing here prints.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from penguinctl import workspace as ws_mod
from penguinctl.core.context import CallContext
from penguinctl.workspace import Workspace

log = logging.getLogger("penguinctl")

SANDBOX_SETTINGS: dict[str, dict[str, Any]] = {"hostwinds": {"poll_interval": 0.1}}
# Types without an emulator: an instance of one is a real server (a self-hoster's
# PowerDNS, or the tests' loopback one) even in a sandbox workspace.
NO_EMULATOR = frozenset({"powerdns"})


@dataclass
class Session:
    workspace_dir: str | None = None
    profile: str | None = None
    sandbox: bool | None = None
    progress: Callable[[str], None] = field(default=lambda _msg: None)
    _sandbox_handle: Any = None
    _guard: threading.Lock = field(default_factory=threading.Lock)
    log_path: Any = None

    @cached_property
    def ws(self) -> Workspace:
        return ws_mod.load(self.workspace_dir, profile=self.profile, sandbox=self.sandbox)

    @cached_property
    def store(self) -> Any:  # opened before any worker thread starts (see ops.apply_plan)
        from penguinctl.store import open_store
        from penguinctl.store.crypto import load_secret_box

        self.ws.state_dir.mkdir(parents=True, exist_ok=True)
        self._log_to_file()
        box = load_secret_box(self.ws.secret_key)
        return open_store(
            self.ws.store_url, secret_key=box, backup_dir=self.ws.state_dir / "backups"
        )

    @property
    def endpoints(self) -> dict[str, str]:
        if not self.ws.sandbox:
            return {}
        return dict(self.sandbox_handle.endpoints)

    @property
    def sandbox_handle(self) -> Any:
        # Apply threads ask concurrently: start the in-process world exactly once.
        with self._guard:
            if self._sandbox_handle is None:
                from penguinctl.sandbox.host import ensure_running

                self._sandbox_handle = ensure_running(self.ws.state_dir / "sandbox")
            return self._sandbox_handle

    def _log_to_file(self) -> None:
        """Warnings and unexpected errors (with tracebacks) go to state/logs/penguinctl.log."""
        from penguinctl.core.errors import redact

        logs = self.ws.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        path = logs / "penguinctl.log"
        if any(getattr(h, "baseFilename", None) == str(path) for h in log.handlers):
            return
        handler = logging.FileHandler(path)
        handler.setLevel(logging.WARNING)

        class _Redacting(logging.Formatter):
            def format(self, record: logging.LogRecord) -> str:
                return redact(super().format(record))

        handler.setFormatter(_Redacting("%(asctime)s %(levelname)s %(threadName)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        self.log_path = path

    def context(self, provider_type: str, instance: str, tenant: str) -> CallContext:
        """The provider context for one call (credentials stay references until used)."""
        services = {"store": self.store}
        if provider_type in ("tenant", "local"):
            return CallContext(
                provider_type=provider_type,
                tenant=tenant,
                get_secret=self.store.get_secret,
                put_secret=self.store.put_secret,
                logger=self.progress,
                services=services,
            )
        inst = self.ws.instance(provider_type, instance)
        settings = dict(inst.settings)
        sandbox = self.ws.sandbox and provider_type not in NO_EMULATOR
        if sandbox:
            # Emulators provision in a fraction of a second: poll them accordingly.
            settings = {**SANDBOX_SETTINGS.get(provider_type, {}), **settings}
        return CallContext(
            provider_type=provider_type,
            instance=inst.name,
            tenant=tenant,
            settings=settings,
            credentials=inst.credentials,
            endpoints=self.endpoints if sandbox else {},
            sandbox=sandbox,
            base_dir=self.ws.root,
            get_secret=self.store.get_secret,
            put_secret=self.store.put_secret,
            logger=self.progress,
            services=services,
        )

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
        if self._sandbox_handle is not None:
            self._sandbox_handle.close()
            self._sandbox_handle = None
