"""Resources, runs and the change journal: every write is committed at once."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime

import pytest

from penguinctl.core.errors import StoreError
from penguinctl.core.resource import Recorded
from penguinctl.store import Store, open_store


def mx(tenant: str = "acme", vendor_id: str = "42", **attrs: object) -> Recorded:
    return Recorded(
        key=f"server/{tenant}-mx1",
        provider="hostwinds",
        tenant=tenant,
        id=vendor_id,
        attrs=dict(attrs) or {"plan": "ssd-1"},
        outputs={"ipv4": "203.0.113.7", "extra": ["203.0.113.8"]},
        instance="agency",
    )


def test_put_get_upsert_remove(store: Store) -> None:
    run_id = store.begin_run("apply", workspace="/w", profile="prod")
    store.put(mx())
    store.put(mx(vendor_id="43", plan="ssd-2"), run_id=run_id)
    got = store.get("server/acme-mx1")
    assert got == Recorded(
        "server/acme-mx1",
        "hostwinds",
        "acme",
        "43",
        {"plan": "ssd-2"},
        {"ipv4": "203.0.113.7", "extra": ["203.0.113.8"]},
        instance="agency",
    )
    store.put(mx("globex"))
    assert list(store.recorded()) == ["server/acme-mx1", "server/globex-mx1"]
    assert list(store.recorded("globex")) == ["server/globex-mx1"]
    store.remove("server/acme-mx1")
    assert store.get("server/acme-mx1") is None
    assert store.recorded("acme") == {}


def test_invalid_values_are_programming_errors(store: Store) -> None:
    bad = mx()
    bad.status = "weird"
    with pytest.raises(ValueError, match="resource status"):
        store.put(bad)
    run_id = store.begin_run("apply", workspace="/w", profile=None)
    with pytest.raises(ValueError, match="change action"):
        store.intent(run_id, tenant="t", key="k/x", action="explode", before=None, after=None)
    with pytest.raises(StoreError, match="no change 999"):
        store.result(999, "applied")
    with pytest.raises(StoreError, match="no run 999"):
        store.finish_run(999, "ok", {})


def test_runs_newest_first(store: Store) -> None:
    before = datetime.now(UTC)
    first = store.begin_run("apply", workspace="/w", profile=None)
    second = store.begin_run("import server/x 12", workspace="/w", profile="prod")
    store.finish_run(first, "failed", {"applied": 1, "failed": 1})
    runs = store.runs()
    assert [r.id for r in runs] == [second, first]
    done = store.run(first)
    assert done is not None and done.status == "failed" and done.summary["failed"] == 1
    assert done.finished_at is not None and done.started_at >= before
    assert done.started_at.tzinfo is not None and "@" in done.user
    assert runs[0].status == "running" and runs[0].finished_at is None
    assert store.runs(limit=1)[0].id == second
    assert store.run(12345) is None


def test_intent_result_pending(store: Store) -> None:
    run_id = store.begin_run("apply", workspace="/w", profile=None)
    a = store.intent(
        run_id, tenant="acme", key="dns/a", action="create", before=None, after={"v": 1}
    )
    b = store.intent(
        run_id, tenant="acme", key="dns/b", action="update", before={"v": 1}, after={"v": 2}
    )
    assert [c.id for c in store.pending()] == [a, b]
    store.result(a, "failed", "Cloudflare said 400: bad content")
    assert [c.key for c in store.pending()] == ["dns/b"]
    store.result(b, "settled")
    assert store.pending() == []
    changes = store.changes(run_id)
    assert [(c.key, c.action, c.status) for c in changes] == [
        ("dns/a", "create", "failed"),
        ("dns/b", "update", "settled"),
    ]
    assert changes[0].error == "Cloudflare said 400: bad content"
    assert changes[1].before == {"v": 1} and changes[1].after == {"v": 2}
    assert all(c.finished_at and c.finished_at >= c.started_at for c in changes)


def _crash_after_intent(url: str, run_id: int) -> None:
    store = open_store(url)
    store.intent(run_id, tenant="acme", key="server/mx1", action="create", before=None, after={})
    # Die without closing anything, as a killed apply would.
    import os

    os._exit(0)


@pytest.mark.slow
def test_intent_survives_a_crashed_process(store: Store, store_url: str) -> None:
    run_id = store.begin_run("apply", workspace="/w", profile=None)
    child = multiprocessing.get_context("spawn").Process(
        target=_crash_after_intent, args=(store_url, run_id)
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    pending = store.pending()
    assert [(c.key, c.status, c.run_id) for c in pending] == [("server/mx1", "pending", run_id)]


def test_eight_threads_write_concurrently(store: Store) -> None:
    run_id = store.begin_run("apply", workspace="/w", profile=None)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                key = f"dns_record/t{n}/{i}"
                cid = store.intent(
                    run_id, tenant=f"t{n}", key=key, action="create", before=None, after={"i": i}
                )
                store.put(Recorded(key, "cloudflare", f"t{n}", f"id{i}"), run_id=run_id)
                store.result(cid, "applied")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    changes = store.changes(run_id)
    assert len(changes) == 120 and {c.status for c in changes} == {"applied"}
    assert len(store.recorded()) == 120 and store.pending() == []


def test_tenants(store: Store) -> None:
    store.upsert_tenant("acme", "Acme Inc", {"plan": "agency"})
    created = store.tenants()[0]["created_at"]
    store.upsert_tenant("acme", "ACME", {"plan": "pro"})
    store.upsert_tenant("globex", None, {})
    rows = store.tenants()
    assert [(t["name"], t["display_name"], t["data"]) for t in rows] == [
        ("acme", "ACME", {"plan": "pro"}),
        ("globex", None, {}),
    ]
    assert rows[0]["created_at"] == created and rows[0]["updated_at"] >= created
    store.delete_tenant("acme")
    assert [t["name"] for t in store.tenants()] == ["globex"]
