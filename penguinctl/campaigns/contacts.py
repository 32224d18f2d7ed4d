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
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.tables import ContactListTable, ContactTable, ListMemberTable
from penguinctl.core.errors import PenguinError
from penguinctl.store.types import UTCDateTime, utcnow

BATCH = 10_000  # rows per write transaction
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


class Row(NamedTuple):
    # A tuple, not a frozen dataclass: its construction is ~3x cheaper, once per row.
    line: int
    data: dict[str, Any] | None  # None: the row could not be read (reason given)
    problem: str | None = None


try:
    # email-validator's own test for an ASCII dot-atom local part: for the characters
    # _SIMPLE lets through it is exactly what validate_email_local_part accepts
    # (an ASCII local part failing it fails the internationalised form too).
    from email_validator.rfc_constants import DOT_ATOM_TEXT as _DOT_ATOM
except ImportError:  # pragma: no cover - another email-validator layout: full path
    _DOT_ATOM = re.compile(r"(?!)")

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
        if _DOT_ATOM.match(local):
            return f"{local}@{verdict}".lower()
    return _full(address)


def _full(address: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        found = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return str(found.normalized).lower()


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
    # hash() of each address seen: 64 bits like the blake2b digest it replaces (a false
    # duplicate needs a collision, ~1e-8 for a million rows) at a fraction of the cost.
    seen: set[int] = set()
    list_id = ensure_list(store, tenant, list_name) if list_name else None
    writer = _Writer(store, tenant, list_id)
    batch: list[tuple[int, list[Any]]] = []  # (line, [email, fields, legal basis, source])
    default_source = f"import:{path.name}"

    def bad(line: int, reason: str, key: str) -> None:
        summary.skipped[key] += 1
        report(f"{path}:{line}: {reason}")

    with writer:
        for line, data, problem in read_rows(path):
            if data is None:
                bad(line, problem or "unreadable", "unreadable row")
                continue
            raw = data.get("email")
            if not isinstance(raw, str) or not raw.strip():
                bad(line, "no email address", "no address")
                continue
            try:
                email = normalize(raw)
            except ValueError as exc:
                bad(line, f"invalid address {raw.strip()!r}: {exc}", "invalid address")
                continue
            digest = hash(email)
            if digest in seen:
                bad(line, f"duplicate of an earlier row ({email})", "duplicate in file")
                continue
            seen.add(digest)
            basis = str(data.pop("legal_basis", None) or legal_basis)
            if basis not in LEGAL_BASES:
                bad(line, f"unknown legal basis {basis!r}", "unknown legal basis")
                continue
            del data["email"]
            source = str(data.pop("source", None) or default_source)
            batch.append((line, [email, data, basis, source]))  # data: the custom fields now
            if len(batch) >= BATCH:
                _flush(writer, batch, check_mx, bad)
                batch = []
        if batch:
            _flush(writer, batch, check_mx, bad)
    summary.imported, summary.updated = writer.inserted, writer.updated
    return summary


def _flush(
    writer: _Writer,
    batch: list[tuple[int, list[Any]]],
    check_mx: Callable[[list[str]], dict[str, str | None]] | None,
    bad: Callable[[int, str, str], None],
) -> None:
    if check_mx is not None:
        problems = check_mx(sorted({v[0].rpartition("@")[2] for _, v in batch}))
        kept = []
        for line, values in batch:
            problem = problems.get(values[0].rpartition("@")[2])
            if problem:
                bad(line, f"{values[0]}: {problem}", "domain cannot receive mail")
            else:
                kept.append((line, values))
        batch = kept
    if batch:
        writer.submit([values for _, values in batch])


class _Writer:
    """Upserts batches of contacts: a few set-based statements per batch, whatever its size.

    The batch travels as ONE JSON array parameter that the database unnests
    (``json_each`` on SQLite, ``jsonb_array_elements`` on PostgreSQL). Binding
    ~5 values per row through SQLAlchemy's executemany was half the import time
    (per-row parameter processing and a JSON dump per ``fields``); one
    ``json.dumps`` of the batch is a single C call. Each batch is one transaction
    (not the whole file) so a long import never holds SQLite's write lock for more
    than a moment: the campaign runner claims sends while it runs.

    Writes run on one background thread while the caller reads and validates the
    next batch: sqlite3 and psycopg release the GIL inside a statement, so on two
    cores the database work overlaps the Python work. At most one batch is being
    written while the next is built (bounded memory); a write error is raised by
    the next ``submit`` or by leaving the ``with`` block.
    """

    def __init__(self, store: Any, tenant: str, list_id: int | None) -> None:
        self.store, self.tenant, self.list_id = store, tenant, list_id
        contacts, members = db.t(ContactTable).name, db.t(ListMemberTable).name
        self.postgres = store.dialect == "postgresql"
        if self.postgres:
            rows = "jsonb_array_elements(CAST(:rows AS jsonb)) AS r(v)"
            email, fields, basis, source = "v->>0", "v->1", "v->>2", "v->>3"
            ids = "unnest(CAST(:ids AS integer[])) AS i(value)"
        else:
            rows = "json_each(:rows) AS r"
            email, fields, basis, source = (f"json_extract(r.value, '$[{i}]')" for i in range(4))
            ids = "json_each(:ids) AS i"
        # RETURNING gives the ids for the list without looking the addresses up again,
        # and whether each row is new: created_at keeps its first value on update, so
        # it equals this batch's timestamp only for the rows this statement inserted.
        self.upsert = sa.text(
            f"INSERT INTO {contacts}"
            " (tenant, email, fields, legal_basis, source, created_at, updated_at)"
            f" SELECT :tenant, {email}, {fields}, {basis}, {source}, :now, :now FROM {rows}"
            " WHERE true"  # SQLite: an INSERT ... SELECT before ON CONFLICT needs a WHERE
            " ON CONFLICT (tenant, email) DO UPDATE SET fields = excluded.fields,"
            " legal_basis = excluded.legal_basis, source = excluded.source,"
            " updated_at = excluded.updated_at"
            " RETURNING id, created_at = :now"
        ).bindparams(sa.bindparam("now", type_=UTCDateTime()))
        self.members = sa.text(
            f"INSERT INTO {members} (list_id, contact_id, tenant)"
            f" SELECT :list_id, i.value, :tenant FROM {ids} WHERE true"
            " ON CONFLICT DO NOTHING"
        )

    inserted = 0
    updated = 0
    _pending: Future[int] | None = None
    _pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> _Writer:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="contacts-import")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._pool is not None
        try:
            if exc[0] is None:
                self._wait()
        finally:
            self._pool.shutdown(wait=True)  # an error: the batch in flight still ends cleanly

    def submit(self, batch: list[list[Any]]) -> None:
        assert self._pool is not None, "use the writer in a with block"
        self._wait()
        self._pending = self._pool.submit(self._write_counted, batch)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _write_counted(self, batch: list[list[Any]]) -> int:
        existed = self.write(batch)
        self.updated += existed
        self.inserted += len(batch) - existed
        return existed

    def write(self, batch: list[list[Any]]) -> int:
        """Upsert ``batch`` ([email, fields, basis, source] each); returns how many existed."""
        params = {"tenant": self.tenant, "rows": json.dumps(batch), "now": utcnow()}
        with db.writing(self.store) as conn:
            returned = conn.execute(self.upsert, params).all()
            if self.list_id is not None:
                ids = [row[0] for row in returned]
                conn.execute(
                    self.members,
                    {
                        "list_id": self.list_id,
                        "tenant": self.tenant,
                        "ids": ids if self.postgres else json.dumps(ids),
                    },
                )
        return sum(1 for row in returned if not row[1])


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
