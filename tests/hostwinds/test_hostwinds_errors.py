"""Vendor errors, retries, secrets and the emulator's strictness."""

from __future__ import annotations

import httpx
import pytest
from conftest import TOKEN, HwWorld, attrs_for

from penguinctl.core.errors import AuthError, PenguinError, ProviderError
from penguinctl.providers._hostwinds_api import HostwindsClient
from penguinctl.providers.hostwinds import UNCONFIRMED_ACTIONS, HostwindsServerProvider, server_name
from penguinctl.sandbox import hostwinds as emulator_module


def _texts(exc: PenguinError) -> str:
    return "\n".join([str(exc), repr(exc), exc.hint or "", repr(exc.to_dict()), repr(exc.args)])


def test_a_rejected_key_is_an_auth_error_with_the_allow_list_hint(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    provider.create(hw.ctx(), "server/mx1", attrs_for())  # a password now exists
    wrong = "wrong-key-0123456789"
    with pytest.raises(AuthError) as err:
        provider.create(hw.ctx(key=wrong), "server/mx2", attrs_for("mx2"))
    text = _texts(err.value)
    assert "Not Authorized!" in text
    assert "allow-list" in text and "penguinctl doctor" in text
    for secret in [wrong, TOKEN, *hw.passwords()]:
        assert secret not in text
        assert secret not in hw.everything()
    assert hw.emu.state["purchases"] == 1


def test_http_500s_on_reads_are_retried(hw: HwWorld, provider: HostwindsServerProvider) -> None:
    created = provider.create(hw.ctx(), "server/mx1", attrs_for())
    hw.emu.faults["fail_next"] = 2
    hw.emu.requests.clear()
    observed = provider.read(hw.ctx(), created.id, attrs_for())
    assert observed.id == created.id
    assert hw.actions()[:3] == ["get_instance"] * 3
    assert sum("HTTP 500, retrying" in line for line in hw.logs) == 2


def test_persistent_500s_end_in_a_retryable_error(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    hw.emu.faults["fail_next"] = 10
    with pytest.raises(ProviderError) as err:
        provider.find(hw.ctx(), "server/mx1", attrs_for())
    assert err.value.retryable and "HTTP 500" in err.value.message
    assert hw.actions() == ["get_instances"] * 4


def test_a_vendor_error_with_http_200_is_typed(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    created = provider.create(hw.ctx(), "server/mx1", attrs_for())
    hw.emu.faults["error_next"] = "Something odd happened."
    with pytest.raises(ProviderError) as err:
        provider.update(hw.ctx(), created.id, attrs_for(), attrs_for(mail_host="b.example.com"))
    assert err.value.message == "Hostwinds get_instance: Something odd happened."
    assert not err.value.retryable


def test_no_password_anywhere_over_a_whole_lifecycle(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    ctx = hw.ctx()
    created = provider.create(ctx, "server/mx1", attrs_for())
    passwords = hw.passwords()
    assert passwords and all(len(p) >= 16 for p in passwords)
    observed = provider.read(ctx, created.id, attrs_for())
    found = provider.find(ctx, "server/mx1", attrs_for())
    new = attrs_for(mail_host="b.example.com")
    outputs = provider.update(ctx, created.id, attrs_for(), new)
    api = HostwindsClient(ctx)
    try:
        listed = api.instances()
        one = api.instance(created.id)
    finally:
        api.close()
    assert all("password" not in i for i in [*listed, one])
    provider.delete(ctx, created.id, new)
    everything = hw.everything(
        created.outputs, observed.attrs, observed.outputs, found, outputs, listed, one
    )
    for secret in [*passwords, TOKEN]:
        assert secret not in everything


def test_server_names_are_deterministic_distinct_and_bounded() -> None:
    assert server_name("acme", "mx1") == server_name("acme", "mx1")
    assert server_name("acme", "mx1").startswith("pc-acme-mx1-")
    assert server_name("a-b", "c") != server_name("a", "b-c")
    long = server_name("t" * 80, "Mail_Server.1")
    assert len(long) <= 50 and long.startswith("pc-ttt")
    assert long != server_name("t" * 80, "Mail_Server.2")


def test_check_reports_missing_and_bad_fields(provider: HostwindsServerProvider) -> None:
    assert provider.check(attrs_for()) == []
    problems = provider.check(attrs_for(plan="", extra_ips=-1))
    assert problems == ["plan is required", "extra_ips must be a whole number >= 0"]


def test_emulator_defaults_match_the_provider_action_table() -> None:
    assert emulator_module.ACTIONS == UNCONFIRMED_ACTIONS


def test_emulator_is_strict(hw: HwWorld) -> None:
    url = f"{hw.base}/hostwinds/cloud/api.php"
    assert httpx.get(url).status_code == 404
    assert httpx.post(f"{hw.base}/hostwinds/other.php", data={"API": TOKEN}).status_code == 404
    json_reply = httpx.post(url, json={"action": "get_instances", "API": TOKEN}).json()
    assert json_reply == [
        {"result": "error", "action": "Authorization", "message": "Not Authorized!"}
    ]
    assert hw.api("buy_everything")[0]["result"] == "error"
    assert hw.emu.unexpected == [
        "GET /cloud/api.php",
        "POST /other.php",
        "POST /cloud/api.php with a non-form body",
        "unknown action 'buy_everything'",
    ]
    hw.emu.unexpected.clear()  # provoked on purpose


def test_emulator_rejects_a_bad_key_with_the_documented_shape(hw: HwWorld) -> None:
    reply = httpx.post(
        f"{hw.base}/hostwinds/cloud/api.php", data={"action": "get_instances", "API": "nope"}
    )
    assert reply.status_code == 200
    assert reply.json() == {
        "result": "error",
        "action": "Authorization",
        "message": "Not Authorized!",
    }


def test_emulator_terminate_of_a_locked_instance_fails(hw: HwWorld) -> None:
    hw.api("add_instance", template="debian-12", rid=1201, location_id=1, srvrname="x")
    sid = hw.instances()[0]["serviceid"]
    assert hw.api("toggle_lock", serviceid=sid)[0]["message"] == "Service has been locked."
    assert hw.api("terminate", serviceid=sid)[0]["result"] == "error"
    assert hw.api("toggle_lock", serviceid=sid)[0]["message"] == "Service has been unlocked."
    assert hw.api("terminate", serviceid=sid) == [
        {"result": "success", "message": "Instance deleted"}
    ]
    assert hw.api("check_serviceid", serviceid=sid) == {"success": False}


def test_emulator_uses_the_sandbox_address_pool(tmp_path) -> None:
    from penguinctl.sandbox.addresses import AddressPool

    emu = emulator_module.HostwindsEmulator()
    emu.addresses = AddressPool(tmp_path / "addresses.json")
    emu.state["provision_seconds"] = 0
    emu._create("x", emulator_module.PRICE_LIST["201"], emulator_module.LOCATIONS[0],
                emulator_module.IMAGES[0], "monthly", [])  # fmt: skip
    emu.tick()
    (instance,) = emu.state["instances"].values()
    assert instance["main_ip"] == emu.addresses.lookup(f"hostwinds:{instance['serviceid']}")
