"""Contacts import: CSV (with a header) or JSON lines, streamed in batches.

Memory stays bounded whatever the file size: rows are read one at a time, written
in batches of :data:`BATCH`, and the only per-row state kept for the whole file is
an 8-byte hash of each address (to report duplicates within the file).

Addresses are validated with ``email-validator`` (IDN accepted: the domain is kept
in its Unicode form) and normalised to lower case, which is the dedupe key: a
re-import updates the contact, never duplicates it. Every bad row is reported as
``file:line: reason`` while the good rows import.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.tables import ContactListTable, ContactTable, ListMemberTable
from penguinctl.core.errors import PenguinError
from penguinctl.store.types import utcnow

BATCH = 5000
RESERVED = ("email", "legal_basis", "source")
LEGAL_BASES = ("consent", "legitimate_interest", "contract", "unknown")


@dataclass
class ImportSummary:
    imported: int = 0
    updated: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": dict(self.skipped),
        }


@dataclass(frozen=True)
class Row:
    line: int
    data: dict[str, Any] | None  # None: the row could not be read (reason given)
    problem: str | None = None


_SIMPLE = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[^@\s\"\\()<>\[\],;:]+$")
_domains: dict[str, str | ValueError] = {}  # domain -> normalized domain, or why it is invalid


def normalize(address: str) -> str:
    """The dedupe key of an address; raises ``ValueError`` with the reason.

    Validating the domain is ~95% of email-validator's cost and depends on the
    domain alone, so for a plain ASCII local part the domain's verdict is cached
    and only the local part is checked per row (same result as the full check,
    see the tests). Anything unusual takes the full path.
    """
    address = address.strip()
    if _SIMPLE.match(address) and len(address) <= 254:
        local, _, domain = address.rpartition("@")
        verdict = _domains.get(domain)
        if verdict is None:
            try:
                verdict = _full("postmaster@" + domain).rpartition("@")[2]
            except ValueError as exc:
                verdict = exc
            if len(_domains) > 100_000:
                _domains.clear()
            _domains[domain] = verdict
        if isinstance(verdict, ValueError):
            raise verdict
        if _local_ok(local):
            return f"{local}@{verdict}".lower()
    return _full(address)


def _full(address: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        found = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return str(found.normalized).lower()


def _local_ok(local: str) -> bool:
    """True when the local part passes email-validator's own check (else: full path)."""
    try:
        from email_validator import EmailNotValidError
        from email_validator.syntax import validate_email_local_part
    except ImportError:  # pragma: no cover - another email-validator layout
        return False
    try:
        validate_email_local_part(
            local,
            allow_smtputf8=True,
            allow_empty_local=False,
            quoted_local_part=False,
            strict=False,
        )
    except (EmailNotValidError, TypeError):
        return False
    return True


def read_rows(path: Path) -> Iterator[Row]:
    """Rows of a CSV or JSON-lines file with the line each starts on."""
    if not path.is_file():
        raise PenguinError(f"{path}: no such file", hint="give the path of a CSV or JSONL file")
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        yield from _json_rows(path)
    else:
        yield from _csv_rows(path)


