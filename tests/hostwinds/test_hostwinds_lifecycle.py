"""Updating, deleting and importing Hostwinds servers."""

from __future__ import annotations

import pytest
from conftest import HwWorld, attrs_for

from penguinctl.core import registry
from penguinctl.core.errors import NotFound, ProviderError
from penguinctl.providers.hostwinds import HostwindsServerProvider, import_server, server_name
from penguinctl.sandbox.base import Request


def test_registered_for_server_resources() -> None:
    provider = registry.get("hostwinds", "server")
    assert isinstance(provider, HostwindsServerProvider)
    assert provider.protected
    assert provider.replace_fields == {"location", "plan", "image"}


def test_update_renames_and_leaves_reverse_dns_to_the_ptr_resource(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    ctx = hw.ctx()
    old = attrs_for()
    created = provider.create(ctx, "server/mx1", old)
    new = attrs_for(name="mx1b", mail_host="relay.example.com", tags=["us"], ssh_keys=["x"])
    change = provider.diff(old, new)
    assert set(change.changed) == {"name", "mail_host"} and not change.replaces

    hw.emu.requests.clear()
    outputs = provider.update(ctx, created.id, old, new)
    assert outputs["mail_host"] == "relay.example.com"
    assert "edit_instance" in hw.actions() and "set_rdns" not in hw.actions()
    (instance,) = hw.instances()
    assert instance["srvrname"] == server_name("acme", "mx1b")
    assert hw.emu.state["rdns"] == {}  # ptr/NAME sets it, after the forward A record
    observed = provider.read(ctx, created.id, new)
    assert not provider.diff(observed.attrs, new).has_changes
    assert provider.find(ctx, "server/mx1b", new) is not None


def test_update_of_a_replace_field_is_refused(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    created = provider.create(hw.ctx(), "server/mx1", attrs_for())
    with pytest.raises(ProviderError) as err:
        provider.update(hw.ctx(), created.id, attrs_for(), attrs_for(plan="Unmetered 4GB"))
    assert "--allow-replace" in (err.value.hint or "")
    assert hw.instances()[0]["product_id"] == 202


def test_more_extra_ips_are_refused_before_any_change(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    created = provider.create(hw.ctx(), "server/mx1", attrs_for())
    with pytest.raises(ProviderError) as err:
        provider.update(hw.ctx(), created.id, attrs_for(), attrs_for("mx9", extra_ips=1))
    assert "0 extra IP" in err.value.message and "portal" in (err.value.hint or "")
    assert hw.instances()[0]["srvrname"] == server_name("acme", "mx1")


def test_read_reports_drift_made_in_the_portal(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    ctx = hw.ctx()
    created = provider.create(ctx, "server/mx1", attrs_for())
    hw.api("edit_instance", serviceid=created.id, srvrname="renamed-by-hand")
    observed = provider.read(ctx, created.id, attrs_for())
    assert observed.attrs["name"] == "renamed-by-hand"
    assert provider.diff(observed.attrs, attrs_for()).changed == ("name",)


def test_delete_reads_the_lock_then_unlocks_and_terminates(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    ctx = hw.ctx()
    created = provider.create(ctx, "server/mx1", attrs_for())
    assert hw.api("toggle_lock", serviceid=created.id)[0]["message"] == "Service has been locked."
    hw.emu.requests.clear()
    provider.delete(ctx, created.id, attrs_for())
    assert hw.actions() == ["get_instance", "toggle_lock", "get_instance", "terminate"]
    assert hw.instances() == [] and hw.emu.dns_answers() == []
    with pytest.raises(NotFound):
        provider.read(ctx, created.id, attrs_for())


def test_delete_of_an_unlocked_server_does_not_toggle(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    created = provider.create(hw.ctx(), "server/mx1", attrs_for())
    hw.emu.requests.clear()
    provider.delete(hw.ctx(), created.id, attrs_for())
    assert hw.actions() == ["get_instance", "terminate"]


def test_delete_of_a_gone_server_is_fine(hw: HwWorld, provider: HostwindsServerProvider) -> None:
    created = provider.create(hw.ctx(), "server/mx1", attrs_for())
    provider.delete(hw.ctx(), created.id, attrs_for())
    provider.delete(hw.ctx(), created.id, attrs_for())
    assert provider.find(hw.ctx(), "server/mx1", attrs_for()) is None
    assert any("already gone" in line for line in hw.logs)


def test_terminate_retried_after_a_lost_reply_is_fine(
    hw: HwWorld, provider: HostwindsServerProvider
) -> None:
    created = provider.create(hw.ctx(), "server/mx1", attrs_for())
    dropped: list[bytes] = []

    def drop_first_terminate(request: Request) -> bool:
        if b"action=terminate" in request.body and not dropped:
            dropped.append(request.body)
            return True
        return False

    hw.emu.faults["drop_connection"] = drop_first_terminate
    provider.delete(hw.ctx(), created.id, attrs_for())
    assert hw.instances() == []
    assert hw.actions().count("terminate") == 2


def test_import_adopts_without_touching(hw: HwWorld, provider: HostwindsServerProvider) -> None:
    hw.api("add_instance", template="debian-12", rid=1203, location_id=3, srvrname="legacy-mx")
    sid = str(hw.instances()[0]["serviceid"])
    hw.emu.tick()
    hw.emu.state["ready_at"][sid] = 0  # provisioned long ago
    hw.emu.requests.clear()
    observed = import_server(hw.ctx(), sid)
    assert observed.id == sid
    assert {k: observed.attrs[k] for k in ("name", "location", "plan", "image")} == {
        "name": "legacy-mx",
        "location": "Amsterdam",
        "plan": "Unmetered 4GB",
        "image": "Debian 12",
    }
    assert observed.outputs["monthly_cost"] == 18.99 and observed.outputs["ipv4"]
    mutating = {"add_instance", "edit_instance", "set_rdns", "toggle_lock", "terminate"}
    assert not mutating & set(hw.actions())


def test_import_of_an_unknown_id_is_not_found(hw: HwWorld) -> None:
    with pytest.raises(NotFound) as err:
        import_server(hw.ctx(), "999")
    assert "999" in err.value.message
