"""Creating Hostwinds servers: ready waiting, idempotency, lost replies, crashes, bad names."""

from __future__ import annotations

import ipaddress

import pytest
from conftest import HwWorld, attrs_for

from penguinctl.core.errors import Conflict, ProviderError
from penguinctl.providers.hostwinds import HostwindsServerProvider, server_name


def test_create_waits_until_ready_then_reads_back(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    ctx = hw.ctx()
    attrs = attrs_for()
    created = provider.create(ctx, "server/mx1", attrs)

    out = created.outputs
    assert out["service_id"] == created.id
    assert ipaddress.ip_address(out["ipv4"]) in ipaddress.ip_network("127.20.0.0/16")
    assert out["ips"] == [out["ipv4"]] and out["ipv6"] is None
    assert out["monthly_cost"] == 9.99 and out["mail_host"] == "mx1.mail.example.com"
    (instance,) = hw.instances()
    assert instance["vm_state"] == "active" and instance["srvrname"] == server_name("acme", "mx1")
    assert instance["ssh_keys"] == ["ops"] and instance["billingcycle"] == "monthly"
    assert any("is building/spawning" in line for line in hw.logs), hw.logs
    # No PTR yet: ptr/NAME sets it once the forward A record exists (test_hostwinds_ptr).
    assert hw.emu.dns_answers() == [] and "set_rdns" not in hw.actions()

    observed = provider.read(ctx, created.id, attrs)
    assert observed.id == created.id and observed.outputs == out
    assert not provider.diff(observed.attrs, attrs).has_changes


def test_create_twice_buys_once(hw: HwWorld, provider: HostwindsServerProvider) -> None:
    ctx = hw.ctx()
    first = provider.create(ctx, "server/mx1", attrs_for())
    second = provider.create(ctx, "server/mx1", attrs_for())
    assert second.id == first.id
    assert hw.emu.state["purchases"] == 1
    assert hw.actions().count("add_instance") == 1


def test_dropped_add_instance_reply_settles_by_listing(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    hw.emu.faults["add_instance_timeout"] = True  # bought, but the reply never arrives
    created = provider.create(hw.ctx(), "server/mx1", attrs_for())
    assert hw.emu.state["purchases"] == 1
    assert hw.actions().count("add_instance") == 1
    assert created.id == str(hw.instances()[0]["serviceid"])
    assert any("reply lost" in line for line in hw.logs)


def test_delayed_add_instance_reply_times_out_and_settles(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    hw.emu.faults["add_instance_timeout"] = 0.6  # seconds; the client gives up after 0.2
    created = provider.create(hw.ctx(purchase_timeout=0.2), "server/mx1", attrs_for())
    assert hw.emu.state["purchases"] == 1
    assert hw.actions().count("add_instance") == 1
    assert created.id == str(hw.instances()[0]["serviceid"])


def test_http_500_on_add_instance_is_never_resent(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    hw.emu.faults["fail_next"] = {"add_instance": 1}  # failed without buying
    with pytest.raises(ProviderError) as err:
        provider.create(hw.ctx(settle_timeout=0.3), "server/mx1", attrs_for())
    assert not err.value.retryable
    assert "Hostwinds portal" in (err.value.hint or "")
    assert hw.actions().count("add_instance") == 1
    assert hw.emu.state["purchases"] == 0


def test_create_after_a_crash_adopts_the_bought_server(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    # A previous process bought the server and died before recording anything.
    reply = hw.api(
        "add_instance",
        template="ubuntu-22.04",
        rid=1202,
        location_id=2,
        srvrname=server_name("acme", "mx1"),
    )
    assert reply[-1]["message"] == "Server is being Created!"
    ctx = hw.ctx()
    # Still building: find() says "not there yet" so the engine plans a create...
    assert provider.find(ctx, "server/mx1", attrs_for()) is None
    # ...and create adopts it by name instead of buying.
    created = provider.create(ctx, "server/mx1", attrs_for())
    found = provider.find(ctx, "server/mx1", attrs_for())
    assert found is not None and created.id == found.id
    assert created.outputs["ipv4"] and hw.emu.state["rdns"] == {}  # the ptr resource's job
    assert hw.emu.state["purchases"] == 1
    assert hw.actions().count("add_instance") == 1  # the crashed process's purchase only


def test_find_is_none_before_create(hw: HwWorld, provider: HostwindsServerProvider) -> None:
    assert provider.find(hw.ctx(), "server/mx1", attrs_for()) is None


def test_two_servers_with_one_name_are_a_conflict(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    name = server_name("acme", "mx1")
    hw.api("add_instance", template="ubuntu-22.04", rid=1202, location_id=2, srvrname=name, qty=2)
    with pytest.raises(Conflict) as err:
        provider.create(hw.ctx(), "server/mx1", attrs_for())
    assert "terminate the extra one" in (err.value.hint or "")
    assert hw.emu.state["purchases"] == 2


def test_ready_timeout_has_a_hint_and_a_rerun_adopts(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    hw.emu.state["provision_seconds"] = 0.8
    with pytest.raises(ProviderError) as err:
        provider.create(hw.ctx(ready_timeout=0.2), "server/mx1", attrs_for())
    assert "not ready after" in err.value.message
    assert "ready_timeout" in (err.value.hint or "")
    created = provider.create(hw.ctx(), "server/mx1", attrs_for())
    assert created.outputs["ipv4"]
    assert hw.emu.state["purchases"] == 1


@pytest.mark.parametrize(
    ("field", "value", "listed"),
    [
        ("plan", "Unmetered 64GB", "Unmetered 4GB ($18.99/month)"),
        ("location", "Tokyo", "Amsterdam (id 3)"),
        ("image", "Windows 95", "Debian 12 (id"),
    ],
)
def test_unknown_names_list_the_valid_choices(
    hw: HwWorld, provider: HostwindsServerProvider, field: str, value: str, listed: str
) -> None:
    with pytest.raises(ProviderError) as err:
        provider.create(hw.ctx(), "server/mx1", attrs_for(**{field: value}))
    assert f"unknown Hostwinds {field} '{value}'" == err.value.message
    assert listed in (err.value.hint or "")
    assert hw.emu.state["purchases"] == 0


def test_names_match_case_insensitively_and_ids_work(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    attrs = attrs_for(location="2", plan="unmetered 2gb", image="debian-12")
    created = provider.create(hw.ctx(), "server/mx1", attrs)
    instance = hw.instances()[0]
    assert (instance["location_id"], instance["product_id"]) == (2, 202)
    assert instance["image"]["name"] == "Debian 12"
    observed = provider.read(hw.ctx(), created.id, attrs)
    assert not provider.diff(observed.attrs, attrs).has_changes


def test_out_of_capacity_lists_locations(hw: HwWorld, provider: HostwindsServerProvider) -> None:
    hw.emu.faults["capacity"] = 2
    with pytest.raises(ProviderError) as err:
        provider.create(hw.ctx(), "server/mx1", attrs_for())
    assert "out of capacity" in err.value.message
    assert "Seattle (id 1), Dallas (id 2), Amsterdam (id 3)" in (err.value.hint or "")
    assert hw.emu.state["purchases"] == 0


def test_hourly_billing_disabled_hints_monthly(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    with pytest.raises(ProviderError) as err:
        provider.create(hw.ctx(billingcycle="hourly"), "server/mx1", attrs_for())
    assert "Hourly products are disabled" in err.value.message
    assert "monthly" in (err.value.hint or "")
    assert hw.emu.state["purchases"] == 0


def test_a_plan_sold_out_lists_the_plans(hw: HwWorld, provider: HostwindsServerProvider) -> None:
    hw.emu.faults["error_next"] = {"add_instance": "Product is not available."}
    with pytest.raises(ProviderError) as err:
        provider.create(hw.ctx(), "server/mx1", attrs_for())
    assert err.value.message == "Hostwinds add_instance: Product is not available."
    assert "Unmetered 1GB ($4.99/month)" in (err.value.hint or "")
    assert hw.emu.state["purchases"] == 0 and hw.actions().count("add_instance") == 1


def test_extra_ips_are_refused_before_buying(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    with pytest.raises(ProviderError) as err:
        provider.create(hw.ctx(), "server/mx1", attrs_for(extra_ips=2))
    assert "portal" in (err.value.hint or "")
    assert hw.emu.state["purchases"] == 0


def test_plan_cost_reads_the_price_list(hw: HwWorld, provider: HostwindsServerProvider) -> None:
    assert provider.plan_cost(hw.ctx(), attrs_for(plan="Unmetered 8GB")) == 37.99
    with pytest.raises(ProviderError):
        provider.plan_cost(hw.ctx(), attrs_for(plan="nope"))


def test_unconfirmed_action_names_are_overridable(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    hw.emu.state["actions"] = {"locations": "list_locations", "images": "list_templates"}
    actions = {"locations": "list_locations", "images": "list_templates"}
    created = provider.create(hw.ctx(actions=actions), "server/mx1", attrs_for())
    assert created.id
    assert {"list_locations", "list_templates"} <= set(hw.actions())


def test_a_wrong_unconfirmed_action_name_says_how_to_fix_it(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    hw.emu.state["actions"] = {"locations": "list_locations", "images": "get_images"}
    with pytest.raises(ProviderError) as err:
        provider.create(hw.ctx(), "server/mx1", attrs_for())
    assert "settings.actions.locations" in (err.value.hint or "")
    assert hw.emu.unexpected == ["unknown action 'get_locations'"]
    hw.emu.unexpected.clear()  # this test provoked it on purpose
