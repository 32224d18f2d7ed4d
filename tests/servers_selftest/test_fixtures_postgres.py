"""PostgreSQL fixtures: a fresh database per session (and per test), dropped afterwards."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.postgres


def test_postgres_select_1(postgres_url):
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        name = conn.execute("select current_database()").fetchone()[0]
    assert name.startswith("penguin_test_") and postgres_url.endswith("/" + name)


def test_fresh_postgres_is_dropped_at_teardown(postgres_url):
    import psycopg

    from tests.servers import POSTGRES_ADMIN_DSN, _postgres_database

    gen = _postgres_database()
    url = next(gen)
    with psycopg.connect(url) as conn:
        conn.execute("create table t (x int)")
        conn.commit()
    name = url.rsplit("/", 1)[1]
    gen.close()  # runs the teardown (DROP DATABASE … WITH (FORCE))
    with psycopg.connect(POSTGRES_ADMIN_DSN) as admin:
        row = admin.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
    assert row is None
