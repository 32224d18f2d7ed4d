"""The workspace lock: one apply at a time, with an owner and an age.

* SQLite: the lock *is* the single ``workspace_lock`` row; taking it is an
  INSERT that fails when the row exists. A holder that dies leaves the row
  behind; when its pid is dead on this host the next run takes the lock over
  (as PostgreSQL frees an advisory lock with its session); a holder on another
  host is reported, and ``penguinctl state unlock`` (:meth:`WorkspaceLock.break_`)
  removes it.
* PostgreSQL: the lock is a session advisory lock on a dedicated connection
  held for the whole run, so the server frees it when the holder dies; the row
  only says who holds it. Breaking it terminates the holding session.
"""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from penguinctl.core.errors import LockedError
from penguinctl.store.migrate import LOCK_CLASS
from penguinctl.store.tables import WorkspaceLockTable, table
from penguinctl.store.types import utcnow

WORKSPACE_LOCK = 1
_T = table(WorkspaceLockTable)
_HOLDERS = sa.text(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid = :a AND objid = :b AND objsubid = 2"
)
_KEYS = {"a": LOCK_CLASS, "b": WORKSPACE_LOCK}


def whoami() -> str:
    """``user@host`` of this process (the user falls back to the uid)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def age_text(seconds: float) -> str:
    s = int(seconds)
    for unit, size, sub, subsize in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if s >= size:
            return f"{s // size}{unit} {(s % size) // subsize}{sub}"
    return f"{s // 60}m {s % 60}s" if s >= 60 else f"{s}s"


class WorkspaceLock:
    """Takes, describes and breaks the workspace lock of one store."""

    def __init__(self, engine: sa.Engine, write_engine: sa.Engine):
        self._engine = engine
        self._write = write_engine
        self._pg = engine.dialect.name == "postgresql"

    @contextmanager
    def hold(self, command: str) -> Iterator[None]:
        row = {
            "id": WORKSPACE_LOCK,
            "owner": whoami(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command[:200],
            "acquired_at": utcnow(),
            "token": uuid.uuid4().hex,
        }
        if self._pg:
            with self._hold_pg(row):
                yield
            return
        for _ in range(3):  # the holder may release between our INSERT and our read
            try:
                with self._write.begin() as conn:
                    conn.execute(sa.insert(_T).values(row))
                break
            except sa.exc.IntegrityError:
                info = self.info()
                if info is not None and info["stale"]:
                    # Its holder died on this very host (kill -9, power cut): like the
                    # advisory lock PostgreSQL frees with its session, the lock is free.
                    # The journal's pending intents are settled by the run that takes it.
                    with self._write.begin() as conn:
                        conn.execute(sa.delete(_T).where(_T.c.pid == info["pid"]))
                    continue
                if info is not None:
                    raise self._locked() from None
        else:
            raise self._locked()
        try:
            yield
        finally:
            with self._write.begin() as conn:
                conn.execute(sa.delete(_T).where(_T.c.token == row["token"]))

    @contextmanager
    def _hold_pg(self, row: dict[str, Any]) -> Iterator[None]:
        # AUTOCOMMIT: the session holds the lock for hours without sitting
        # "idle in transaction".
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:a, :b)"), _KEYS).scalar()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            raise self._locked()
        try:
            conn.execute(sa.delete(_T))  # a leftover row of a holder that died
            conn.execute(sa.insert(_T).values(row))
            yield
        finally:
            try:
                conn.execute(sa.delete(_T).where(_T.c.token == row["token"]))
                conn.execute(sa.text("SELECT pg_advisory_unlock(:a, :b)"), _KEYS)
            except sa.exc.DBAPIError:
                pass  # the session was terminated by a break: the lock is gone already
            finally:
                conn.close()

    def info(self) -> dict[str, Any] | None:
        """The holder (owner, pid, host, command, acquired_at, age_seconds, stale) or None."""
        with self._engine.connect() as conn:
            found = conn.execute(sa.select(_T)).mappings().first()
            if found is None:
                return None
            data = {k: found[k] for k in ("owner", "pid", "host", "command", "acquired_at")}
            if self._pg:
                data["stale"] = conn.execute(_HOLDERS, _KEYS).first() is None
            else:
                here = data["host"] == socket.gethostname()
                data["stale"] = here and not pid_alive(int(data["pid"]))
        acquired: datetime = data["acquired_at"]
        data["age_seconds"] = max(0.0, (utcnow() - acquired).total_seconds())
        return data

    def break_(self) -> bool:
        """Remove the lock whoever holds it; True when there was one."""
        with self._write.begin() as conn:
            removed = conn.execute(sa.delete(_T)).rowcount > 0
            if self._pg:
                pids = [r[0] for r in conn.execute(_HOLDERS, _KEYS)]
                for pid in pids:
                    # Waits (up to 5 s) until the session is gone, so the lock
                    # is free when we return.
                    conn.execute(sa.text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
                removed = removed or bool(pids)
        return removed

    def _locked(self) -> LockedError:
        info = self.info()
        if info is None:
            err = LockedError(
                "the workspace is locked by another penguinctl run",
                hint="wait for it to finish and try again",
            )
            err.info = None  # type: ignore[attr-defined]
            return err
        message = (
            f"the workspace is locked by {info['owner']} (pid {info['pid']}, "
            f"`{info['command']}`) since {age_text(info['age_seconds'])} ago"
        )
        if info["stale"]:
            message += "; that process is gone, the lock is stale"
            hint = "if no penguinctl run is active, remove it with `penguinctl state unlock`"
        elif info["host"] != socket.gethostname() and not self._pg:
            hint = (
                f"wait for the run on {info['host']} to finish; if you are sure it is gone, "
                "`penguinctl state unlock`"
            )
        else:
            hint = "wait for that run to finish, then try again"
        err = LockedError(message, hint=hint)
        err.info = info  # type: ignore[attr-defined]
        return err
