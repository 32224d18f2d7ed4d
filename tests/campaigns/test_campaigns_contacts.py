"""Contacts import: bad rows reported by line while the rest imports; dedupe; IDN; MX; lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from penguinctl.campaigns import db
from penguinctl.campaigns.contacts import import_file, iter_contacts
from penguinctl.core.errors import PenguinError
from penguinctl.store import Store

BAD_CSV = (
    "\ufeffemail,first_name,company\r\n"  # a BOM, CRLF line ends
    "Ann@Example.com,Ann,Acme\r\n"  # line 2: fine
    "no-at-sign.example.com,Bob,X\r\n"  # line 3: no @
    "carl@bad_domain.example,Carl,Y\r\n"  # line 4: a bad domain
    "ANN@example.COM,Ann again,Z\r\n"  # line 5: duplicate in another case
    "dave@example.org,Dave,Q,extra\r\n"  # line 6: too many columns
    '"erin@example.org","Erin ""E""","Multi\r\nline Inc"\r\n'  # lines 7-8: quoted newline
    "josé@bücher.example,José,Bücher\r\n"  # line 9: IDN, accepted
    "frank@example.net,Frank,F\r\n"  # line 10: fine after the multi-line row
)


def test_bad_rows_are_reported_by_line_while_the_rest_imports(store: Store, tmp_path: Path):
    path = tmp_path / "leads.csv"
    path.write_bytes(BAD_CSV.encode())
    reports: list[str] = []
    summary = import_file(store, path, tenant="acme", list_name="leads", report=reports.append)
    assert summary.imported == 4 and summary.updated == 0
    assert dict(summary.skipped) == {
        "invalid address": 2,
        "duplicate in file": 1,
        "unreadable row": 1,
    }
    assert [r.split(": ", 1)[0] for r in reports] == [f"{path}:{n}" for n in (3, 4, 5, 6)]
    assert "must have an @-sign" in reports[0]
    assert "'_'" in reports[1]
    assert "duplicate" in reports[2] and "4 columns, the header has 3" in reports[3]
    contacts = {c["email"]: c for c in iter_contacts(store, "acme", "leads")}
    assert set(contacts) == {
        "ann@example.com",
        "erin@example.org",
        "josé@bücher.example",
        "frank@example.net",
    }
    assert contacts["erin@example.org"]["fields"] == {
        "first_name": 'Erin "E"',
        "company": "Multi\r\nline Inc",
    }
    assert contacts["ann@example.com"]["legal_basis"] == "legitimate_interest"
    assert contacts["ann@example.com"]["source"] == "import:leads.csv"


def test_reimport_updates_never_duplicates(store: Store, tmp_path: Path):
    first = tmp_path / "a.csv"
    first.write_text("email,first_name\nann@example.com,Ann\nbob@example.com,Bob\n")
    import_file(store, first, tenant="acme")
    second = tmp_path / "b.jsonl"
    second.write_text(
        json.dumps({"email": "ANN@example.com", "first_name": "Annie", "legal_basis": "consent"})
        + "\n"
        + json.dumps({"email": "cat@example.com"})
        + "\nnot json\n[1]\n"
    )
    reports: list[str] = []
    summary = import_file(store, second, tenant="acme", report=reports.append)
    assert (summary.imported, summary.updated) == (1, 1)
    assert reports == [f"{second}:3: not JSON (Expecting value)", f"{second}:4: not a JSON object"]
    contacts = {c["email"]: c for c in iter_contacts(store, "acme")}
    assert len(contacts) == 3
    assert contacts["ann@example.com"]["fields"] == {"first_name": "Annie"}
    assert contacts["ann@example.com"]["legal_basis"] == "consent"
    # Another tenant's contacts are its own.
    import_file(store, first, tenant="globex")
    assert len(list(iter_contacts(store, "globex"))) == 2
    assert len(list(iter_contacts(store, "acme"))) == 3


