"""Cloudflare DNS records pass the shared provider contract (tests/contract)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import pytest

from penguinctl.core.provider import Provider
from penguinctl.providers.cloudflare import CloudflareRecordProvider
from penguinctl.sandbox.http import EmulatorServer
from tests.cloudflare.conftest import FakeClock, SandboxContext, make_ctx
from tests.contract.provider_contract import Mutate, ProviderContract, SampleAttrs

_names = itertools.count(1)


class TestCloudflareContract(ProviderContract):
    @pytest.fixture
    def provider(self) -> Provider:
        return CloudflareRecordProvider()

    @pytest.fixture
    def ctx(self, server: EmulatorServer, clock: FakeClock) -> SandboxContext:
        return make_ctx(server, clock)

    @pytest.fixture
    def key(self) -> str:
        return f"dns_record/example.com/TXT/c{next(_names)}/note"

    @pytest.fixture
    def sample_attrs(self) -> SampleAttrs:
        def sample(key: str) -> dict[str, Any]:
            _, zone, rtype, name, tag = key.split("/")
            return {
                "zone": zone,
                "name": f"{name}.{zone}",
                "type": rtype,
                "content": f"penguinctl contract {tag} for {name}",
                "ttl": 1,
                "priority": None,
                "proxied": False,
            }

        return sample

    @pytest.fixture
    def mutate(self) -> Mutate:
        def change(attrs: Mapping[str, Any]) -> dict[str, Any]:
            return {**attrs, "content": attrs["content"] + " (changed)", "ttl": 3600}

        return change

    @pytest.fixture
    def bad_ctx(self, server: EmulatorServer, clock: FakeClock) -> SandboxContext:
        return make_ctx(server, clock, token="not-the-right-token-4f1c")
