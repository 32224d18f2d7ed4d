"""kill -9 and Ctrl-C in the middle of an apply: nothing lost, nothing bought or created twice."""

from __future__ import annotations

import json
import signal
import sqlite3
import time

import pytest


def purchases(cli) -> int:
    path = cli.root / "state" / "sandbox" / "hostwinds.json"
    try:
        return json.loads(path.read_text()).get("purchases", 0)
    except (OSError, ValueError):
        return 0


def record_count(cli) -> int:
    state = json.loads((cli.root / "state" / "sandbox" / "cloudflare.json").read_text())
    return sum(len(z) for z in state["records"].values())


def journal(cli) -> dict[str, int]:
    path = cli.root / "state" / "penguin.db"
    if not path.exists():
        return {}
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("select status, count(*) from changes group by status").fetchall())
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()


def wait_for(pred, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


@pytest.mark.slow
def test_kill_9_during_a_purchase_then_rerun_converges_without_double_buy(cli) -> None:
    proc = cli.popen("apply", "-f", "examples/", "--yes")
    try:
        wait_for(lambda: purchases(cli) >= 1)
        proc.kill()  # SIGKILL: no cleanup at all, a server bought but not recorded
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert journal(cli).get("pending", 0) >= 1  # the intent was on disk before the call

    r = cli("apply", "-f", "examples/", "--yes")
    assert r.code == 0, r
    assert "settled" in r.err
    assert purchases(cli) == 2
    assert cli("plan", "-f", "examples/", "--detailed-exitcode").code == 0
    assert journal(cli).get("pending", 0) == 0
    assert record_count(cli) == 20  # every record exactly once


@pytest.mark.slow
def test_kill_9_between_recorded_changes_then_rerun_creates_nothing_twice(cli) -> None:
    proc = cli.popen("apply", "-f", "examples/", "--yes", "--parallelism", "1")
    try:
        wait_for(lambda: journal(cli).get("applied", 0) >= 8)
        proc.kill()
    finally:
        proc.wait(timeout=30)
    r = cli("apply", "-f", "examples/", "--yes")
    assert r.code == 0, r
    assert record_count(cli) == 20 and purchases(cli) == 2
    assert cli("plan", "-f", "examples/", "--detailed-exitcode").code == 0


@pytest.mark.slow
def test_first_ctrl_c_finishes_in_flight_work_and_exits_130(cli) -> None:
    proc = cli.popen("apply", "-f", "examples/", "--yes", "--parallelism", "2")
    try:
        wait_for(lambda: journal(cli).get("applied", 0) >= 3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "finishing in-flight" in err and "Traceback" not in err
    assert "interrupted" in out.lower()
    assert journal(cli).get("pending", 0) == 0  # in-flight changes were recorded
    runs = json.loads(cli("-o", "json", "history").out)
    assert runs[0]["status"] == "interrupted"
    r = cli("apply", "-f", "examples/", "--yes")
    assert r.code == 0, r
    assert purchases(cli) == 2 and record_count(cli) == 20
