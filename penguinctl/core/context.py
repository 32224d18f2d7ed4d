"""The concrete :class:`~penguinctl.core.provider.ProviderContext` used by the engine and tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from penguinctl.core import ratelimit
from penguinctl.core.credentials import resolve
from penguinctl.core.errors import ConfigError, CredentialError, redact

# Production endpoints; the sandbox replaces them with loopback URLs.
ENDPOINTS: dict[str, str] = {
    "hostwinds": "https://clients.hostwinds.com",
    "cloudflare": "https://api.cloudflare.com/client/v4",
}

SANDBOX_CREDENTIAL = "sandbox-token"


@dataclass
class CallContext:
    """Everything a provider may use during one call.

    ``credentials`` maps credential names to references (``env:…``), resolved
    lazily; in sandbox mode every credential is :data:`SANDBOX_CREDENTIAL`
    unless ``credentials`` holds a literal override for tests (``literal:``).
    ``secrets`` is the store's generated-secret accessor ``(tenant, key, name)``.
    """

    provider_type: str
    instance: str = "default"
    tenant: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    credentials: Mapping[str, str] = field(default_factory=dict)
    endpoints: Mapping[str, str] = field(default_factory=dict)
    sandbox: bool = False
    base_dir: Path | None = None
    get_secret: Callable[[str, str, str], str | None] | None = None
    put_secret: Callable[[str, str, str, str], None] | None = None
    logger: Callable[[str], None] | None = None
    # Built-in providers (tenant, local) reach the store through here; vendor
    # providers never do.
    services: Mapping[str, Any] = field(default_factory=dict)

    def credential(self, name: str) -> str:
        ref = self.credentials.get(name)
        if ref is not None and ref.startswith("literal:"):
            value = ref.removeprefix("literal:")
            redact.add(value)
            return value
        if self.sandbox:
            return SANDBOX_CREDENTIAL
        if ref is None:
            raise CredentialError(
                f"provider instance '{self.instance}' ({self.provider_type}) "
                f"has no credential '{name}'",
                hint=f"add credentials: {{{name}: env:VARIABLE}} under providers.{self.instance} "
                "in penguinctl.yaml",
            )
        return resolve(ref, base=self.base_dir)

    def endpoint(self, service: str) -> str:
        url = self.endpoints.get(service) or self.settings.get("endpoint") or ENDPOINTS.get(service)
        if not url:
            raise ConfigError(f"no endpoint known for {service}")
        return str(url).rstrip("/")

    @property
    def limiter(self) -> ratelimit.Bucket:
        key = self.credentials.get("apiToken") or self.credentials.get("apiKey") or self.instance
        if self.sandbox:
            # Emulators enforce (and answer 429 for) the vendors' limits themselves;
            # self-throttling to the real Hostwinds pace would only slow the sandbox.
            return ratelimit.shared(f"sandbox-{self.provider_type}", key, rate=(200.0, 200))
        return ratelimit.shared(self.provider_type, f"{self.instance}:{key}")

    def secret(self, key: str, name: str) -> str | None:
        if self.get_secret is None:
            return None
        value = self.get_secret(self.tenant, key, name)
        if value:
            redact.add(value)
        return value

    def set_secret(self, key: str, name: str, value: str) -> None:
        if self.put_secret is None:
            raise ConfigError("this context cannot store secrets")
        redact.add(value)
        self.put_secret(self.tenant, key, name, value)

    def log(self, message: str) -> None:
        if self.logger is not None:
            self.logger(redact(message))
