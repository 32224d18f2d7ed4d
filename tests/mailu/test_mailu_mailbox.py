"""MailU mailboxes against the sandbox MailU: passwords generated once, only hashes sent."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import bcrypt
import pytest
from mailu_world import SERVER, World, mailu_world

from penguinctl.core import registry
from penguinctl.core.errors import NotFound, ProviderError
from penguinctl.providers.mailu import (
    PASSWORD_DRIFT,
    MailuDomainProvider,
    MailuMailboxProvider,
)
from tests.contract.provider_contract import ProviderContract

_n = itertools.count(1)
DOMAIN = "example.com"


@pytest.fixture
def world() -> Iterator[World]:
    with mailu_world() as w:
        MailuDomainProvider().create(
            w.ctx, f"mailu_domain/{DOMAIN}", {"server": SERVER, "domain": DOMAIN}
        )
        w.emu.imports.clear()
        yield w
        assert w.emu.unexpected == []


def box(address: str, **changes: Any) -> dict[str, Any]:
    attrs = {
        "server": SERVER,
        "address": address,
        "display_name": "Jane Sender",
        "quota_mb": None,
        "sender": True,
        "password_ref": None,
    }
    return {**attrs, **changes}


def live_user(world: World, address: str) -> dict[str, Any]:
    return world.emu.state["servers"][SERVER]["user"][address]


class TestMailuMailboxContract(ProviderContract):
    @pytest.fixture
    def provider(self) -> MailuMailboxProvider:
        return MailuMailboxProvider()

    @pytest.fixture
    def ctx(self, world: World) -> Any:
        return world.ctx

    @pytest.fixture
    def key(self) -> str:
        return f"mailu_mailbox/box{next(_n)}@{DOMAIN}"

    @pytest.fixture
    def sample_attrs(self) -> Any:
        return lambda key: box(key.split("/", 1)[1])

    @pytest.fixture
    def mutate(self) -> Any:
        def change(attrs: Mapping[str, Any]) -> dict[str, Any]:
            return {**attrs, "display_name": "Someone Else", "quota_mb": 2500}

        return change


def test_registered() -> None:
    assert isinstance(registry.get("mailu", "mailu_mailbox"), MailuMailboxProvider)


def test_create_is_idempotent_and_generates_the_password_once(world: World) -> None:
    provider, key, attrs = MailuMailboxProvider(), f"mailu_mailbox/jane@{DOMAIN}", box("jane@x")
    attrs = box(f"jane@{DOMAIN}")
    first = provider.create(world.ctx, key, attrs)
    second = provider.create(world.ctx, key, attrs)
    assert first == second and first.id == f"mx1/jane@{DOMAIN}"
    assert len(world.emu.imports) == 1, "the second create must only read"
    assert world.puts == [(key, "password")], "generated once, stored once"
    assert dict(first.outputs) == {
        "address": f"jane@{DOMAIN}",
        "smtp_host": SERVER,
        "smtp_port": 587,
        "username": f"jane@{DOMAIN}",
    }


def test_password_never_leaves_in_clear_and_the_hash_verifies(world: World) -> None:
    provider, key = MailuMailboxProvider(), f"mailu_mailbox/clear@{DOMAIN}"
    attrs = box(f"clear@{DOMAIN}", smtp_host="mail.example.com")
    created = provider.create(world.ctx, key, attrs)
    password = world.secret(key, "password")
    assert password and len(password) >= 24
    stored_hash = live_user(world, f"clear@{DOMAIN}")["password"]
    assert stored_hash.startswith("$2b$04$")  # the {BLF-CRYPT} scheme prefix is stripped
    assert bcrypt.checkpw(password.encode(), stored_hash.encode())
    sent = world.emu.imports[0]["user"][0]["password"]
    assert sent.startswith("{BLF-CRYPT}$2b$")
    # Update and retry: the password is reused, never regenerated nor re-sent.
    provider.update(world.ctx, created.id, attrs, {**attrs, "display_name": "Renamed"})
    provider.create(world.ctx, key, {**attrs, "display_name": "Renamed"})
    assert world.secret(key, "password") == password and len(world.puts) == 1
    assert all("password" not in u for imp in world.emu.imports[1:] for u in imp["user"])
    observed = provider.read(world.ctx, created.id, attrs)
    for where in (created.outputs, observed.outputs, observed.attrs):
        assert password not in json.dumps(dict(where))
    assert created.outputs["smtp_host"] == "mail.example.com"
    assert password not in world.everything_recorded()


def test_update_sends_only_the_difference(world: World) -> None:
    provider, attrs = MailuMailboxProvider(), box(f"diff@{DOMAIN}", quota_mb=1500)
    created = provider.create(world.ctx, f"mailu_mailbox/diff@{DOMAIN}", attrs)
    assert live_user(world, f"diff@{DOMAIN}")["quota_bytes"] == 1500 * 10**6
    new = {**attrs, "display_name": "Only The Name"}
    assert provider.diff(attrs, new).changed == ("display_name",)
    provider.update(world.ctx, created.id, attrs, new)
    assert world.emu.imports[-1] == {
        "user": [{"email": f"diff@{DOMAIN}", "displayed_name": "Only The Name"}]
    }
    before = len(world.emu.imports)
    provider.update(world.ctx, created.id, new, new)  # nothing differs: nothing sent
    assert len(world.emu.imports) == before
    observed = provider.read(world.ctx, created.id, new)
    assert not provider.diff(observed.attrs, new).has_changes


def test_password_ref_is_resolved_per_call_and_drift_is_seen(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, address = MailuMailboxProvider(), f"ref@{DOMAIN}"
    monkeypatch.setenv("MAILBOX_PW", "first-password-123")
    attrs = box(address, password_ref="env:MAILBOX_PW")
    created = provider.create(world.ctx, f"mailu_mailbox/{address}", attrs)
    assert world.puts == [], "a referenced password is never stored"
    assert bcrypt.checkpw(b"first-password-123", live_user(world, address)["password"].encode())
    monkeypatch.setenv("MAILBOX_PW", "second-password-456")  # the operator rotated it
    observed = provider.read(world.ctx, created.id, attrs)
    assert observed.attrs["password_ref"] == PASSWORD_DRIFT
    assert provider.diff(observed.attrs, attrs).changed == ("password_ref",)
    provider.update(world.ctx, created.id, observed.attrs, attrs)
    assert bcrypt.checkpw(b"second-password-456", live_user(world, address)["password"].encode())
    assert provider.read(world.ctx, created.id, attrs).attrs["password_ref"] == "env:MAILBOX_PW"
    assert "second-password-456" not in world.everything_recorded()


def test_password_changed_in_mailu_is_drift_and_update_restores_it(world: World) -> None:
    provider, address = MailuMailboxProvider(), f"drift@{DOMAIN}"
    attrs = box(address)
    created = provider.create(world.ctx, f"mailu_mailbox/{address}", attrs)
    live_user(world, address)["password"] = bcrypt.hashpw(
        b"changed by hand", bcrypt.gensalt(4)
    ).decode()
    observed = provider.read(world.ctx, created.id, attrs)
    assert observed.attrs["password_ref"] == PASSWORD_DRIFT
    provider.update(world.ctx, created.id, observed.attrs, attrs)
    password = world.secret(f"mailu_mailbox/{address}", "password")
    assert password and bcrypt.checkpw(
        password.encode(), live_user(world, address)["password"].encode()
    )


def test_mailbox_on_a_missing_domain_is_a_typed_error(world: World) -> None:
    key = "mailu_mailbox/someone@missing.example.org"
    with pytest.raises(ProviderError) as err:
        MailuMailboxProvider().create(world.ctx, key, box("someone@missing.example.org"))
    assert "does not exist" in err.value.message and err.value.hint
    password = world.secret(key, "password")
    assert password and password not in str(err.value.to_dict())


def test_delete_removes_the_user_and_twice_is_fine(world: World) -> None:
    provider, address = MailuMailboxProvider(), f"gone@{DOMAIN}"
    created = provider.create(world.ctx, f"mailu_mailbox/{address}", box(address))
    provider.delete(world.ctx, created.id, box(address))
    assert world.emu.imports[-1] == {"user": [{"-email": address}]}
    provider.delete(world.ctx, created.id, box(address))
    assert world.emu.imports[-1] == {"user": [{"-email": address}]}, "nothing sent the 2nd time"
    with pytest.raises(NotFound):
        provider.read(world.ctx, created.id, box(address))


def test_check_reports_every_problem() -> None:
    problems = MailuMailboxProvider().check(
        {
            "server": "mx1",
            "address": "not-an-address",
            "display_name": 5,
            "quota_mb": 0,
            "sender": "yes",
            "password_ref": "hunter2",
        }
    )
    assert len(problems) == 5
    assert all("hunter2" not in p for p in problems)
