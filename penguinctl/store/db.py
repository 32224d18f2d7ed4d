"""Database URLs and engines: SQLite by default, PostgreSQL by URL.

SQLite is tuned for one apply with several worker threads plus readers in other
processes: WAL (readers never block the writer), a busy timeout (writers wait
instead of failing), and ``BEGIN IMMEDIATE`` for write transactions (a deferred
transaction that reads then writes can fail with SQLITE_BUSY without waiting).
``synchronous`` stays FULL: the journal's intents must survive a power cut.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from penguinctl.core.errors import StoreError

WRITE = "penguin_write"  # execution option that makes a SQLite transaction IMMEDIATE
BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> URL:
    """Parse ``url``; plain ``postgresql://`` / ``postgres://`` get the psycopg driver."""
    raw = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url.strip())
    try:
        parsed = make_url(raw)
    except Exception:
        raise StoreError(
            f"not a database URL: {mask(url)}",
            hint="use sqlite:////abs/path/penguin.db or postgresql://user@host/db",
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"unsupported database {parsed.get_backend_name()!r}",
            hint="penguinctl stores state in SQLite or PostgreSQL",
        )
    return parsed


def mask(url: str | URL) -> str:
    """``url`` with its password replaced by ``***``."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for in-memory)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def create_engine(url: URL) -> sa.Engine:
    """An engine configured for penguinctl's access pattern on either backend."""
    if url.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the directory for {path}: {exc.strerror}",
                    hint="check the database path and its permissions",
                ) from None
        engine = sa.create_engine(
            url,
            # The pool hands a connection to one thread at a time.
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        _tune_sqlite(engine)
        return engine
    return sa.create_engine(
        url, pool_pre_ping=True, pool_size=10, connect_args={"connect_timeout": 10}
    )


def _tune_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (see _on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def reason_of(exc: sa.exc.DBAPIError, engine: sa.Engine) -> str:
    """The driver's first line of explanation, with the URL's password masked."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    password = engine.url.password
    return reason.replace(str(password), "***") if password else reason


def check_reachable(engine: sa.Engine, shown_url: str) -> None:
    """Connect once; an unreachable database becomes a :class:`StoreError`."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.DBAPIError as exc:
        reason = reason_of(exc, engine)
        advice = (
            "check the file's path and permissions"
            if engine.dialect.name == "sqlite"
            else "check that the server runs and PENGUIN_DATABASE_URL is right"
        )
        raise StoreError(
            f"cannot reach the database at {shown_url}", hint=f"{reason} — {advice}"
        ) from None
