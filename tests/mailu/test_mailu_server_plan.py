"""``mailu_server`` in the plan: which files change, which services restart (from the
recorded checksums alone), the blast-radius guard on restarts, saved-plan round trip."""

from __future__ import annotations

from typing import Any

import pytest

from penguinctl.core.engine import MAX_RESTARTING_SERVERS, check_safety
from penguinctl.core.errors import UnsafePlan
from penguinctl.core.plan import diff, load_saved
from penguinctl.core.resource import Recorded, Ref, Resource
from penguinctl.mailu.deploy import ENV_SERVICES, SERVICES
from penguinctl.providers.mailu_server import BIND_MARKER, MailuServerProvider, bind, restarts


def server(n: int, **attrs: Any) -> Resource:
    base = {
        "server": f"mx{n}",
        "mail_host": f"mail.d{n}.example",
        "main_domain": f"d{n}.example",
        "dkim_selectors": ["mail"],
        "senders": [f"jane@d{n}.example"],
        "bind_ip": f"203.0.113.{n}",
        "ssh": {"host": f"203.0.113.{n}"},
    }
    return Resource(f"mailu_server/mx{n}", "mailu", "acme", {**base, **attrs})


def recorded(res: Resource) -> Recorded:
    return Recorded(res.key, res.provider, res.tenant, res.name, dict(res.attrs))


def plan_for(n: int, old: dict[str, Any], new: dict[str, Any], **attrs: Any):  # type: ignore[no-untyped-def]
    before = [bind(server(i), old) for i in range(n)]
    after = [bind(server(i, **attrs), new) for i in range(n)]
    rec = {r.key: recorded(r) for r in before}
    return diff(after, rec, workspace="/ws"), rec


def test_checksums_not_content_and_stable_without_the_address() -> None:
    a = bind(server(1), {})
    b = bind(server(1, bind_ip=Ref("server/mx1", "ipv4")), {})
    assert a.attrs["files"] == b.attrs["files"]  # known at plan time for a server not bought yet
    assert set(a.attrs["files"]) == {
        "mailu.env",
        "docker-compose.yml",
        "overrides/postfix/postfix.cf",
    }
    assert all(len(v) == 64 for v in a.attrs["files"].values())
    assert set(a.attrs["definitions"]) == {*SERVICES, "(networks)"}
    assert BIND_MARKER not in str(a.attrs)


def test_each_change_restarts_only_what_reads_it() -> None:
    old = bind(server(1), {}).attrs
    changed, why = restarts(old, bind(server(1), {"destination_concurrency": 7}).attrs)
    assert changed == ["overrides/postfix/postfix.cf"] and why == {
        "smtp": "Postfix overrides changed"
    }
    changed, why = restarts(old, bind(server(1), {"message_ratelimit": "9000/day"}).attrs)
    assert changed == ["mailu.env"] and sorted(why) == sorted(ENV_SERVICES)
    changed, why = restarts(old, bind(server(1, bind_ip="203.0.113.99"), {}).attrs)
    assert changed == ["docker-compose.yml"] and list(why) == ["front"]
    # the subnet: the networks and every service's address change (compose recreates all)
    changed, why = restarts(old, bind(server(1), {"subnet": "10.9.0.0/24"}).attrs)
    assert "docker-compose.yml" in changed and sorted(why) == sorted(SERVICES)
    assert restarts(old, old) == ([], {})
    assert MailuServerProvider().effect(old, old) is None


def test_plan_shows_files_and_restarts_and_round_trips() -> None:
    plan, rec = plan_for(2, {}, {"destination_concurrency": 7})
    assert [(c.action, c.key, c.restarts) for c in plan.changes] == [
        ("update", "mailu_server/mx0", ("smtp",)),
        ("update", "mailu_server/mx1", ("smtp",)),
    ]
    change = plan.changes[0]
    assert change.why == "overrides/postfix/postfix.cf changed → restarts smtp"
    assert [f.name for f in change.fields] == ["files"]
    assert change.to_json()["restarts"] == ["smtp"]
    again = load_saved(plan.to_json(full=True), rec)
    assert [c.restarts for c in again.changes] == [("smtp",), ("smtp",)]
    # a new sending mailbox: MailU's rate-limit exemption (mailu.env) and its readers
    plan, _ = plan_for(1, {}, {}, senders=["jane@d0.example", "bulk@d0.example"])
    assert plan.changes[0].why.startswith("mailu.env changed → restarts admin, antispam")
    # another main domain (the first one left the server): MailU's DOMAIN, in mailu.env
    plan, _ = plan_for(1, {}, {}, main_domain="e.example")
    assert plan.changes[0].restarts == tuple(sorted(ENV_SERVICES))
    # nothing changed: no change at all
    plan, _ = plan_for(3, {"destination_concurrency": 7}, {"destination_concurrency": 7})
    assert plan.changes == [] and plan.unchanged == 3


def test_restarting_more_servers_than_the_limit_needs_force() -> None:
    n = MAX_RESTARTING_SERVERS
    plan, rec = plan_for(n, {}, {"destination_concurrency": 7})
    check_safety(plan, rec)  # at the limit: allowed
    plan, rec = plan_for(n + 1, {}, {"destination_concurrency": 7})
    with pytest.raises(UnsafePlan, match=f"restarts MailU services on {n + 1} servers") as exc:
        check_safety(plan, rec)
    assert "--force" in (exc.value.hint or "")
    check_safety(plan, rec, force=True)
    # a change that restarts nothing does not count
    plan, rec = plan_for(n + 1, {}, {}, ssh={"host": "elsewhere"})
    assert plan.changes == []
