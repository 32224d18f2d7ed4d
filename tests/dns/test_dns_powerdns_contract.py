"""PowerDNS records pass the shared provider contract against a real PowerDNS."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from penguinctl.core.context import CallContext
from penguinctl.core.provider import Provider
from penguinctl.providers.powerdns import PowerDNSRecordProvider
from tests.contract.provider_contract import Mutate, ProviderContract, SampleAttrs
from tests.daemons.pdns import PowerDNSServer
from tests.dns.conftest import pdns_ctx

_names = itertools.count(1)


class TestPowerDNSContract(ProviderContract):
    @pytest.fixture
    def zone(self, new_zone: Callable[[], str]) -> str:
        return new_zone()

    @pytest.fixture
    def provider(self) -> Provider:
        return PowerDNSRecordProvider()

    @pytest.fixture
    def ctx(self, pdns_server: PowerDNSServer) -> CallContext:
        return pdns_ctx(pdns_server)

    @pytest.fixture
    def key(self, zone: str) -> str:
        return f"dns_record/{zone}/TXT/c{next(_names)}/note"

    @pytest.fixture
    def sample_attrs(self) -> SampleAttrs:
        def sample(key: str) -> dict[str, Any]:
            _, zone, rtype, name, tag = key.split("/")
            return {
                "zone": zone,
                "name": f"{name}.{zone}",
                "type": rtype,
                "content": f"penguinctl contract {tag} for {name} " + "x" * 300,
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
    def bad_ctx(self, pdns_server: PowerDNSServer) -> CallContext:
        return pdns_ctx(pdns_server, key="not-the-right-key-9a7e")
