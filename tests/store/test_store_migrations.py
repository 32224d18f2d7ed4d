"""Migrations: from empty, automatic upgrade with a SQLite backup, refusals, drift."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from penguinctl.core.errors import StoreError
from penguinctl.core.resource import Recorded
from penguinctl.store import Store, migrate, open_store
from penguinctl.store.migrations import LOCATION, load_metadata

GENERIC = {"runs", "resources", "changes", "secrets", "tenants", "workspace_lock", "meta"}

EXTRA_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "0999"
down_revision = "{head}"


def upgrade():
    op.create_table("scratch", sa.Column("id", sa.Integer, primary_key=True))
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("note", sa.Text, nullable=True))


def downgrade():
    op.drop_table("scratch")
"""


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def execute(url: str, sql: str) -> None:
    engine = sa.create_engine(url)
    if engine.url.database and url.startswith("sqlite"):
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


@pytest.fixture
def newer_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], str]]:
    """Call it to make this penguinctl one revision newer (a copy of the scripts + one)."""

    def upgrade_code() -> str:
        location = tmp_path / "migrations"
        shutil.copytree(LOCATION, location, ignore=shutil.ignore_patterns("__pycache__"))
        head = migrate.head()
        (location / "versions" / "0999_scratch.py").write_text(EXTRA_REVISION.format(head=head))
        migrate.script.cache_clear()
        monkeypatch.setattr(migrate, "LOCATION", location)
        return "0999"

    yield upgrade_code
    migrate.script.cache_clear()


def all_revisions() -> list[str]:
    """Every revision id, oldest first (areas add theirs after 0001)."""
    return [r.revision for r in reversed(list(migrate.script().walk_revisions()))]


def test_single_linear_head() -> None:
    scripts = migrate.script()
    assert len(scripts.get_heads()) == 1, "two migrations share a down_revision: renumber one"
    assert all_revisions()[0] == "0001"


def test_from_empty_to_head(store_url: str) -> None:
    with open_store(store_url) as store:
        assert store.current_revision() == migrate.head()
        assert store.migrated_at_open == all_revisions() and store.backup_path is None
        assert store.migrate() == []
    assert tables(store_url) >= GENERIC
    with open_store(store_url) as again:  # a second open changes nothing
        assert again.migrated_at_open == []


def test_migrated_schema_matches_the_models(store: Store, store_url: str) -> None:
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), load_metadata())
    engine.dispose()
    assert diff == [], "the models and the migrations disagree: add a migration"


def test_auto_migrate_backs_up_sqlite(tmp_path: Path, newer_code: Callable[[], str]) -> None:
    url = f"sqlite:///{tmp_path}/state/penguin.db"
    with open_store(url) as old:
        old.put(Recorded("server/mx1", "hostwinds", "acme", "42", {"plan": "s"}))
    revision = newer_code()
    backups = tmp_path / "backups"
    with open_store(url, backup_dir=backups) as store:
        assert store.migrated_at_open == [revision]
        assert store.current_revision() == revision
        assert store.get("server/mx1") is not None
        backup = store.backup_path
    assert backup is not None and backup.parent == backups
    assert backup.name.startswith("penguin.db.bak-")
    copy = sqlite3.connect(backup)
    head = all_revisions()[-1] if revision != all_revisions()[-1] else all_revisions()[-2]
    assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
    assert copy.execute("SELECT vendor_id FROM resources").fetchall() == [("42",)]
    copy.close()
    assert "scratch" in tables(url)


def test_backup_beside_the_file_by_default(tmp_path: Path, newer_code: Callable[[], str]) -> None:
    url = f"sqlite:///{tmp_path}/penguin.db"
    open_store(url).close()
    newer_code()
    with open_store(url) as store:
        assert store.backup_path is not None and store.backup_path.parent == tmp_path


@pytest.mark.postgres
def test_auto_migrate_postgres(pg_url: str, newer_code: Callable[[], str]) -> None:
    url = pg_url
    open_store(url).close()
    revision = newer_code()
    with open_store(url) as store:
        assert store.migrated_at_open == [revision] and store.backup_path is None
    assert "scratch" in tables(url)


