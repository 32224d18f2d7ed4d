"""Shared pytest fixtures that start REAL servers on loopback (loaded from tests/conftest.py).

Every area's tests use these instead of fakes:

* ``sshd_server`` (session) / ``fresh_sshd`` (function): OpenSSH sshd, see :class:`SshdServer`;
* ``pdns_server`` (session): PowerDNS 4.7 + gsqlite3 + HTTP API, see :class:`PowerDNSServer`;
* ``postgres_url`` (session) / ``fresh_postgres_url`` (function): a new database on the
  PostgreSQL server at 127.0.0.1:5432, dropped at teardown;
* ``redis_url`` (session): ``redis://127.0.0.1:6379/N`` with N != 0 leased to this process,
  flushed at teardown;
* ``smtp_sink`` (function, on a per-worker ``smtp_server``): aiosmtpd collecting messages.

Policy: when a server cannot run here (binary missing, service down) the fixture
**skips** with the reason, except under ``CI=true`` where it **fails**, so that CI
never goes green by skipping. Ports are free-port based and folders private per
process, so ``pytest -n auto`` workers never collide. Daemons are stopped by their
own PID (never by name).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from typing import NoReturn

import pytest

from tests.daemons import (
    DaemonUnavailable,
    PowerDNSServer,
    SshdServer,
    free_port,
    start_pdns,
    start_sshd,
)
from tests.smtp_sink import SmtpSink, start_smtp_sink

POSTGRES_ADMIN_DSN = os.environ.get(
    "PENGUIN_TEST_POSTGRES_ADMIN", "host=127.0.0.1 port=5432 user=postgres dbname=test"
)
POSTGRES_URL_BASE = os.environ.get(
    "PENGUIN_TEST_POSTGRES_BASE", "postgresql://postgres@127.0.0.1:5432"
)
REDIS_ADDRESS = ("127.0.0.1", 6379)
REDIS_LEASE_KEY = "penguinctl:test-lease"


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail under CI=true (CI must run every real-server test)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: server fixtures never skip)", pytrace=False)
    pytest.skip(reason)


# -- sshd ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sshd_server() -> Iterator[SshdServer]:
    """One sshd per worker: host, port, user "root", client_key, fingerprint, run(cmd)."""
    server = _sshd()
    yield server
    server.stop()


@pytest.fixture
def fresh_sshd() -> Iterator[SshdServer]:
    """A private sshd for one test (about 30 ms to start): use it when a test changes keys."""
    server = _sshd()
    yield server
    server.stop()


def _sshd() -> SshdServer:
    try:
        return start_sshd()
    except DaemonUnavailable as exc:
        unavailable(f"sshd: {exc} (apt-get install openssh-server)")


# -- PowerDNS -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def pdns_server() -> Iterator[PowerDNSServer]:
    """One PowerDNS per worker: api_url, api_key, dns=(host, port), create_zone(name)."""
    try:
        server = start_pdns(api_key=secrets.token_hex(12))
    except DaemonUnavailable as exc:
        unavailable(f"PowerDNS: {exc} (apt-get install pdns-server pdns-backend-sqlite3)")
    yield server
    server.stop()


# -- PostgreSQL ---------------------------------------------------------------------


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _postgres_database() -> Iterator[str]:
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg 3 is not installed (pip install 'psycopg[binary]')")
    name = f"penguin_test_{_worker()}_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL unreachable at {POSTGRES_ADMIN_DSN!r}: {exc}".strip())
    with admin:
        # CREATE/DROP DATABASE cannot run inside a transaction: hence autocommit.
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{POSTGRES_URL_BASE}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql://postgres@127.0.0.1:5432/<fresh db>`` (libpq form; SQLAlchemy users
    write ``postgresql+psycopg://``), dropped at the end of the session."""
    yield from _postgres_database()


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """Like ``postgres_url`` but a new database for this one test."""
    yield from _postgres_database()


# -- Redis --------------------------------------------------------------------------


class Resp:
    """A minimal RESP2 client over a raw socket (redis-py is not a dependency)."""

    def __init__(self, address: tuple[str, int] = REDIS_ADDRESS) -> None:
        self.sock = socket.create_connection(address, timeout=5)
        self.file = self.sock.makefile("rb")

    def __call__(self, *args: str | int) -> object:
        parts = [str(a).encode() for a in args]
        payload = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        self.sock.sendall(payload)
        return self._read()

    def _read(self) -> object:
        line = self.file.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(f"redis: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            if int(rest) < 0:
                return None
            data = self.file.read(int(rest) + 2)[:-2]
            return data.decode()
        if kind == b"*":
            return [self._read() for _ in range(int(rest))]
        raise RuntimeError(f"redis: unexpected reply {line!r}")

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``redis://127.0.0.1:6379/N``: a database (1..15) leased to this test process,
    so parallel pytest runs on the machine never share one; flushed at teardown."""
    try:
        client = Resp()
        if client("PING") != "PONG":
            raise OSError("no PONG")
    except OSError as exc:
        unavailable(f"Redis unreachable at {REDIS_ADDRESS[0]}:{REDIS_ADDRESS[1]}: {exc}")
    token = f"{_worker()}:{os.getpid()}:{secrets.token_hex(4)}"
    db = _lease_redis_db(client, token)
    try:
        yield f"redis://{REDIS_ADDRESS[0]}:{REDIS_ADDRESS[1]}/{db}"
    finally:
        client("SELECT", db)
        client("FLUSHDB")
        client.close()


def _lease_redis_db(client: Resp, token: str) -> int:
    count = client("CONFIG", "GET", "databases")
    total = int(count[1]) if isinstance(count, list) and len(count) == 2 else 16
    for db in range(1, total):
        client("SELECT", db)
        # The lease is a key in the leased database itself (db 0 stays untouched);
        # it expires so that a crashed run does not hold a database for ever.
        if client("SET", REDIS_LEASE_KEY, token, "NX", "EX", 3600) == "OK":
            client("FLUSHDB")
            client("SET", REDIS_LEASE_KEY, token, "EX", 3600)
            return db
    unavailable(f"every Redis database 1..{total - 1} is leased by another test run")


# -- SMTP sink ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    """One aiosmtpd sink per worker (use ``smtp_sink`` in tests: it starts empty)."""
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        unavailable("aiosmtpd is not installed (pip install aiosmtpd)")
    sink = start_smtp_sink(free_port())
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink(smtp_server: SmtpSink) -> Iterator[SmtpSink]:
    """The worker's SMTP sink with no messages and no users: host, port, messages,
    users (login -> password; AUTH is refused for anything else), wait_for(n)."""
    smtp_server.clear()
    yield smtp_server
    smtp_server.clear()
