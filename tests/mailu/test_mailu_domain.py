"""MailU domains against the sandbox MailU over real loopback HTTP."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from mailu_world import SERVER, World, mailu_world, rsa_pem

from penguinctl.core import registry
from penguinctl.core.errors import NotFound, ProviderError
from penguinctl.providers.mailu import MailuDomainProvider
from tests.contract.provider_contract import ProviderContract

_n = itertools.count(1)


@pytest.fixture
def world() -> Iterator[World]:
    with mailu_world() as w:
        yield w
        assert w.emu.unexpected == []


def domain_attrs(world: World, domain: str, selector: str = "dkim") -> dict[str, Any]:
    dkim_key = f"dkim_key/{domain}/{selector}"
    if world.secret(dkim_key, "private_key") is None:
        world.seed_dkim(dkim_key)
    return {"server": SERVER, "domain": domain, "dkim_selector": selector, "dkim_key": dkim_key}


class TestMailuDomainContract(ProviderContract):
    @pytest.fixture
    def provider(self) -> MailuDomainProvider:
        return MailuDomainProvider()

    @pytest.fixture
    def ctx(self, world: World) -> Any:
        return world.ctx

    @pytest.fixture
    def key(self) -> str:
        return f"mailu_domain/contract{next(_n)}.example.com"

    @pytest.fixture
    def sample_attrs(self, world: World) -> Any:
        return lambda key: domain_attrs(world, key.split("/", 1)[1])

    @pytest.fixture
    def mutate(self, world: World) -> Any:
        def change(attrs: Mapping[str, Any]) -> dict[str, Any]:
            other = f"dkim_key/{attrs['domain']}/s2"
            world.seed_dkim(other, rsa_pem(1))
            return {**attrs, "dkim_selector": "s2", "dkim_key": other}

        return change


def test_registered() -> None:
    assert isinstance(registry.get("mailu", "mailu_domain"), MailuDomainProvider)


def test_create_installs_dkim_and_is_idempotent(world: World) -> None:
    provider = MailuDomainProvider()
    attrs = domain_attrs(world, "example.com")
    created = provider.create(world.ctx, "mailu_domain/example.com", attrs)
    assert (created.id, dict(created.outputs)) == ("mx1/example.com", {"domain": "example.com"})
    assert world.emu.dkim_key(SERVER, "example.com", "dkim") == world.secret(
        attrs["dkim_key"], "private_key"
    )
    assert world.emu.imports == [{"domain": [{"name": "example.com"}]}]
    before = len(world.emu.requests)
    again = provider.create(world.ctx, "mailu_domain/example.com", attrs)
    assert again.id == created.id
    # Read before write: the second apply only reads (export + DKIM key), sends nothing.
    assert [r.split()[0] for r in world.emu.requests[before:]] == ["GET", "GET"]
    assert len(world.emu.imports) == 1
    pem = world.secret(attrs["dkim_key"], "private_key")
    assert pem and pem not in "\n".join(world.logs)


def test_rotated_key_shows_as_drift_and_update_reinstalls(world: World) -> None:
    provider = MailuDomainProvider()
    attrs = domain_attrs(world, "rotate.example.com")
    created = provider.create(world.ctx, "mailu_domain/rotate.example.com", attrs)
    world.seed_dkim(attrs["dkim_key"], rsa_pem(1))  # the store now holds another key
    observed = provider.read(world.ctx, created.id, attrs)
    assert provider.diff(observed.attrs, attrs).changed == ("dkim_key",)
    provider.update(world.ctx, created.id, observed.attrs, attrs)
    assert world.emu.dkim_key(SERVER, "rotate.example.com", "dkim") == rsa_pem(1)
    assert not provider.diff(provider.read(world.ctx, created.id, attrs).attrs, attrs).changed


def test_missing_dkim_secret_is_a_typed_error_with_hint(world: World) -> None:
    attrs = {**domain_attrs(world, "nokey.example.com"), "dkim_key": "dkim_key/nokey/dkim"}
    with pytest.raises(ProviderError) as err:
        MailuDomainProvider().create(world.ctx, "mailu_domain/nokey.example.com", attrs)
    assert "not in the store" in err.value.message
    assert err.value.hint and "dkim_key/nokey/dkim" in err.value.hint


def test_domain_without_dkim_and_delete_cascades(world: World) -> None:
    provider = MailuDomainProvider()
    attrs = {"server": SERVER, "domain": "Plain.Example.com", "dkim_key": None}
    created = provider.create(world.ctx, "mailu_domain/plain.example.com", attrs)
    assert created.id == "mx1/plain.example.com"
    provider.delete(world.ctx, created.id, attrs)
    assert world.emu.imports[-1] == {"domain": [{"-name": "plain.example.com"}]}
    with pytest.raises(NotFound):
        provider.read(world.ctx, created.id, attrs)
    assert provider.find(world.ctx, "mailu_domain/plain.example.com", attrs) is None


def test_check_reports_every_problem() -> None:
    problems = MailuDomainProvider().check(
        {"server": "", "domain": "not a domain", "dkim_selector": "bad selector!"}
    )
    assert len(problems) == 3


def test_outside_the_sandbox_an_unknown_server_address_is_a_clear_error() -> None:
    with mailu_world(sandbox=False) as w:
        with pytest.raises(ProviderError) as err:
            MailuDomainProvider().create(
                w.ctx, "mailu_domain/x.example.com", {"server": SERVER, "domain": "x.example.com"}
            )
        assert "address of server" in err.value.message and err.value.hint
        assert w.emu.requests == []