def test_a_file_without_an_email_column_is_refused(store: Store, tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("name,company\nAnn,Acme\n")
    with pytest.raises(PenguinError, match=r"x.csv:1: the header has no 'email' column"):
        import_file(store, path, tenant="acme")


def test_mx_check_is_concurrent_cached_and_drops_undeliverable_domains(
    store: Store, tmp_path: Path
):
    from penguinctl.campaigns.mx import MxChecker
    from penguinctl.sandbox.base import DnsAnswer
    from penguinctl.sandbox.dns import DnsServer

    answers = [
        DnsAnswer("good.example", "SOA", "ns.good.example. h.good.example. 1 3600 600 86400 60"),
        DnsAnswer("good.example", "MX", "10 mx.good.example."),
        DnsAnswer("a-only.good.example", "A", "192.0.2.1"),
        DnsAnswer("nullmx.good.example", "MX", "0 ."),
    ]
    server = DnsServer(lambda: answers).start()
    try:
        checker = MxChecker(server.address)
        path = tmp_path / "mx.csv"
        path.write_text(
            "email\na@good.example\nb@a-only.good.example\nc@nullmx.good.example\n"
            "d@missing.good.example\ne@good.example\n"
        )
        reports: list[str] = []
        summary = import_file(store, path, tenant="acme", check_mx=checker, report=reports.append)
    finally:
        server.close()
    assert summary.imported == 3
    assert summary.skipped["domain cannot receive mail"] == 2
    assert any(":4: c@nullmx.good.example: the domain accepts no mail" in r for r in reports)
    assert any(":5: d@missing.good.example: the domain does not exist" in r for r in reports)
    assert set(checker.cache) == {
        "good.example",
        "a-only.good.example",
        "nullmx.good.example",
        "missing.good.example",
    }


def test_suppressions_per_tenant_and_global(store: Store):
    assert db.suppress(store, "acme", ["a@example.com", "b@example.com"], "manual") == 2
    assert db.suppress(store, "acme", ["a@example.com"], "manual") == 0
    db.suppress(store, "*", ["g@example.com"], "global")
    with db.reading(store) as conn:
        assert db.suppressed(conn, "acme") == {"a@example.com", "b@example.com", "g@example.com"}
        assert db.suppressed(conn, "globex") == {"g@example.com"}
    assert db.unsuppress(store, "acme", ["a@example.com"]) == 1
    with db.reading(store) as conn:
        assert db.suppressed(conn, "acme", ["a@example.com", "b@example.com"]) == {"b@example.com"}


@pytest.mark.parametrize(
    "address",
    [
        "Ann@Example.com",
        "a.b+tag@sub.example.org",
        "x@bad_domain.com",
        "x..y@example.com",
        ".x@example.com",
        "x.@example.com",
        "a@b",
        "a@localhost",
        "a@xn--bcher-kva.example",
        "a@-bad.example",
        "a@example.invalid",
        "a@" + "d" * 64 + ".example",
        "l" * 65 + "@example.com",
        "jörg@bücher.example",
        '"quoted"@example.com',
    ],
)
def test_the_cached_fast_path_agrees_with_email_validator(address: str):
    from penguinctl.campaigns import contacts

    def outcome(fn: Any) -> str:
        try:
            return "ok:" + fn(address)
        except ValueError as exc:
            return "bad:" + str(exc)

    assert outcome(contacts.normalize) == outcome(contacts.normalize) == outcome(contacts._full)


def test_batches_count_inserts_and_updates_exactly_and_fill_each_list(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from penguinctl.campaigns import contacts
    from tests.campaigns.conftest import write_contacts

    monkeypatch.setattr(contacts, "BATCH", 3)  # several batches, the last one partial
    first = import_file(store, write_contacts(tmp_path / "a.csv", 10), tenant="acme", list_name="a")
    assert (first.imported, first.updated) == (10, 0)
    # Rows 5..14: half already known, interleaved across batch boundaries.
    second = import_file(
        store, write_contacts(tmp_path / "b.csv", 10, start=5), tenant="acme", list_name="b"
    )
    assert (second.imported, second.updated) == (5, 5)
    assert len(list(iter_contacts(store, "acme"))) == 15
    in_a = [c["email"] for c in iter_contacts(store, "acme", "a")]
    in_b = [c["email"] for c in iter_contacts(store, "acme", "b")]
    assert in_a == [f"person{i}@example.com" for i in range(10)]
    assert sorted(in_b) == sorted(f"person{i}@example.com" for i in range(5, 15))
    again = import_file(store, tmp_path / "b.csv", tenant="acme", list_name="b")
    assert (again.imported, again.updated) == (0, 10)
    assert len(list(iter_contacts(store, "acme", "b"))) == 10
