"""Plan and apply against a real store with the strict widget provider."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from penguinctl.core import engine, registry
from penguinctl.core import plan as plan_mod
from penguinctl.core.context import CallContext
from penguinctl.core.errors import PlanMismatch, UnsafePlan
from penguinctl.core.resource import Generated, Recorded, Ref, Resource
from penguinctl.store import SecretBox, open_store
from tests.core import widgets

registry.register("testprov", "widget", "tests.core.widgets:WidgetProvider")


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WIDGET_WORLD", str(tmp_path / "world.json"))
    s = open_store(f"sqlite:///{tmp_path / 'p.db'}", secret_key=SecretBox([os.urandom(32)]))
    yield s
    s.close()


def ctx(provider_type: str, instance: str, tenant: str) -> CallContext:
    return CallContext(provider_type=provider_type, instance=instance, tenant=tenant)


def w(key: str, tenant: str = "t1", deps: tuple[str, ...] = (), **attrs: object) -> Resource:
    return Resource(
        key=key, provider="testprov", tenant=tenant, attrs=attrs, depends_on=deps, why=f"{key} why"
    )


def apply(store, resources, **kw):
    p = plan_mod.diff(resources, store.recorded(), workspace="ws")
    run = store.begin_run("apply", workspace="ws", profile=None)
    result = engine.Applier(store, ctx, **kw).run(p, run)
    store.finish_run(run, "ok" if result.ok else "failed", result.to_json())
    return p, result


def test_create_then_noop_then_update_then_delete(store) -> None:
    desired = [
        w("widget/a", color="red"),
        w("widget/b", deps=("widget/a",), color="blue", ip=Ref("widget/a", "serial")),
    ]
    p, r = apply(store, desired)
    assert [c.action for c in p.changes] == ["create", "create"]
    assert r.ok and r.count("applied") == 2
    assert store.get("widget/b").attrs["ip"] == "sn-widget/a"  # reference resolved at apply

    again = plan_mod.diff(desired, store.recorded(), workspace="ws")
    assert not again.has_changes and again.unchanged == 2

    desired[0] = w("widget/a", color="green")
    p, r = apply(store, desired)
    assert [(c.action, c.key) for c in p.changes] == [("update", "widget/a")]
    assert p.changes[0].fields[0].before == "red" and p.changes[0].fields[0].after == "green"

    desired[0] = w("widget/a", color="green", shape="round")
    p = plan_mod.diff(desired, store.recorded(), workspace="ws")
    assert p.changes[0].action == "replace" and p.changes[0].replaces == ("shape",)

    p, r = apply(store, desired[:1])
    assert ("delete", "widget/b") in [(c.action, c.key) for c in p.changes]
    assert store.get("widget/b") is None
    assert "widget/b" not in widgets.load()["objects"]


def test_references_unknown_until_apply_are_shown_so(store) -> None:
    p = plan_mod.diff(
        [w("widget/a"), w("widget/b", spf=Ref("widget/a", "ips", "v=spf1 {} -all", each="ip4:{}"))],
        {},
        workspace="ws",
    )
    shown = p.to_json()["changes"][1]["fields"][0]["after"]
    assert shown == "(known after apply: widget/a#ips)"
    apply(
        store,
        [w("widget/a"), w("widget/b", spf=Ref("widget/a", "ips", "v=spf1 {} -all", each="ip4:{}"))],
    )
    assert store.get("widget/b").attrs["spf"] == "v=spf1 ip4:10.0.0.1 ip4:10.0.0.2 -all"


def test_generated_and_sensitive_values_never_shown_or_stored(store) -> None:
    r = Resource(
        "widget/s",
        "testprov",
        "t1",
        {"password": Generated(), "token": "hunter2-secret"},
        sensitive=frozenset({"token", "password"}),
    )
    p = plan_mod.diff([r], {}, workspace="ws")
    text = str(p.to_json())
    assert "(generated)" in text and "hunter2-secret" not in text
    apply(store, [r])
    assert "hunter2-secret" not in str(store.get("widget/s").attrs)


def test_failure_stops_the_tenant_and_keep_going_lets_others_finish(store) -> None:
    world = widgets.load()
    world["faults"]["create widget/a1"] = "error"
    widgets.save(world)
    desired = [
        w("widget/a1", "ta"),
        w("widget/a2", "ta", deps=("widget/a1",)),
        w("widget/b1", "tb"),
        w("widget/b2", "tb"),
    ]
    _, r = apply(store, desired, keep_going=True, parallelism=1)
    status = {o.key: o.status for o in r.outcomes}
    assert status == {
        "widget/a1": "failed",
        "widget/a2": "skipped",
        "widget/b1": "applied",
        "widget/b2": "applied",
    }
    failed = next(o for o in r.outcomes if o.status == "failed")
    assert "injected failure" in failed.error and failed.hint == "remove the fault"
    # the journal says what happened; nothing half-recorded
    assert store.get("widget/a1") is None and not store.pending()

    world = widgets.load()
    world["faults"] = {}
    widgets.save(world)
    p, r = apply(store, desired)
    assert sorted(c.key for c in p.changes) == ["widget/a1", "widget/a2"] and r.ok


def test_without_keep_going_the_first_failure_stops_new_work(store) -> None:
    world = widgets.load()
    world["faults"]["create widget/a"] = "error"
    widgets.save(world)
    _, r = apply(
        store,
        [
            w("widget/a", "ta"),
            w("widget/z", "tb", deps=("widget/a",)),
            w("widget/zz", "tc", deps=("widget/z",)),
        ],
        parallelism=1,
    )
    assert r.count("failed") == 1 and r.count("applied") == 0


def test_settle_pending_create_found_live_is_recorded_not_recreated(store) -> None:
    # A previous process recorded the intent, the provider created the object, then it died.
    run = store.begin_run("apply", workspace="ws", profile=None)
    store.intent(
        run,
        tenant="t1",
        key="widget/a",
        action="create",
        before=None,
        after={"color": "red", "__provider": "testprov", "__instance": "default"},
    )
    world = widgets.load()
    world["objects"]["widget/a"] = {"color": "red"}
    widgets.save(world)
    assert len(store.pending()) == 1
    assert engine.settle(store, ctx) == 1
    assert not store.pending()
    assert store.get("widget/a").outputs["serial"] == "sn-widget/a"
    p = plan_mod.diff([w("widget/a", color="red")], store.recorded(), workspace="ws")
    assert not p.has_changes
    assert "create widget/a" not in widgets.load()["calls"]


def test_settle_pending_create_not_found_is_planned_again(store) -> None:
    run = store.begin_run("apply", workspace="ws", profile=None)
    store.intent(
        run,
        tenant="t1",
        key="widget/a",
        action="create",
        before=None,
        after={"__provider": "testprov", "__instance": "default"},
    )
    engine.settle(store, ctx)
    assert store.get("widget/a") is None and not store.pending()


def test_safety_checks(store) -> None:
    apply(store, [w(f"widget/{i}") for i in range(5)])
    p = plan_mod.diff([w("widget/0")], store.recorded(), workspace="ws")
    with pytest.raises(UnsafePlan, match="4 of 5"):
        engine.check_safety(p, store.recorded(), threshold=0.3)
    engine.check_safety(p, store.recorded(), force=True)


def test_saved_plan_round_trip_and_tamper_detection(store) -> None:
    p = plan_mod.diff(
        [w("widget/a", ip=Ref("widget/b", "serial")), w("widget/b")], {}, workspace="ws"
    )
    data = p.to_json(full=True)
    again = plan_mod.load_saved(data, {})
    assert again.checksum == p.checksum
    assert isinstance(again.changes[1].desired.attrs["ip"], Ref)
    data["saved"][0]["desired"]["attrs"]["color"] = "evil"
    with pytest.raises(PlanMismatch):
        plan_mod.load_saved(data, {})


def test_checksum_is_deterministic() -> None:
    rs = [w("widget/a", x=1), w("widget/b", y=[1, 2])]
    a = plan_mod.diff(rs, {}, workspace="ws")
    b = plan_mod.diff(list(reversed(rs)), {}, workspace="ws")
    assert a.checksum == b.checksum
    rec = {"widget/a": Recorded("widget/a", "testprov", "t1", "widget/a", {"x": 2})}
    assert plan_mod.diff(rs, rec, workspace="ws").checksum != a.checksum