def test_behind_without_auto_migrate_says_what_to_run(store_url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_store(store_url, auto_migrate=False)
    assert "penguinctl state migrate" in (info.value.hint or "")
    assert not GENERIC & tables(store_url)  # nothing was created


def test_newer_schema_is_refused_and_left_alone(store: Store, store_url: str) -> None:
    store.put(Recorded("server/mx1", "hostwinds", "acme", "42"))
    store.close()
    execute(store_url, "UPDATE alembic_version SET version_num = '7777'")
    with pytest.raises(StoreError) as info:
        open_store(store_url)
    assert info.value.message == (
        "the store was written by a newer penguinctl (revision 7777); upgrade penguinctl"
    )
    execute(store_url, f"UPDATE alembic_version SET version_num = '{migrate.head()}'")
    with open_store(store_url) as again:
        assert again.get("server/mx1") is not None


def test_tables_without_revision_are_not_taken_over(store_url: str) -> None:
    execute(store_url, "CREATE TABLE runs (id INTEGER PRIMARY KEY)")
    with pytest.raises(StoreError, match="no penguinctl schema revision"):
        open_store(store_url)


def test_concurrent_first_opens_migrate_once(store_url: str) -> None:
    results: list[object] = []

    def opener() -> None:
        try:
            with open_store(store_url) as s:
                results.append(s.migrated_at_open)
        except Exception as exc:  # collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, results)) == sorted([str(all_revisions()), "[]", "[]", "[]"])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_postgres_hides_the_password() -> None:
    port = closed_port()
    with pytest.raises(StoreError) as info:
        open_store(f"postgresql://penguin:Sup3rS3cret@127.0.0.1:{port}/state")
    err = info.value
    assert err.message == (
        f"cannot reach the database at postgresql+psycopg://penguin:***@127.0.0.1:{port}/state"
    )
    assert "Sup3rS3cret" not in str(err.to_dict())
    assert err.hint and "PENGUIN_DATABASE_URL" in err.hint
    assert err.__cause__ is None and err.__suppress_context__  # no chained traceback


def test_unusable_sqlite_path() -> None:
    with pytest.raises(StoreError, match="cannot create the directory"):
        open_store("sqlite:////proc/penguin/state/penguin.db")


@pytest.mark.parametrize("url", ["mysql://x@localhost/db", "not a url"])
def test_unsupported_urls(url: str) -> None:
    with pytest.raises(StoreError):
        open_store(url)


def test_new_revision_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from penguinctl.store.migrations.__main__ import main

    location = tmp_path / "migrations"
    shutil.copytree(LOCATION, location, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "LOCATION", location)
    migrate.script.cache_clear()
    try:
        before = all_revisions()
        nxt = f"{int(before[-1]) + 1:04d}"
        assert main(["new", "campaigns send ledger"]) == 0
        written = location / "versions" / f"{nxt}_campaigns_send_ledger.py"
        assert f"down_revision: str | None = '{before[-1]}'" in written.read_text()
        assert migrate.script().get_heads() == [nxt]
        with open_store(f"sqlite:///{tmp_path}/p.db") as store:
            assert store.migrated_at_open == [*before, nxt]
        assert main(["bogus"]) == 2
    finally:
        migrate.script.cache_clear()


def test_importing_the_package_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from penguinctl.store import SecretBox; import penguinctl.store.crypto; "
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/penguin.db"
    open_store(url).close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


@pytest.mark.postgres
def test_plain_postgresql_url_gets_the_psycopg_driver(pg_url: str) -> None:
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with open_store(plain) as store:
        assert store.dialect == "postgresql" and store.current_revision() == migrate.head()
        assert store.url_display.startswith("postgresql+psycopg://postgres@127.0.0.1")


def test_unopenable_sqlite_file(tmp_path: Path) -> None:
    (tmp_path / "penguin.db").mkdir()  # a directory where the file should be
    with pytest.raises(StoreError, match="cannot reach the database at sqlite:///") as info:
        open_store(f"sqlite:///{tmp_path}/penguin.db")
    assert "path and permissions" in (info.value.hint or "")
