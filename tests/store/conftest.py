"""Fixtures for the store tests: every store test runs on SQLite and on PostgreSQL.

PostgreSQL is the real server on 127.0.0.1:5432 (trust auth, user postgres). Each
test module (per xdist worker) gets a fresh database created from ``test`` and
dropped afterwards; each test starts from an empty ``public`` schema.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from penguinctl.store import SecretBox, Store, open_store

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this module; its URL."""
    name = f"penguin_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def empty_pg(url: str) -> str:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """This module's PostgreSQL database, emptied for this test."""
    return empty_pg(pg_database)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state/penguin.db"
    return empty_pg(request.getfixturevalue("pg_database"))


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([os.urandom(32)])


@pytest.fixture
def store(store_url: str, box: SecretBox) -> Iterator[Store]:
    s = open_store(store_url, secret_key=box)
    try:
        yield s
    finally:
        s.close()
