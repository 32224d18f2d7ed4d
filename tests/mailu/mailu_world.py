"""A sandbox MailU on a real loopback HTTP server, and a CallContext with a dict-backed store.

The emulator is the real sandbox one; :class:`RecordingMailu` only keeps a copy of
each config-import payload so tests can assert what was sent (a spy, not a fake).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from penguinctl.core.context import CallContext
from penguinctl.sandbox.base import Request, Response
from penguinctl.sandbox.http import serving
from penguinctl.sandbox.mailu import MailuEmulator

SERVER = "mx1"


class RecordingMailu(MailuEmulator):
    def __init__(self) -> None:
        super().__init__()
        self.imports: list[Any] = []
        self.bodies: list[bytes] = []

    def handle(self, request: Request) -> Response:
        self.bodies.append(request.body)
        if request.method == "POST" and request.path.endswith("/import"):
            self.imports.append(json.loads(request.body))
        return super().handle(request)


@dataclass
class World:
    emu: RecordingMailu
    ctx: CallContext
    store: dict[tuple[str, str, str], str] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)
    puts: list[tuple[str, str]] = field(default_factory=list)

    def secret(self, key: str, name: str) -> str | None:
        return self.store.get((self.ctx.tenant, key, name))

    def seed_dkim(self, dkim_key: str, pem: str | None = None) -> str:
        pem = pem or rsa_pem(0)
        self.store[(self.ctx.tenant, dkim_key, "private_key")] = pem
        return pem

    def everything_recorded(self) -> str:
        """Every byte the emulator saw or keeps, plus every log line, as one text."""
        parts = [json.dumps(self.emu.state), *self.emu.requests, *self.logs]
        parts += [b.decode("utf-8", "replace") for b in self.emu.bodies]
        return "\n".join(parts)


@contextmanager
def mailu_world(*, sandbox: bool = True) -> Iterator[World]:
    emu = RecordingMailu()
    with serving({"mailu": emu}) as server:
        world = World(emu, CallContext(provider_type="mailu"))

        def get_secret(tenant: str, key: str, name: str) -> str | None:
            return world.store.get((tenant, key, name))

        def put_secret(tenant: str, key: str, name: str, value: str) -> None:
            world.puts.append((key, name))
            world.store[(tenant, key, name)] = value

        world.ctx = CallContext(
            provider_type="mailu",
            tenant="acme",
            sandbox=sandbox,
            endpoints={"mailu": f"{server.base_url}/mailu"},
            settings={"bcrypt_rounds": 4},  # MailU uses 12; 4 keeps the tests fast
            get_secret=get_secret,
            put_secret=put_secret,
            logger=world.logs.append,
        )
        yield world


@cache
def rsa_pem(n: int) -> str:
    """A PKCS#8 PEM RSA key (cached: generation costs ~50 ms)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