def _csv_rows(path: Path) -> Iterator[Row]:
    # utf-8-sig drops a BOM; newline="" lets csv handle CRLF and quoted newlines.
    with path.open(encoding="utf-8-sig", newline="", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise PenguinError(f"{path}: empty file", hint="the first row names the columns")
        names = [name.strip().lower().replace(" ", "_") for name in header]
        if "email" not in names:
            raise PenguinError(
                f"{path}:1: the header has no 'email' column",
                hint="name the address column 'email'",
            )
        start = reader.line_num + 1
        for values in reader:
            line, start = start, reader.line_num + 1
            if not values:
                continue
            if len(values) > len(names):
                yield Row(line, None, f"{len(values)} columns, the header has {len(names)}")
                continue
            yield Row(line, {n: v for n, v in zip(names, values, strict=False) if v.strip()})


def _json_rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Row(number, None, f"not JSON ({exc.msg})")
                continue
            if not isinstance(data, dict):
                yield Row(number, None, "not a JSON object")
                continue
            yield Row(number, {str(k).lower(): v for k, v in data.items() if v not in (None, "")})


def import_file(
    store: Any,
    path: Path,
    *,
    tenant: str,
    list_name: str | None = None,
    legal_basis: str = "legitimate_interest",
    check_mx: Callable[[list[str]], dict[str, str | None]] | None = None,
    report: Callable[[str], None] = lambda _m: None,
) -> ImportSummary:
    """Import ``path`` into ``tenant`` (and ``list_name``); ``report`` gets each bad row.

    ``check_mx`` maps a batch of domains to a problem (or None when mail can be
    delivered there); see :func:`penguinctl.campaigns.mx.MxChecker`.
    """
    summary = ImportSummary()
    seen: set[int] = set()
    list_id = ensure_list(store, tenant, list_name) if list_name else None
    batch: list[tuple[int, dict[str, Any]]] = []

    def bad(line: int, reason: str, key: str) -> None:
        summary.skipped[key] += 1
        report(f"{path}:{line}: {reason}")

    for row in read_rows(path):
        if row.data is None:
            bad(row.line, row.problem or "unreadable", "unreadable row")
            continue
        raw = row.data.get("email")
        if not isinstance(raw, str) or not raw.strip():
            bad(row.line, "no email address", "no address")
            continue
        try:
            email = normalize(raw)
        except ValueError as exc:
            bad(row.line, f"invalid address {raw.strip()!r}: {exc}", "invalid address")
            continue
        digest = int.from_bytes(hashlib.blake2b(email.encode(), digest_size=8).digest())
        if digest in seen:
            bad(row.line, f"duplicate of an earlier row ({email})", "duplicate in file")
            continue
        seen.add(digest)
        basis = str(row.data.get("legal_basis") or legal_basis)
        if basis not in LEGAL_BASES:
            bad(row.line, f"unknown legal basis {basis!r}", "unknown legal basis")
            continue
        fields = {k: v for k, v in row.data.items() if k not in RESERVED}
        source = str(row.data.get("source") or f"import:{path.name}")
        batch.append(
            (row.line, {"email": email, "fields": fields, "legal_basis": basis, "source": source})
        )
        if len(batch) >= BATCH:
            _flush(store, tenant, list_id, batch, summary, check_mx, bad)
            batch = []
    if batch:
        _flush(store, tenant, list_id, batch, summary, check_mx, bad)
    return summary


def _flush(
    store: Any,
    tenant: str,
    list_id: int | None,
    batch: list[tuple[int, dict[str, Any]]],
    summary: ImportSummary,
    check_mx: Callable[[list[str]], dict[str, str | None]] | None,
    bad: Callable[[int, str, str], None],
) -> None:
    if check_mx is not None:
        problems = check_mx(sorted({v["email"].rpartition("@")[2] for _, v in batch}))
        kept = []
        for line, values in batch:
            problem = problems.get(values["email"].rpartition("@")[2])
            if problem:
                bad(line, f"{values['email']}: {problem}", "domain cannot receive mail")
            else:
                kept.append((line, values))
        batch = kept
    if not batch:
        return
    table = db.t(ContactTable)
    now = utcnow()
    emails = [v["email"] for _, v in batch]
    rows = [{**v, "tenant": tenant, "created_at": now, "updated_at": now} for _, v in batch]
    stmt = db.insert(store, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant", "email"],
        set_={c: stmt.excluded[c] for c in ("fields", "legal_basis", "source", "updated_at")},
    )
    with db.writing(store) as conn:
        existing = {
            r[0]
            for r in conn.execute(
                sa.select(table.c.email).where(table.c.tenant == tenant, table.c.email.in_(emails))
            )
        }
        conn.execute(stmt, rows)
        if list_id is not None:
            ids = conn.execute(
                sa.select(table.c.id).where(table.c.tenant == tenant, table.c.email.in_(emails))
            )
            members = db.insert(store, db.t(ListMemberTable)).on_conflict_do_nothing()
            conn.execute(
                members, [{"list_id": list_id, "contact_id": r[0], "tenant": tenant} for r in ids]
            )
    summary.updated += len(existing)
    summary.imported += len(batch) - len(existing)


def ensure_list(store: Any, tenant: str, name: str) -> int:
    table = db.t(ContactListTable)
    with db.writing(store) as conn:
        conn.execute(
            db.insert(store, table)
            .values(tenant=tenant, name=name)
            .on_conflict_do_nothing(index_elements=["tenant", "name"])
        )
        found: int = conn.execute(
            sa.select(table.c.id).where(table.c.tenant == tenant, table.c.name == name)
        ).scalar_one()
    return found


def iter_contacts(
    store: Any, tenant: str, list_name: str | None = None, chunk: int = 5000
) -> Iterator[dict[str, Any]]:
    """Every contact of ``tenant`` (or of one list), by id, read in chunks (keyset paging)."""
    table = db.t(ContactTable)
    last = 0
    while True:
        query = sa.select(table).where(table.c.tenant == tenant, table.c.id > last)
        if list_name is not None:
            lists, members = db.t(ContactListTable), db.t(ListMemberTable)
            query = query.where(
                table.c.id.in_(
                    sa.select(members.c.contact_id)
                    .join(lists, lists.c.id == members.c.list_id)
                    .where(lists.c.tenant == tenant, lists.c.name == list_name)
                )
            )
        with db.reading(store) as conn:
            rows = [dict(r._mapping) for r in conn.execute(query.order_by(table.c.id).limit(chunk))]
        if not rows:
            return
        yield from rows
        last = rows[-1]["id"]
