"""The shared provider contract, run against the Hostwinds provider and its emulator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from conftest import HwWorld, attrs_for

from penguinctl.core.provider import Provider, ProviderContext
from penguinctl.core.resource import name_of
from penguinctl.providers.hostwinds import HostwindsServerProvider
from tests.contract.provider_contract import Mutate, ProviderContract, SampleAttrs


class TestHostwindsContract(ProviderContract):
    @pytest.fixture
    def provider(self) -> Provider:
        return HostwindsServerProvider()

    @pytest.fixture
    def ctx(self, hw: HwWorld) -> ProviderContext:
        return hw.ctx()

    @pytest.fixture
    def bad_ctx(self, hw: HwWorld) -> ProviderContext | None:
        return hw.ctx(key="not-the-sandbox-key")

    @pytest.fixture
    def sample_attrs(self) -> SampleAttrs:
        return lambda key: attrs_for(name_of(key))

    @pytest.fixture
    def mutate(self) -> Mutate:
        def change(attrs: Mapping[str, Any]) -> dict[str, Any]:
            return {**attrs, "mail_host": "relay." + str(attrs["mail_host"])}

        return change
